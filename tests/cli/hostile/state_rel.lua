-- ../ out of the run directory (out/run/ID/../../../escaped.img).
return scenario {
  id = "H-STATE-REL", title = "state= outside the run directory, relative",
  run = function(w)
    assert(w:open("sim:card?state=../../../escaped.img"))
  end,
}
