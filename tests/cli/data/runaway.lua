return scenario {
  id = "RUNAWAY", title = "never ends", tags = { "sandbox" },
  run = function(w)
    while true do end
  end,
}
