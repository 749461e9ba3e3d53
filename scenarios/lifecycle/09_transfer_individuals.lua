-- Case 9 (docs/domain.md#cases): transfer between individuals, done right:
-- Alice revokes before handing the phone to Bob (the applet is deleted), and
-- Bob sets up his own keys and certificates on it (invariant 3: nothing
-- of Alice's is usable by Bob).
local app = require "app"
local rp = require "rp"
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-09", case = 9, title = "transfer between individuals: Alice revokes, Bob issues",
  tags = { "lifecycle", "transfer" }, needs = { "se", "tsm" },
  operations = { "issue", "revoke" },
  run = function(w)
    local bank = rp.new(w)   -- statuses as a relying party sees them: OCSP, CRL, JSON API
    local apins = { auth = "1212", sign = "ALICEGIVES1" }
    local phone, alice, a = lifecycle.issued(w, 1, apins)
    if not a then return end
    local v = app.revoke(w, phone, alice, { reason = "cessationOfOperation" })
    expect(v.ok, "Alice revoked: " .. tostring(v.error)).is_true()
    expect(app.applet_present(phone), "handed over with no applet").is(false)

    local bob = app.card(w:open("sim:card?profile=" .. w:fixture("profiles/bob.lua")),
      { auth = "5678", sign = "BOBSIGN2026" })   -- fixtures/profiles/bob.lua
    local b = app.issue(w, phone, bob, { pins = { auth = "3434", sign = "BOBGETS12" } })
    expect(b.ok, "Bob issued: " .. tostring(b.error)).is_true()
    if not b.ok then return end
    expect(app.device(w, b.result.device).holder, "registry: Bob holds the phone").is "bob"
    expect(app.sign(phone, "sign", apins.sign, "x"), "Alice's PIN and keys are gone").is(nil)
    expect(app.sign(phone, "sign", "BOBGETS12", "x") ~= nil, "Bob signs").is_true()
    expect(bank:says(a.auth_serial), "RP: Alice's phone certificate revoked").is "revoked"
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
