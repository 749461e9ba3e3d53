-- Revocation (operation 2, docs/domain.md#flows) authorised by the card's
-- signature, under delete_applet_on_revoke = force (the default): the CA
-- revokes both phone certificates, the TSM deletes the applet over SCP03; the
-- registry says revoked, the SE holds no applet, the phone cannot sign.  Then a
-- reissue (operation 4) on the same phone installs it again.
local app = require "app"
local rp = require "rp"

return scenario {
  id = "TSM-01", title = "revoke (force: applet deleted), then reissue on the same phone",
  tags = { "tsm", "revoke", "reissue", "operation" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operations = { "revoke", "reissue" }, policy = { delete_applet_on_revoke = "force" },
  run = function(w)
    local bank = rp.new(w)
    local phone = app.phone(w)
    local card = app.card(w.card, w.profile.pins)
    local pins = { auth = "2468", sign = "PHONEONE1" }
    local r = app.issue(w, phone, card, { pins = pins })
    expect(r.ok, "issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local old = r.result

    -- A reissue while the certificates are valid is refused (renew instead).
    local early = app.reissue(w, phone, card, { pins = pins })
    expect(early.status, "reissue of valid certificates").is(409)

    local v = app.revoke(w, phone, card, { reason = "cessationOfOperation" })
    expect(v.ok, "revoked: " .. tostring(v.error)).is_true()
    if not v.ok then return end
    expect(v.result.status, "registry: revoked").is "revoked"
    expect(v.notice, "the holder revoked: no J-LIS notice for the app to show").is(nil)
    expect(v.result.applet, "registry: applet gone").is "none"
    expect(app.applet_present(phone), "SE: the applet is deleted").is(false)
    local st, c = bank:says(old.auth_serial)
    expect(st, "CA: auth revoked").is "revoked"
    expect(c.reason).is "cessationOfOperation"
    expect(bank:says(old.sign_serial), "CA: sign revoked").is "revoked"
    expect(app.sign(phone, "sign", pins.sign, "x"), "no signature from a revoked phone").is(nil)
    expect((app.check(w)), "registry and CA agree").is_true()

    -- Reissue: a new applet, new keys, new certificates.
    local n = app.reissue(w, phone, card, { pins = pins })
    expect(n.ok, "reissued: " .. tostring(n.error)).is_true()
    if not n.ok then return end
    expect(n.result.status).is "active"
    expect(n.result.auth_serial ~= old.auth_serial, "a new auth certificate").is_true()
    expect(bank:says(n.result.sign_serial), "CA: the new sign certificate").is "valid"
    expect(app.sign(phone, "sign", pins.sign, "x") ~= nil, "the phone signs again").is_true()
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
