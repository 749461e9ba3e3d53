-- Refused at load: a boolean switch given as a string.
local s = scenario {
  id = "MX-BAD-5", title = "a boolean switch given as a string",
  policies = { phone_sign_cert = { "true", "false" } },
  run = function(w) expect(true).is_true() end,
}
return s
