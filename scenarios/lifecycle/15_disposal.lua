-- Case 15 (docs/domain.md#cases): disposal.  The holder revokes before
-- disposing of the phone; the applet is deleted, so nothing of the holder
-- leaves with the handset.
local app = require "app"
local rp = require "rp"
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-15", case = 15, title = "disposal: revoke, the applet deleted",
  tags = { "lifecycle", "revoke" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operation = "revoke",
  policy = { delete_applet_on_revoke = "force" },
  run = function(w)
    local bank = rp.new(w)   -- statuses as a relying party sees them: OCSP, CRL, JSON API
    local pins = { auth = "1593", sign = "DISPOSE12" }
    local phone, _, r = lifecycle.issued_revoked(w, pins, "the phone to dispose of")
    if not r then return end
    expect(app.sign(phone, "auth", pins.auth, "x"), "nothing signs on the disposed phone").is(nil)
    expect(bank:says(r.auth_serial), "RP: auth revoked").is "revoked"
    expect(bank:says(r.sign_serial), "RP: sign revoked").is "revoked"
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
