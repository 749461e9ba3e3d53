-- one_phone_scope (docs/domain.md#policy-switches; case 2,
-- docs/card.md#phone-certificates): the one-phone rule per holder or per
-- platform.  Every phone here has a FeliCa-SE, i.e. is an Android phone (an
-- iPhone keeps its certificates in Apple's SE, which no SP-TSM manages), so
-- under `platform` a second Android phone supersedes the first exactly as under
-- `holder`: the first phone's certificates revoked (superseded, as a relying
-- party sees them), its applet deleted at its next check-in.  The
-- cross-platform half of the switch (an Android and an iPhone each with
-- certificates) is LC-02's (scenarios/lifecycle/02_model_change_android_ios.lua).
local app = require "app"
local rp = require "rp"

return scenario {
  id = "TSM-24", title = "one_phone_scope holder/platform: a second Android phone supersedes the first either way",
  tags = { "tsm", "issue", "one-phone", "policy" }, case = 1, needs = { "se", "tsm" },
  operations = { "issue", "revoke" }, policies = { se_model = { "shared_isd", "ssd" }, one_phone_scope = { "holder", "platform" } },
  run = function(w)
    local scope = (w.policy or {}).one_phone_scope or "holder"
    local bank = rp.new(w)
    local card = app.card(w.card, w.profile.pins)
    local pins = { auth = "7531", sign = "SCOPE2026" }
    local first, second = app.phone(w), app.phone(w, app.new_se(w, 2))
    local a = app.issue(w, first, card, { pins = pins })
    expect(a.ok, scope .. ": the first Android phone: " .. tostring(a.error)).is_true()
    if not a.ok then return end
    local b = app.issue(w, second, card, { pins = pins })
    expect(b.ok, scope .. ": the second Android phone: " .. tostring(b.error)).is_true()
    if not b.ok then return end
    expect(b.result.superseded and b.result.superseded[1], scope .. ": the first phone superseded").is(a.result.device)
    local st, info = bank:says(a.result.auth_serial)
    expect(st, scope .. ": RP: the first phone's auth certificate").is "revoked"
    expect(info and info.reason, scope .. ": superseded").is "superseded"
    expect(bank:says(a.result.sign_serial), scope .. ": RP: the first phone's sign certificate").is "revoked"
    expect(bank:says(b.result.sign_serial), scope .. ": RP: the second phone's").is "valid"
    expect(app.device(w, a.result.device).status, scope .. ": registry: the first revoked").is "revoked"
    local y = app.sync(w, first)
    expect(y.ok and y.result.pending_deletion, scope .. ": the first phone's applet deleted at its check-in").is_true()
    expect(app.applet_present(first), scope .. ": SE: no applet on the first phone").is(false)
    expect(app.sign(second, "sign", pins.sign, "x") ~= nil, scope .. ": the second phone signs").is_true()
    expect((app.check(w)), scope .. ": registry and CA agree").is_true()
  end,
}
