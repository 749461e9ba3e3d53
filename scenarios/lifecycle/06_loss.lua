-- Case 6 (docs/domain.md#cases): loss, not found.  The call centre puts the
-- certificates on hold at once; the phone stays lost, so they are then
-- revoked (remotely, with the card).
local app = require "app"
local rp = require "rp"
local lifecycle = require "lifecycle"
local actor = require "phone"

return scenario {
  id = "LC-06", case = 6, title = "loss, not found: hold, then revoke",
  tags = { "lifecycle", "hold", "revoke" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operations = { "revoke", "suspend_resume" },
  run = function(w)
    local bank = rp.new(w)   -- statuses as a relying party sees them: OCSP, CRL, JSON API
    local phone, card, r = lifecycle.issued(w, 1, { auth = "8520", sign = "LOSTPHONE1" })
    if not r then return end
    local holder = (app.device(w, r.device) or {}).holder   -- the registry's name for the card's holder
    phone:lose()
    expect(app.hold(w, holder), "call centre: hold").is(200)
    expect(bank:says(r.auth_serial), "RP: auth on hold").is "hold"
    expect(bank:says(r.sign_serial), "RP: sign on hold").is "hold"
    -- not found: revoked from a PC reading the card through a reader
    local v = app.revoke(w, actor.pc(w), card, { remote = true, device = r.device, reason = "keyCompromise" })
    expect(v.ok, "revoked: " .. tostring(v.error)).is_true()
    local st, c = bank:says(r.auth_serial)
    expect(st, "RP: auth revoked").is "revoked"
    expect(c and c.reason, "RP: reason").is "keyCompromise"
    expect(bank:says(r.sign_serial), "RP: sign revoked").is "revoked"
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
