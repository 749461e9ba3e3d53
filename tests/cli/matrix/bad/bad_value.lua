-- Refused at load: a value the switch does not have.
return scenario {
  id = "MX-BAD-3", title = "a value the switch does not have",
  policy = { half_valid = "erase" },
  run = function(w) expect(true).is_true() end,
}
