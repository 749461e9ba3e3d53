return scenario {
  id = "BROKEN-SYNTAX",
  title = "a missing comma" run = function() end,
}
