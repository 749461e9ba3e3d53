-- Refused at load: an unknown operation.
return scenario {
  id = "MX-BAD-2", title = "an unknown operation",
  operations = { "issue", "rekey" },
  run = function(w) expect(true).is_true() end,
}
