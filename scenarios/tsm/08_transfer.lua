-- Transfer by resale without revocation (case 8 and invariant 3 of
-- docs/domain.md): Alice's phone goes to Bob with her applet in it.  Bob issues
-- his own: the TSM revokes Alice's certificates, deletes her applet and
-- installs a fresh one for Bob.  Alice's PIN and keys are gone; Bob's work.
local app = require "app"
local rp = require "rp"

return scenario {
  id = "TSM-08", title = "resale without revocation: the new owner's issuance removes the previous owner's",
  tags = { "tsm", "transfer", "lifecycle" }, case = 8, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operations = { "issue", "revoke" },
  run = function(w)
    local bank = rp.new(w)
    local phone = app.phone(w)
    local alice = app.card(w.card, w.profile.pins)
    local a = app.issue(w, phone, alice, { pins = { auth = "1111", sign = "ALICEPIN1" } })
    expect(a.ok, "Alice issued: " .. tostring(a.error)).is_true()
    if not a.ok then return end
    local bob = app.other_card(w)   -- another holder's card (bob's, alice's when bob's is bound)
    local bobs = app.card_serial(bob)
    expect(bobs ~= nil, "Bob's card sign certificate").is_true()
    if not bobs then return end
    local b = app.issue(w, phone, bob, { pins = { auth = "2222", sign = "BOBPHONE2" } })
    expect(b.ok, "Bob issued: " .. tostring(b.error)).is_true()
    if not b.ok then return end
    local st, c = bank:says(a.result.auth_serial)
    expect(st, "CA: Alice's auth revoked").is "revoked"
    expect(c.reason).is "cessationOfOperation"
    expect(bank:says(a.result.sign_serial), "CA: Alice's sign revoked").is "revoked"
    expect(app.device(w, b.result.device).holder, "registry: Bob holds the phone").is(app.holder(w, bob))
    expect(app.sign(phone, "sign", "ALICEPIN1", "x"), "Alice's PIN is gone").is(nil)
    expect(app.sign(phone, "sign", "BOBPHONE2", "x") ~= nil, "Bob's PIN signs").is_true()
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
