-- The policy switch revoke_without_card (docs/domain.md#policy-switches,
-- the study's §3 課題 1): with it off (the default) the phone's own
-- signature cannot authorise its revocation — the card must; with it on,
-- the phone's sign key (its JPKI applet, after the phone's sign PIN) does,
-- and the revocation runs as with the card: CA revoked, applet deleted,
-- registry and CA agree.
local app = require "app"
local rp = require "rp"

return scenario {
  id = "TSM-10", title = "revoke_without_card: the phone's own signature, refused then accepted",
  tags = { "tsm", "revoke", "policy" }, needs = { "se", "tsm" },
  operation = "revoke", policies = { se_model = { "shared_isd", "ssd" }, revoke_without_card = { false, true } },
  run = function(w)
    local bank = rp.new(w)
    local phone = app.phone(w)
    local card = app.card(w.card, w.profile.pins)
    local pins = { auth = "8642", sign = "OWNKEY2026" }
    local r = app.issue(w, phone, card, { pins = pins })
    expect(r.ok, "issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local old = r.result

    local off = app.revoke(w, phone, card, { signer = "phone", phone_pin = pins.sign,
                                             policy = { revoke_without_card = false } })
    expect(off.ok, "policy off: the phone's signature refused").is_false()
    expect(off.status, "policy off: 403").is(403)
    expect(off.field, "policy off: the field named").is "signer"
    expect(bank:says(old.auth_serial), "policy off: CA still valid").is "valid"

    local bad = app.revoke(w, phone, card, { signer = "phone", phone_pin = "WRONGPIN1",
                                             policy = { revoke_without_card = true } })
    expect(bad.ok, "a phone that will not sign (wrong PIN) revokes nothing").is_false()
    expect(bank:says(old.sign_serial), "CA still valid").is "valid"

    local on = app.revoke(w, phone, card, { signer = "phone", phone_pin = pins.sign,
                                            policy = { revoke_without_card = true } })
    expect(on.ok, "policy on: revoked with the phone's signature: " .. tostring(on.error)).is_true()
    if not on.ok then return end
    expect(on.result.status, "registry: revoked").is "revoked"
    expect(bank:says(old.auth_serial), "CA: auth revoked").is "revoked"
    expect(bank:says(old.sign_serial), "CA: sign revoked").is "revoked"
    expect(app.applet_present(phone), "SE: the applet is deleted").is(false)
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
