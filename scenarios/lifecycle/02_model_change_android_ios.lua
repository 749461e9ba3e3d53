-- Case 2 (docs/domain.md#cases): model change between an Android phone and an
-- iPhone, both ways, with and without revoking first, under the policy
-- switch one_phone_scope (docs/domain.md#policy-switches): holder (one phone
-- per holder across platforms, the default) or platform (one per platform).
-- The SP-TSM and the platform's provisioning service share one registry
-- (docs/ios.md), so the rule reaches across: under holder a new phone of
-- the other platform supersedes the old (revoked, superseded; the applet
-- deleted or the credential removed at its next contact); under platform
-- the other platform's phone keeps its certificates, a same-platform one
-- is superseded.  Revoking first, nothing is superseded.
local app = require "app"
local rp = require "rp"
local wallet = require "wallet"

return scenario {
  id = "LC-02", case = 2, title = "model change, Android to iOS and iOS to Android, with and without revoking first",
  tags = { "lifecycle", "model-change", "ios" }, needs = { "se", "tsm" },
  operations = { "issue", "revoke" }, policies = { se_model = { "shared_isd", "ssd" }, one_phone_scope = { "holder", "platform" } },
  run = function(w)
    local scope = (w.policy or {}).one_phone_scope or "holder"
    local per_holder = scope == "holder"
    local bank = rp.new(w)
    local card = app.card(w.card, w.profile.pins)
    local pins = { auth = "5791", sign = "MODEL2026" }
    local function says(serial, want, what) expect(bank:says(serial), scope .. ": RP: " .. what).is(want) end

    -- Android -> iOS, revoking first: nothing left to supersede
    local p1 = app.phone(w)
    local a1 = app.issue(w, p1, card, { pins = pins })
    expect(a1.ok, scope .. ": Android issued: " .. tostring(a1.error)).is_true()
    if not a1.ok then return end
    local v = app.revoke(w, p1, card, { reason = "cessationOfOperation" })
    expect(v.ok and not app.applet_present(p1), scope .. ": revoked on the Android phone, applet deleted").is_true()
    local ia = wallet.iphone(w, 1)
    local i1 = wallet.issue(w, ia, card, { pins = pins })
    expect(i1.ok, scope .. ": iPhone a issued: " .. tostring(i1.error)).is_true()
    if not i1.ok then return end
    expect(#(i1.result.superseded or {}), scope .. ": nothing superseded after revoking first").is(0)
    says(a1.result.auth_serial, "revoked", "the Android phone's auth")
    says(i1.result.sign_serial, "valid", "iPhone a's sign")

    -- iOS -> Android, without revoking first
    local p2 = app.phone(w, app.new_se(w, 2))
    local a2 = app.issue(w, p2, card, { pins = pins })
    expect(a2.ok, scope .. ": Android phone 2 issued: " .. tostring(a2.error)).is_true()
    if not a2.ok then return end
    if per_holder then
      expect(a2.result.superseded and a2.result.superseded[1], "holder: iPhone a superseded").is(i1.result.device)
      local st, c = bank:says(i1.result.auth_serial)
      expect(st, "holder: RP: iPhone a's auth").is "revoked"
      expect(c and c.reason, "holder: superseded").is "superseded"
      expect(app.device(w, i1.result.device).pending_delete, "holder: iPhone a's removal pending").is(true)
      expect(ia:inspect().installed, "holder: iPhone a keeps it until its next contact").is_true()
      local y = wallet.sync(w, ia)
      expect(y.ok and y.result.removed, "holder: iPhone a's credential removed at its check-in").is_true()
      expect(ia:inspect().installed, "holder: no credential on iPhone a").is(false)
    else
      expect(#(a2.result.superseded or {}), "platform: the iPhone is not superseded").is(0)
      says(i1.result.auth_serial, "valid", "iPhone a's auth")
      expect(ia:inspect().installed, "platform: iPhone a keeps its credential").is_true()
    end
    says(a2.result.sign_serial, "valid", "Android phone 2's sign")

    -- Android -> iOS, without revoking first (iPhone b)
    local ib = wallet.iphone(w, 2)
    local i2 = wallet.issue(w, ib, card, { pins = pins })
    expect(i2.ok, scope .. ": iPhone b issued: " .. tostring(i2.error)).is_true()
    if not i2.ok then return end
    local sup = {}
    for _, d in ipairs(i2.result.superseded or {}) do sup[d] = true end
    if per_holder then
      expect(sup[a2.result.device], "holder: Android phone 2 superseded").is_true()
      says(a2.result.auth_serial, "revoked", "Android phone 2's auth")
      local y = app.sync(w, p2)
      expect(y.ok and y.result.pending_deletion, "holder: Android phone 2's applet deleted at its check-in").is_true()
      expect(app.applet_present(p2), "holder: no applet on Android phone 2").is(false)
    else
      expect(sup[a2.result.device], "platform: Android phone 2 kept").is(nil)
      expect(sup[i1.result.device], "platform: iPhone a superseded by iPhone b (same platform)").is_true()
      says(a2.result.auth_serial, "valid", "Android phone 2's auth")
      says(i1.result.auth_serial, "revoked", "iPhone a's auth")
      expect(wallet.sync(w, ia).ok and not ia:inspect().installed, "platform: iPhone a's credential removed").is_true()
    end

    -- iOS -> Android, revoking first (iPhone b revoked, Android phone 3)
    local rv = wallet.revoke(w, ib, card, { reason = "cessationOfOperation" })
    expect(rv.ok and not ib:inspect().installed, scope .. ": revoked on iPhone b, credential removed").is_true()
    local p3 = app.phone(w, app.new_se(w, 3))
    local a3 = app.issue(w, p3, card, { pins = pins })
    expect(a3.ok, scope .. ": Android phone 3 issued: " .. tostring(a3.error)).is_true()
    if not a3.ok then return end
    sup = {}
    for _, d in ipairs(a3.result.superseded or {}) do sup[d] = true end
    expect(sup[i2.result.device], scope .. ": the revoked iPhone is not superseded").is(nil)
    if not per_holder then
      expect(sup[a2.result.device], "platform: Android phone 2 superseded by phone 3 (same platform)").is_true()
    end
    says(i2.result.sign_serial, "revoked", "iPhone b's sign")
    says(a3.result.sign_serial, "valid", "Android phone 3's sign")
    expect(app.sign(p3, "sign", pins.sign, "x") ~= nil, scope .. ": the new Android phone signs").is_true()
    expect((app.check(w)), scope .. ": registry and CA agree").is_true()
  end,
}
