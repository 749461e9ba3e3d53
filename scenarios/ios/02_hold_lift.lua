-- Hold and lift on an iPhone (operation 5 on iOS;
-- docs/card.md#phone-certificates): the call centre holds the holder's phone certificates —
-- the registry is the TSM's, shared with the platform's service, so the
-- iPhone's are held like an Android phone's; found again, the holder lifts
-- in the Wallet app with the card: the auth certificate reinstated (same
-- serial), the sign one revoked and issued anew on a new key, the
-- credential updated with the PINs it had.
local app = require "app"
local rp = require "rp"
local wallet = require "wallet"

return scenario {
  id = "IOS-02", title = "hold by the call centre, lift on the iPhone: auth reinstated, sign reissued",
  tags = { "ios", "hold", "lift", "operation" }, needs = { "tsm" }, operations = { "suspend_resume" },
  run = function(w)
    local bank = rp.new(w)
    local ph = wallet.iphone(w)
    local card = wallet.card(w)
    local pins = { auth = "8642", sign = "LOSTIPHONE1" }
    local r = wallet.issue(w, ph, card, { pins = pins })
    expect(r.ok, "issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    expect(wallet.lift(w, ph, card).status, "nothing to lift").is(409)
    local s = app.hold(w, app.holder(w, card))
    expect(s, "call centre: hold").is(200)
    expect(bank:says(r.result.auth_serial), "RP: auth on hold").is "hold"
    expect(bank:says(r.result.sign_serial), "RP: sign on hold").is "hold"
    expect(app.device(w, r.result.device).status, "registry: hold").is "hold"
    expect(ph:inspect().installed, "the credential stays on the iPhone").is_true()
    local l = wallet.lift(w, ph, card)
    expect(l.ok, "lifted: " .. tostring(l.error)).is_true()
    if not l.ok then return end
    expect(l.result.auth_serial, "the same auth certificate").is(r.result.auth_serial)
    expect(bank:says(r.result.auth_serial), "RP: auth reinstated").is "valid"
    expect(bank:says(r.result.sign_serial), "RP: the old sign certificate revoked").is "revoked"
    expect(l.result.sign_serial ~= r.result.sign_serial, "a new sign certificate").is_true()
    expect(bank:says(l.result.sign_serial), "RP: the new sign certificate").is "valid"
    local der = wallet.cert(ph, "sign", pins.sign)
    local sig = wallet.sign(ph, "sign", pins.sign, "found again")
    expect(sig and bank:verify(der, "found again", sig).ok, "the new sign key signs under the PIN it had").is_true()
    expect(app.device(w, r.result.device).status, "registry: active").is "active"
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
