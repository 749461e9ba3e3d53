-- Refused at load: an unknown switch.
return scenario {
  id = "MX-BAD-1", title = "an unknown switch",
  policies = { delete_applet = { "force", "warn" } },
  run = function(w) expect(true).is_true() end,
}
