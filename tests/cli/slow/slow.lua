return scenario {
  id = "SLOW", title = "outlives its own timeout", timeout = 1,
  run = function(w)
    while true do end
  end,
}
