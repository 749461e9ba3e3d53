-- Refused at load: case 16 is not in the seed.
return scenario {
  id = "MX-BAD-4", title = "case 16 is not in the seed",
  case = 16,
  run = function(w) expect(true).is_true() end,
}
