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
  policies = { se_model = { "shared_isd", "ssd" } },
  operations = { "issue", "revoke" },
  run = function(w)
    local bank = rp.new(w)   -- statuses as a relying party sees them: OCSP, CRL, JSON API
    local apins = { auth = "1212", sign = "ALICEGIVES1" }
    local phone, _, a = lifecycle.issued_revoked(w, apins, "Alice's phone, before it is handed over")
    if not a then return end

    local alice_holder = (app.device(w, a.device) or {}).holder
    local bob = lifecycle.other_owner(w, "bob")   -- another holder's card than the bound one
    phone:hand_to(bob)
    local b = app.issue(w, phone, bob.card, { pins = { auth = "3434", sign = "BOBGETS12" } })
    expect(b.ok, "Bob issued: " .. tostring(b.error)).is_true()
    if not b.ok then return end
    local d = app.device(w, b.result.device) or {}
    expect(d.card_serial, "registry: the phone is linked to Bob's card").is(app.card_serial(bob.card))
    expect(d.holder, "registry: no longer Alice's").isnt(alice_holder)
    expect(app.sign(phone, "sign", apins.sign, "x"), "Alice's PIN and keys are gone").is(nil)
    expect(lifecycle.signs(w, phone, "sign", "BOBGETS12", "Bob's"), "RP accepts Bob's signature").is_true()
    expect(bank:says(a.auth_serial), "RP: Alice's phone certificate revoked").is "revoked"
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
