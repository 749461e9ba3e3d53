-- Revocation under delete_applet_on_revoke = warn (the 2019 pilot): the
-- certificates are revoked at the CA, the applet stays on the SE with its
-- slots marked revoked, and the TSM's answer carries the warning.  The
-- phone can no longer produce a signature the CA accepts (invariant 1):
-- the key may still sign, but its certificate is revoked.
local app = require "app"
local rp = require "rp"

return scenario {
  id = "TSM-02", title = "revoke (warn: applet kept, slots revoked, warning)",
  tags = { "tsm", "revoke", "policy" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operation = "revoke", policy = { delete_applet_on_revoke = "warn" },
  run = function(w)
    local bank = rp.new(w)
    local phone = app.phone(w)
    local card = app.card(w.card, w.profile.pins)
    local r = app.issue(w, phone, card, { pins = { auth = "2468", sign = "PHONEONE1" } })
    expect(r.ok, "issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local v = app.revoke(w, phone, card, {})
    expect(v.ok, "revoked: " .. tostring(v.error)).is_true()
    expect(v.result.warning ~= nil, "the answer warns: delete the applet").is_true()
    expect(v.result.applet, "registry: the applet is still installed").is "installed"
    expect(v.result.slots[1], "SE: auth slot REVOKED").is(3)
    expect(v.result.slots[2], "SE: sign slot REVOKED").is(3)
    expect(app.applet_present(phone), "SE: the applet is still there").is_true()
    expect(bank:says(r.result.auth_serial), "CA: auth revoked").is "revoked"
    expect(bank:says(r.result.sign_serial), "CA: sign revoked").is "revoked"
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
