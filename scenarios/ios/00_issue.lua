-- Issue on an iPhone (operation 1 on iOS;
-- docs/ios.md#the-provisioning-service): the Wallet app's provisioning through the platform's service —
-- liveness, the card's text after its 入力補助 PIN, the card's signatures
-- after its sign password, the device attestation, the new iPhone PINs,
-- added with biometrics.  Checked where each party keeps it: the iPhone
-- (credential, token, certificates, PIN counters), the registry (an
-- active iPhone of alice's), the CA and a relying party (OCSP, CRL: both
-- certificates valid, the iPhone's signature accepted).
local app = require "app"
local rp = require "rp"
local jpki = require "jpki"
local wallet = require "wallet"

return scenario {
  id = "IOS-00", title = "issue on an iPhone: the credential installed, both certificates valid to a relying party",
  tags = { "ios", "issue", "operation" }, needs = { "tsm" }, operations = { "issue" },
  run = function(w)
    local bank = rp.new(w)
    local ph = wallet.iphone(w)
    local card = wallet.card(w)
    local pins = { auth = "2468", sign = "IPHONE2026" }
    expect(ph:inspect().installed, "no credential before").is(false)
    expect(jpki.select(ph).sw, "no JPKI AP on the iPhone before").is(0x6A82)
    local r = wallet.issue(w, ph, card, { pins = pins })
    expect(r.ok, "issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local v = ph:inspect()
    expect(v.installed, "the credential on the iPhone").is_true()
    expect(v.slots.auth.pin.tries, "the new auth PIN, 3 tries").is(3)
    expect(v.slots.sign.pin.tries, "the new sign password, 5 tries").is(5)
    jpki.select(ph)
    expect(jpki.token(ph), "the iPhone's token").is "JPKIAPIOSTOKEN"
    local d = app.device(w, r.result.device)
    expect(d.platform, "registry: an iPhone").is "ios"
    expect(d.status, "registry: active").is "active"
    expect(d.holder, "registry: the card's holder").is(app.holder(w, card))
    expect(d.auth_serial, "registry: the auth serial").is(r.result.auth_serial)
    expect(bank:says(r.result.auth_serial), "RP: the iPhone's auth certificate").is "valid"
    expect(bank:says(r.result.sign_serial), "RP: the iPhone's sign certificate").is "valid"
    local der = wallet.cert(ph, "sign", pins.sign)
    expect(der and mynahil.crypto.cert(der).serial:upper():gsub("^0+", ""),
      "the iPhone holds the sign certificate issued").is((r.result.sign_serial:gsub("^0+", "")))
    local sig = wallet.sign(ph, "sign", pins.sign, "a contract signed on the iPhone")
    expect(sig and bank:verify(der, "a contract signed on the iPhone", sig).ok, "RP accepts the iPhone's signature").is_true()
    local st, c = w.ca:call("GET", "/v1/certs/" .. r.result.sign_serial)
    expect(st == 200 and c.card_serial, "CA: linked to the card's sign certificate").is(card.serial)
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
