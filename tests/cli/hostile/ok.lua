-- The run goes on past its hostile neighbours.
return scenario {
  id = "H-OK", title = "an honest scenario among them",
  run = function(w)
    local se = assert(w:open("sim:se?state=se.img"))
    expect(se:transmit("00A4040000").sw).is(0x9000)
  end,
}
