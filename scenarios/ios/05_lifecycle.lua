-- What a factory reset and a linked revocation do to the credential
-- (docs/ios.md#life-cycle; JPKI's attention page: a factory reset does not
-- delete it, revocation does).  A factory reset keeps the credential, its
-- certificates valid and its password working (biometrics to enrol
-- again).  Then J-LIS revokes the card's sign certificate (the card is
-- lost): the iPhone's are revoked with it (the linkage, an assumption of
-- docs/ca.md); the credential stays until the iPhone's next contact, when
-- the service removes it and tells why.
local app = require "app"
local rp = require "rp"
local wallet = require "wallet"

return scenario {
  id = "IOS-05", title = "factory reset keeps the credential; the card revoked, the next contact removes it",
  tags = { "ios", "lifecycle", "linked" }, needs = { "tsm" }, operations = { "issue", "revoke" },
  run = function(w)
    local bank = rp.new(w)
    local ph = wallet.iphone(w)
    local base = wallet.card(w)
    local card, why = app.own_card(w, base, "iosloss")
    expect(card ~= nil, "a card certificate of the scenario's own: " .. tostring(why)).is_true()
    if not card then return end
    local pins = { auth = "3333", sign = "RESETKEEP1" }
    local r = wallet.issue(w, ph, card, { pins = pins })
    expect(r.ok, "issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    ph:factory_reset()
    local v = ph:inspect()
    expect(v.installed, "factory reset: the credential stays").is_true()
    expect(v.biometric, "factory reset: biometrics to enrol again").is "not_enrolled"
    local der = wallet.cert(ph, "sign", pins.sign)
    local sig = wallet.sign(ph, "sign", pins.sign, "after the reset")
    expect(sig and bank:verify(der, "after the reset", sig).ok, "RP accepts a signature after the reset").is_true()

    local s = w.ca:call("POST", "/v1/certs/" .. card.serial .. "/revoke", { reason = "keyCompromise" })
    expect(s, "J-LIS revokes the card's sign certificate").is(200)
    local st, c = bank:says(r.result.sign_serial)
    expect(st, "RP: the iPhone's sign certificate revoked with the card's").is "revoked"
    expect(c and c.reason, "RP: the card's reason").is "keyCompromise"
    expect(bank:says(r.result.auth_serial), "RP: the iPhone's auth certificate").is "revoked"
    expect(ph:inspect().installed, "until its next contact the iPhone keeps it").is_true()
    local y = wallet.sync(w, ph)
    expect(y.ok, "the check-in: " .. tostring(y.error)).is_true()
    expect(y.result and y.result.removed, "the credential removed at the check-in").is_true()
    expect(y.reason, "why").is "card_revoked"
    expect(ph:inspect().installed, "no credential on the iPhone").is(false)
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
