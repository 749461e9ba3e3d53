-- A scenario's own timeout may lower --timeout, not raise it.
return scenario {
  id = "H-TIMEOUT", title = "asks for 68 years", timeout = 2147483647,
  run = function(w)
    while true do end
  end,
}
