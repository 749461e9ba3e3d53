-- Half-valid key pairs (docs/domain.md#flows, 課題 2): only the sign certificate
-- is revoked (an address change).  The applet cannot be deleted while the
-- auth pair is valid.  half_valid = block: the revoked slot stays, marked
-- revoked; erase_revoked: the TSM erases the revoked key and certificate.
-- Either way the auth certificate keeps working, the SE refuses DELETE.
local app = require "app"
local rp = require "rp"

local function run(w, policy)
  local bank = rp.new(w)
  local phone = app.phone(w)
  local card = app.card(w.card, w.profile.pins)
  local r = app.issue(w, phone, card, { pins = { auth = "2468", sign = "PHONEONE1" } })
  expect(r.ok, policy .. ": issued: " .. tostring(r.error)).is_true()
  if not r.ok then return end
  local v = app.revoke(w, phone, card, { certs = "sign", policy = { half_valid = policy } })
  expect(v.ok, policy .. ": sign revoked: " .. tostring(v.error)).is_true()
  if not v.ok then return end
  expect(v.result.status, "registry: half-valid").is "half"
  expect(v.result.slots[1], "SE: auth ACTIVE").is(2)
  expect(v.result.slots[2], "SE: sign slot").is(policy == "block" and 3 or 4)
  expect(bank:says(r.result.auth_serial), "CA: auth still valid").is "valid"
  expect(bank:says(r.result.sign_serial), "CA: sign revoked").is "revoked"
  expect(app.applet_present(phone), "SE: the applet stays").is_true()
  expect(app.sign(phone, "auth", "2468", "login") ~= nil, "the auth key still signs").is_true()
  if policy == "block" then
    expect(v.result.warning, "block: the holder is told why the applet stays").matches "cannot be deleted"
    expect(app.phone_cert(phone, "sign", "PHONEONE1") ~= nil, "block: the revoked certificate stays on the SE").is_true()
  else
    expect(app.phone_cert(phone, "sign", "PHONEONE1"), "erase_revoked: the SE no longer holds the sign certificate").is(nil)
  end
end

return scenario {
  id = "TSM-03", title = "half-valid: sign revoked alone, under block and erase_revoked",
  tags = { "tsm", "revoke", "half-valid", "policy" }, needs = { "se", "tsm" },
  operation = "revoke", policies = { se_model = { "shared_isd", "ssd" }, half_valid = { "block", "erase_revoked" } },
  run = function(w)
    run(w, "block")
    -- a second phone for the other policy
    local se2 = app.new_se(w, 2)
    local w2 = setmetatable({ se = se2 }, { __index = w })
    run(w2, "erase_revoked")
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
