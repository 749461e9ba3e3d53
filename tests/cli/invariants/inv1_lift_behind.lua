-- Invariant 1 broken on purpose: the call centre holds alice's phone
-- certificates (registry: hold), then someone lifts them at the CA behind
-- the TSM's back — the registry still says held, OCSP answers good.
local app = require "app"; app.keep_devices = true   -- no teardown: the bench stays broken for mynahil check

return scenario {
  id = "INV-1", title = "a held certificate lifted at the CA behind the TSM's back",
  needs = { "se", "tsm" },
  run = function(w)
    local phone = app.phone(w)
    local r = app.issue(w, phone, app.card(w.card, w.profile.pins), { pins = { auth = "1357", sign = "PHONE123" } })
    expect(r.ok, "issued").is_true()
    expect(app.hold(w, "alice"), "held by the call centre").is(200)
    w.ca:call("POST", "/v1/certs/" .. r.result.auth_serial .. "/lift", {})
    w.ca:call("POST", "/v1/certs/" .. r.result.sign_serial .. "/lift", {})
  end,
}
