-- Case 5 (docs/domain.md#cases): the phone breaks.  Its SE can no longer be
-- reached, so its certificates are revoked from another device with the card
-- (a remote revocation: the CA revokes, the applet's deletion waits).
local app = require "app"
local rp = require "rp"
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-05", case = 5, title = "failure: the broken phone's certificates revoked from another device",
  tags = { "lifecycle", "revoke" }, needs = { "se", "tsm" },
  operation = "revoke",
  run = function(w)
    local bank = rp.new(w)   -- statuses as a relying party sees them: OCSP, CRL, JSON API
    local phone, card, r = lifecycle.issued(w, 1, { auth = "7410", sign = "BROKEN123" })
    if not r then return end
    expect(phone.se:power "off", "the phone breaks").is_true()
    local v = app.revoke(w, nil, card, { remote = true, device = r.device, reason = "cessationOfOperation" })
    expect(v.ok, "revoked from another device: " .. tostring(v.error)).is_true()
    expect(bank:says(r.auth_serial), "RP: auth revoked").is "revoked"
    expect(bank:says(r.sign_serial), "RP: sign revoked").is "revoked"
    local d = app.device(w, r.device)
    expect(d.status, "registry: revoked").is "revoked"
    expect(d.pending_delete, "registry: the applet's deletion waits for the phone").is(true)
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
