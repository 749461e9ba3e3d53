-- Renewal (operation 3, docs/domain.md#flows) attempted without renewing the
-- card certificate first: the TSM checks the phone certificates' status itself,
-- finds them valid, revokes them (superseded) and issues new ones on new
-- keys, linked to the card certificate.  Renewing a phone that carries no
-- certificates of the holder is refused.
local app = require "app"
local rp = require "rp"

return scenario {
  id = "TSM-04", title = "renew: the TSM's own revocation check, new keys and certificates",
  tags = { "tsm", "renew", "operation" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operation = "renew",
  run = function(w)
    local bank = rp.new(w)
    local phone = app.phone(w)
    local card = app.card(w.card, w.profile.pins)
    local pins = { auth = "1111", sign = "RENEW2026" }
    local none = app.renew(w, phone, card, { pins = pins })
    expect(none.ok, "renew before any issuance").is(false)
    local r = app.issue(w, phone, card, { pins = pins })
    expect(r.ok, "issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local n = app.renew(w, phone, card, { pins = pins })
    expect(n.ok, "renewed: " .. tostring(n.error)).is_true()
    if not n.ok then return end
    expect(n.result.revoked_by_tsm, "the TSM revoked the still-valid certificates itself").is_true()
    local st, c = bank:says(r.result.auth_serial)
    expect(st, "CA: old auth revoked").is "revoked"
    expect(c.reason).is "superseded"
    expect(bank:says(r.result.sign_serial), "CA: old sign revoked").is "revoked"
    expect(bank:says(n.result.auth_serial), "CA: new auth valid").is "valid"
    expect(bank:says(n.result.sign_serial), "CA: new sign valid").is "valid"
    expect(n.result.slots[1] == 2 and n.result.slots[2] == 2, "SE: both slots ACTIVE").is_true()
    local der = app.phone_cert(phone, "sign", pins.sign)
    local sig = app.sign(phone, "sign", pins.sign, "renewed")
    expect(der ~= nil and sig ~= nil and mynahil.crypto.verify(der, "sha256", "renewed", sig),
      "the new key signs under the new certificate").is_true()
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
