-- An NVM image written to an absolute path of the scenario's choosing.
return scenario {
  id = "H-STATE-ABS", title = "state= outside the run directory, absolute",
  run = function(w)
    assert(w:open("sim:se?state=/tmp/mynahil-hostile-abs.img"))
  end,
}
