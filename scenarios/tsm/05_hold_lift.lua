-- Hold and lift (operation 5, cases 6-7 of docs/domain.md;
-- docs/card.md#phone-certificates): the call
-- centre puts the holder's phone certificates on hold (no SE involved);
-- found again, the holder lifts it in the app: the auth certificate is
-- reinstated (same serial), the sign certificate is revoked and reissued
-- on a new key, written to the SE.
local app = require "app"
local rp = require "rp"

return scenario {
  id = "TSM-05", title = "hold by the call centre, lift: auth reinstated, sign reissued",
  tags = { "tsm", "hold", "lift", "operation" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operations = { "reissue", "suspend_resume" },
  run = function(w)
    local bank = rp.new(w)
    local phone = app.phone(w)
    local card = app.card(w.card, w.profile.pins)
    local pins = { auth = "4321", sign = "LOSTFOUND1" }
    local r = app.issue(w, phone, card, { pins = pins })
    expect(r.ok, "issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local early = app.lift(w, phone, card, { pins = pins })
    expect(early.status, "nothing to lift").is(409)

    local s, h = app.hold(w, app.holder(w, card))
    expect(s, "call centre: hold").is(200)
    expect(bank:says(r.result.auth_serial), "CA: auth on hold").is "hold"
    expect(bank:says(r.result.sign_serial), "CA: sign on hold").is "hold"
    expect(app.device(w, r.result.device).status, "registry: hold").is "hold"
    expect(app.applet_present(phone), "SE untouched by the hold").is_true()
    expect((app.check(w)), "registry and CA agree on hold").is_true()

    local l = app.lift(w, phone, card, { pins = pins })
    expect(l.ok, "lifted: " .. tostring(l.error)).is_true()
    if not l.ok then return end
    expect(l.result.auth_serial, "the same auth certificate").is(r.result.auth_serial)
    expect(bank:says(r.result.auth_serial), "CA: auth reinstated").is "valid"
    expect(bank:says(r.result.sign_serial), "CA: old sign revoked").is "revoked"
    expect(l.result.sign_serial ~= r.result.sign_serial, "a new sign certificate").is_true()
    expect(bank:says(l.result.sign_serial), "CA: new sign valid").is "valid"
    expect(l.result.status).is "active"
    local der = app.phone_cert(phone, "sign", pins.sign)
    local sig = app.sign(phone, "sign", pins.sign, "found")
    expect(der ~= nil and sig ~= nil and mynahil.crypto.verify(der, "sha256", "found", sig),
      "the reissued sign key signs under its certificate").is_true()
    expect(app.sign(phone, "auth", pins.auth, "login") ~= nil, "the auth key works").is_true()
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
