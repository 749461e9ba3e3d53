return scenario {
  id = "H-FIXTURE-DOTDOT", title = "w:fixture climbing out of the tree",
  run = function(w)
    assert(w:open("sim:card?profile=" .. w:fixture("../scripts/deps.sh")))
  end,
}
