-- Resumable, idempotent sessions: the relay dies in the middle of the
-- personalisation script (part of it reached the SE), and later the TSM's
-- answer to a step is lost and the app posts the step again.  The TSM
-- re-reads the SE (new secure channel, inventory), sends only what is
-- missing, and answers a repeated step with the same answer; the result
-- is one clean issuance: the SE, the registry and the CA agree.
local app = require "app"
local rp = require "rp"

return scenario {
  id = "TSM-09", title = "a relay dying mid-script and a lost answer: retried without damage",
  tags = { "tsm", "issue", "resume" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operation = "issue",
  run = function(w)
    local bank = rp.new(w)
    local phone = app.phone(w)
    local card = app.card(w.card, w.profile.pins)
    local pins = { auth = "1234", sign = "RESUMED11" }
    -- step 3 is the card's authorisation, step 4 the personalisation script
    local o = { pins = pins, drop_at = 4, drop_after = 4, lose_answer_at = 5 }
    local r = app.issue(w, phone, card, o)
    expect(o.dropped and o.answer_lost, "the relay died and an answer was lost").is_true()
    expect(r.ok, "issued despite the relay: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    expect(r.result.slots[1] == 2 and r.result.slots[2] == 2, "SE: both slots ACTIVE").is_true()
    expect(bank:says(r.result.auth_serial), "CA: valid").is "valid"
    local s, list = w.ca:call("GET", "/v1/holders/" .. tostring(app.holder(w, card)) .. "/certs")
    local phone_certs = 0
    for _, c in ipairs(list.certs or {}) do
      if c.kind == "phone" and c.status == "valid" then phone_certs = phone_certs + 1 end
    end
    expect(phone_certs, "exactly two valid phone certificates: nothing issued twice").is(2)
    expect(app.sign(phone, "sign", pins.sign, "x") ~= nil, "the phone signs").is_true()
    -- A stale step number is refused with 409 naming the field.
    local st, e = w.tsm:call("POST", "/v1/tsm/sessions/" .. r.session .. "/steps", { step = 1 })
    expect(st, "stale step").is(409)
    expect(e.field).is "step"
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
