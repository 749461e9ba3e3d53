-- DOMAIN.md case 6: loss, not found.  The call centre puts the
-- certificates on hold at once; the phone stays lost, so they are then
-- revoked (remotely, with the card).
local app = require "app"
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-06", case = 6, title = "loss, not found: hold, then revoke",
  tags = { "lifecycle", "hold", "revoke" }, needs = { "se", "tsm" },
  operations = { "revoke", "suspend_resume" },
  run = function(w)
    local phone, card, r = lifecycle.issued(w, 1, { auth = "8520", sign = "LOSTPHONE1" })
    if not r then return end
    expect(app.hold(w, "alice"), "call centre: hold").is(200)
    expect(app.ca_status(w, r.auth_serial), "CA: auth on hold").is "hold"
    expect(app.ca_status(w, r.sign_serial), "CA: sign on hold").is "hold"
    local v = app.revoke(w, nil, card, { remote = true, device = r.device, reason = "keyCompromise" })
    expect(v.ok, "revoked: " .. tostring(v.error)).is_true()
    local st, c = app.ca_status(w, r.auth_serial)
    expect(st, "CA: auth revoked").is "revoked"
    expect(c and c.reason, "CA: reason").is "keyCompromise"
    expect(app.ca_status(w, r.sign_serial), "CA: sign revoked").is "revoked"
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
