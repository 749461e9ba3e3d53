-- The id names the trace file and the run directory.
return scenario {
  id = "../../../x", title = "an id that is a path",
  run = function(w) end,
}
