return scenario {
  id = "H-TIMEOUT-HUGE", title = "timeout out of range", timeout = 0/0,
  run = function(w) end,
}
