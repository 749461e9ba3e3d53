-- One phone per holder (invariant 2, docs/domain.md#invariants, model change
-- case 1): Alice issues on a new phone without revoking the old one.  The TSM
-- revokes the old phone's certificates (superseded) before certifying the new
-- keys, and records a pending deletion; when the old phone is next online (the
-- app's check-in), its applet is deleted.
local app = require "app"
local rp = require "rp"

return scenario {
  id = "TSM-07", title = "one phone per holder: the new phone revokes the old, deleted when next online",
  tags = { "tsm", "issue", "one-phone", "lifecycle" }, case = 1, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operations = { "issue", "revoke" }, policy = { one_phone_scope = "holder" },
  run = function(w)
    local bank = rp.new(w)
    local old = app.phone(w)
    local card = app.card(w.card, w.profile.pins)
    local pins = { auth = "1234", sign = "OLDPHONE1" }
    local a = app.issue(w, old, card, { pins = pins })
    expect(a.ok, "issued on the old phone: " .. tostring(a.error)).is_true()
    if not a.ok then return end

    local new = app.phone(w, app.new_se(w, 2))
    local b = app.issue(w, new, card, { pins = pins })
    expect(b.ok, "issued on the new phone: " .. tostring(b.error)).is_true()
    if not b.ok then return end
    expect(b.result.device ~= a.result.device, "two devices").is_true()
    expect(b.result.superseded and b.result.superseded[1], "the old phone superseded").is(a.result.device)
    expect(bank:says(a.result.auth_serial), "CA: old auth revoked").is "revoked"
    expect(bank:says(a.result.sign_serial), "CA: old sign revoked").is "revoked"
    expect(bank:says(b.result.sign_serial), "CA: new sign valid").is "valid"
    local od = app.device(w, a.result.device)
    expect(od.status, "registry: old revoked").is "revoked"
    expect(od.pending_delete, "registry: deletion pending").is_true()
    expect(app.applet_present(old), "the old phone was offline: applet still there").is_true()

    local s = app.sync(w, old)
    expect(s.ok, "the old phone checks in: " .. tostring(s.error)).is_true()
    if not s.ok then return end
    expect(s.result.pending_deletion, "pending deletion executed").is_true()
    expect(app.applet_present(old), "the old applet is deleted").is(false)
    expect(app.device(w, a.result.device).pending_delete, "nothing pending").is(false)
    expect(app.sign(new, "sign", pins.sign, "x") ~= nil, "the new phone signs").is_true()
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
