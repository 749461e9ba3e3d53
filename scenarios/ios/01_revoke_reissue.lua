-- Revoke and reissue on an iPhone (operations 2 and 4 on iOS): the holder
-- revokes in the Wallet app with the card; the CA revokes both
-- certificates and the service has the credential removed at once
-- (revocation deletes it, docs/ios.md#life-cycle); a relying party sees
-- them revoked.  Reissue after the revocation: new keys, new
-- certificates, the credential back; reissue while valid is refused.
local app = require "app"
local rp = require "rp"
local wallet = require "wallet"

return scenario {
  id = "IOS-01", title = "revoke on an iPhone removes the credential; reissue after it",
  tags = { "ios", "revoke", "reissue", "operation" }, needs = { "tsm" }, operations = { "revoke", "reissue" },
  run = function(w)
    local bank = rp.new(w)
    local ph = wallet.iphone(w)
    local card = wallet.card(w)
    local pins = { auth = "1357", sign = "REVOKE2026" }
    local r = wallet.issue(w, ph, card, { pins = pins })
    expect(r.ok, "issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local early = wallet.reissue(w, ph, card, { pins = pins })
    expect(early.status, "reissue while valid: refused").is(409)
    local v = wallet.revoke(w, ph, card, { reason = "cessationOfOperation" })
    expect(v.ok, "revoked: " .. tostring(v.error)).is_true()
    expect(ph:inspect().installed, "the credential removed by the revocation").is(false)
    local st, c = bank:says(r.result.auth_serial)
    expect(st, "RP: auth revoked").is "revoked"
    expect(c and c.reason, "RP: why").is "cessationOfOperation"
    expect(bank:says(r.result.sign_serial), "RP: sign revoked").is "revoked"
    expect(app.device(w, r.result.device).status, "registry: revoked").is "revoked"
    expect(app.device(w, r.result.device).pending_delete, "registry: nothing pending").is(nil)
    expect(wallet.sign(ph, "sign", pins.sign, "x"), "the iPhone signs nothing").is(nil)

    local n = wallet.reissue(w, ph, card, { pins = pins })
    expect(n.ok, "reissued: " .. tostring(n.error)).is_true()
    if not n.ok then return end
    expect(n.result.sign_serial ~= r.result.sign_serial, "a new sign certificate").is_true()
    expect(bank:says(n.result.sign_serial), "RP: the new sign certificate").is "valid"
    local der = wallet.cert(ph, "sign", pins.sign)
    local sig = wallet.sign(ph, "sign", pins.sign, "after the reissue")
    expect(sig and bank:verify(der, "after the reissue", sig).ok, "RP accepts the reissued key's signature").is_true()
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
