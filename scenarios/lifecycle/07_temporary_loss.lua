-- Case 7 (docs/domain.md#cases): temporary loss.  Hold by the call centre;
-- found, the holder lifts it: the auth certificate is reinstated, the sign
-- certificate reissued (docs/card.md#phone-certificates), and the phone signs
-- again.
local app = require "app"
local rp = require "rp"
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-07", case = 7, title = "temporary loss: hold, found, lift",
  tags = { "lifecycle", "hold", "lift" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operation = "suspend_resume",
  run = function(w)
    local bank = rp.new(w)   -- statuses as a relying party sees them: OCSP, CRL, JSON API
    local pins = { auth = "9630", sign = "FOUNDIT12" }
    local phone, card, r = lifecycle.issued(w, 1, pins)
    if not r then return end
    local holder = (app.device(w, r.device) or {}).holder   -- the registry's name for the card's holder
    phone:lose()
    expect(app.hold(w, holder), "call centre: hold").is(200)
    expect(bank:says(r.sign_serial), "RP: sign on hold").is "hold"
    phone:found_by(phone.owner)
    local l = app.lift(w, phone, card, { pins = pins })
    expect(l.ok, "lifted: " .. tostring(l.error)).is_true()
    if not l.ok then return end
    expect(bank:says(r.auth_serial), "RP: the same auth certificate valid again").is "valid"
    expect(bank:says(r.sign_serial), "RP: the old sign certificate revoked").is "revoked"
    expect(bank:says(l.result.sign_serial), "RP: the reissued sign certificate valid").is "valid"
    expect(app.sign(phone, "sign", pins.sign, "found") ~= nil, "the phone signs again").is_true()
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
