-- Half-valid on an iPhone (docs/ios.md#half-valid; docs/domain.md#flows,
-- 課題 2): one pair revoked, the other valid, under the switch half_valid
-- as on Android (TSM-03).
-- 1. The holder revokes the sign pair alone (an address change): sign
--    revoked, auth valid, the registry half.  block: the credential stays
--    whole (the revoked certificate still on the iPhone, a relying party
--    refuses what its key signs; the answer says the credential cannot be
--    removed while the auth pair is valid); erase_revoked: the iPhone
--    erases the sign pair.  Either way the auth key signs and is accepted.
-- 2. The rest revoked: the credential removed.
-- 3. Reissued, then J-LIS revokes the iPhone's auth certificate alone at
--    the CA: the registry follows (half, the pair pending) and the
--    iPhone's check-in applies the policy; the sign pair keeps working.
local app = require "app"
local rp = require "rp"
local wallet = require "wallet"

return scenario {
  id = "IOS-08", title = "half-valid iPhone: one pair revoked, the other valid, under block and erase_revoked",
  tags = { "ios", "revoke", "half-valid", "policy" }, needs = { "tsm" },
  operation = "revoke", policies = { half_valid = { "block", "erase_revoked" } },
  run = function(w)
    local policy = (w.policy or {}).half_valid or "block"
    local erase = policy == "erase_revoked"
    local bank = rp.new(w)
    local card = wallet.card(w)
    local pins = { auth = "8181", sign = "HALFIOS1" }
    local ph = wallet.iphone(w)

    -- 1. the sign pair revoked by the holder
    local r = wallet.issue(w, ph, card, { pins = pins })
    expect(r.ok, policy .. ": issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local v = wallet.revoke(w, ph, card, { certs = "sign", reason = "affiliationChanged" })
    expect(v.ok, policy .. ": sign revoked alone: " .. tostring(v.error) .. " " .. tostring(v.status)).is_true()
    if not v.ok then return end
    expect(v.result.status, "the answer: half-valid").is "half"
    expect(v.result.revoked, "the pair revoked").is "sign"
    expect(v.result.erased, "erased on the iPhone").is(erase)
    expect(app.device(w, r.result.device).status, "registry: half").is "half"
    expect(bank:says(r.result.auth_serial), "RP: auth still valid").is "valid"
    expect(bank:says(r.result.sign_serial), "RP: sign revoked").is "revoked"
    expect(ph:inspect().installed, "the credential stays (the auth pair is valid)").is(true)
    local der = wallet.cert(ph, "auth", pins.auth)
    local sig = wallet.sign(ph, "auth", pins.auth, "login")
    expect(sig ~= nil and bank:verify(der, "login", sig).ok, "the auth key still signs, RP accepts").is_true()
    if erase then
      expect(ph:inspect().slots.sign.der, "erase_revoked: no sign certificate on the iPhone").is(nil)
      expect(wallet.cert(ph, "sign", pins.sign), "erase_revoked: EF 0001 no longer read").is(nil)
      expect(wallet.sign(ph, "sign", pins.sign, "contract"), "erase_revoked: no sign key").is(nil)
      expect(v.result.warning, "erase_revoked: nothing to warn of").is(nil)
    else
      expect(v.result.warning, "block: the holder is told why the credential stays").matches "cannot be removed"
      local sder = wallet.cert(ph, "sign", pins.sign)
      expect(sder ~= nil, "block: the revoked certificate stays on the iPhone").is_true()
      local ssig = wallet.sign(ph, "sign", pins.sign, "contract")
      expect(ssig ~= nil, "block: the revoked key is still on the iPhone").is_true()
      expect(sder ~= nil and ssig ~= nil and bank:verify(sder, "contract", ssig).ok, "block: RP refuses it").is(false)
    end
    local s = wallet.sync(w, ph)
    expect(s.ok and s.result.status, "check-in: half, nothing pending").is "half"

    -- 2. the rest revoked: nothing valid, the credential removed
    local x = wallet.revoke(w, ph, card, { reason = "cessationOfOperation" })
    expect(x.ok and x.result.removed, policy .. ": the rest revoked, credential removed: " .. tostring(x.error)).is_true()
    expect(ph:inspect().installed).is(false)
    expect(bank:says(r.result.auth_serial), "RP: auth revoked").is "revoked"

    -- 3. J-LIS revokes the auth certificate alone; the check-in follows
    local y = wallet.reissue(w, ph, card, { pins = pins })
    expect(y.ok, policy .. ": reissued: " .. tostring(y.error)).is_true()
    if not y.ok then return end
    local st = w.ca:call("POST", "/v1/certs/" .. y.result.auth_serial .. "/revoke", { reason = "keyCompromise" })
    expect(st, "CA: the auth certificate revoked").is(200)
    local d = app.device(w, y.result.device)
    expect(d.status, "registry: half").is "half"
    expect(d.pending_revoke and #d.pending_revoke, "registry: the auth pair pending").is(1)
    local c = wallet.sync(w, ph)
    expect(c.ok, policy .. ": check-in: " .. tostring(c.error)).is_true()
    if not c.ok then return end
    expect(c.result.revoked, "the check-in: the auth pair").is "auth"
    expect(c.result.erased, "erased at the check-in").is(erase)
    expect(ph:inspect().slots.auth.der ~= nil, "the auth certificate on the iPhone").is(not erase)
    expect(app.device(w, y.result.device).pending_revoke, "registry: nothing pending").is(nil)
    local sder = wallet.cert(ph, "sign", pins.sign)
    local ssig = wallet.sign(ph, "sign", pins.sign, "contract")
    expect(ssig ~= nil and bank:verify(sder, "contract", ssig).ok, "the sign key still signs, RP accepts").is_true()
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
