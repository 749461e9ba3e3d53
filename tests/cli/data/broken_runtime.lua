return scenario {
  id = "BROKEN-RUNTIME", title = "indexes nil",
  run = function(w)
    local x
    x.y = 1
  end,
}
