-- Renew on an iPhone (operation 3 on iOS; docs/domain.md#flows): the card's
-- sign certificate is renewed first (J-LIS, in its last 3 months: a new
-- key on the card; the scenario's own card certificate expires in 85
-- days, so the shared clock of a served CA is not moved under the
-- scenarios running beside it), which revokes the iPhone's by the linkage
-- (superseded; registry revoked, card_renewed); the holder renews in the
-- Wallet app with the renewed card: new keys on the iPhone, new
-- certificates linked to the renewed card certificate, the credential
-- replaced; a relying party takes the new signature, not the old key's.
-- Renewing while the iPhone's are valid revokes them itself (superseded).
local app = require "app"
local rp = require "rp"
local clock = require "clock"
local wallet = require "wallet"

return scenario {
  id = "IOS-07", title = "renew on an iPhone after the card's renewal, and while still valid",
  tags = { "ios", "renew", "time", "linked" }, needs = { "tsm", "sim" }, operation = "renew",
  run = function(w)
    local bank = rp.new(w)
    local ph = wallet.iphone(w)
    local base = wallet.card(w)
    local card, why = app.own_card(w, base, "iosrenew", nil, clock.days(w, 85))
    expect(card ~= nil, "a card certificate of the scenario's own: " .. tostring(why)).is_true()
    if not card then return end
    local pins = { auth = "6060", sign = "RENEWIOS1" }
    local r = wallet.issue(w, ph, card, { pins = pins })
    expect(r.ok, "issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local m = wallet.renew(w, ph, card, { pins = pins })
    expect(m.ok, "renewed while valid: " .. tostring(m.error)).is_true()
    if not m.ok then return end
    local st, c = bank:says(r.result.sign_serial)
    expect(st, "RP: the first sign certificate").is "revoked"
    expect(c and c.reason, "superseded by the renewal").is "superseded"
    expect(bank:says(m.result.sign_serial), "RP: the renewed one").is "valid"

    local renewed, rwhy = clock.renew_card(w, card, "iosrenew")
    expect(renewed ~= nil, "the card's sign certificate renewed: " .. tostring(rwhy)).is_true()
    if not renewed then return end
    expect(bank:says(m.result.auth_serial), "RP: the iPhone's auth revoked by the linkage").is "revoked"
    local d = app.device(w, m.result.device)
    expect(d.status, "registry: revoked").is "revoked"
    expect(d.reason, "registry: why").is "card_renewed"
    local old_der = wallet.cert(ph, "sign", pins.sign)
    local n = wallet.renew(w, ph, renewed, { pins = pins })
    expect(n.ok, "renewed after the card: " .. tostring(n.error)).is_true()
    if not n.ok then return end
    expect(n.result.card_serial, "linked to the renewed card certificate").is(renewed.serial)
    expect(bank:says(n.result.sign_serial), "RP: the new sign certificate").is "valid"
    local der = wallet.cert(ph, "sign", pins.sign)
    local sig = wallet.sign(ph, "sign", pins.sign, "renewed on the iPhone")
    expect(sig and bank:verify(der, "renewed on the iPhone", sig).ok, "RP accepts the new key's signature").is_true()
    expect(old_der and bank:verify(old_der, "renewed on the iPhone", sig).ok, "nor under the old certificate").is(false)
    expect(app.device(w, n.result.device).status, "registry: active").is "active"
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
