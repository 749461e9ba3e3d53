-- Writing over a file of the read-only fixture tree.
return scenario {
  id = "H-STATE-FIXTURE", title = "state= into the fixture tree",
  run = function(w)
    assert(w:open("sim:card?state=" .. w:fixture("profiles/default.lua")))
  end,
}
