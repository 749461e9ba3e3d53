-- Case 8 (docs/domain.md#cases): resale (転売) without revocation, the window
-- between the sale and the new owner's issuance (TSM-08 covers the
-- issuance that closes it).  The phone reaches its new owner with the
-- previous owner's applet, keys and certificates in its SE.  The new
-- owner knows none of the PINs: wrong guesses lock both PINs, the lock
-- survives a power loss, and then not even the right PIN opens them —
-- the previous owner's keys sign nothing for the new owner (invariant
-- 3).  The new owner then sets up keys of their own with their own card:
-- the TSM revokes the previous owner's certificates and replaces the
-- applet, and the new owner's signature is accepted.
local app = require "app"
local rp = require "rp"
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-08", case = 8, title = "resale without revocation: the window before the new owner's issuance",
  tags = { "lifecycle", "transfer" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operations = { "issue", "revoke" },
  run = function(w)
    local bank = rp.new(w)   -- statuses as a relying party sees them: OCSP, CRL, JSON API
    local pins = { auth = "4826", sign = "SELLER123" }
    local ph, _, a = lifecycle.issued(w, 1, pins)
    if not a then return end
    local seller = (app.device(w, a.device) or {}).holder
    local buyer = lifecycle.other_owner(w, "buyer")   -- another holder, with a card of their own
    ph:hand_to(buyer)                                 -- sold on, nothing revoked

    -- The window: the buyer tries the phone's PINs, knowing none.
    local guess = require("phone").stranger("buyer").guess
    for _, which in ipairs { "auth", "sign" } do
      local tries, n = lifecycle.phone_retries(ph, which), 0
      expect(tries, "SE: the seller's " .. which .. " PIN has tries left").gt(0)
      while tries and tries > 0 and n < 20 do
        n = n + 1
        expect(app.sign(ph, which, guess(which, n), "buyer"), "a guessed " .. which .. " PIN signs nothing").is(nil)
        tries = lifecycle.phone_retries(ph, which)
      end
      expect(tries, "SE: the seller's " .. which .. " PIN blocked after " .. n .. " guesses").is(0)
    end
    local ch = lifecycle.mark(ph.se)
    expect(ph:reboot(), "power lost: the handset restarts").is_true()
    expect(ch and lifecycle.reset_since(ph.se, ch), "SE: the power cycle reset it").is_true()
    expect(lifecycle.phone_retries(ph, "auth"), "SE: auth PIN still blocked after power loss").is(0)
    expect(lifecycle.phone_retries(ph, "sign"), "SE: sign PIN still blocked after power loss").is(0)
    expect(app.sign(ph, "sign", pins.sign, "buyer"), "even the seller's right PIN signs nothing now").is(nil)
    expect(bank:says(a.sign_serial), "RP: the seller's certificate is still valid in the window").is "valid"

    -- The buyer's own issuance closes the window.
    local bpins = { auth = "6391", sign = "BUYER1234" }
    local b = app.issue(w, ph, buyer.card, { pins = bpins })
    expect(b.ok, "the buyer issued: " .. tostring(b.error)).is_true()
    if not b.ok then return end
    local st, c = bank:says(a.auth_serial)
    expect(st, "RP: the seller's auth revoked").is "revoked"
    expect(c and c.reason, "RP: why").is "cessationOfOperation"
    expect(bank:says(a.sign_serial), "RP: the seller's sign revoked").is "revoked"
    local d = app.device(w, b.result.device) or {}
    expect(d.card_serial, "registry: linked to the buyer's card").is(app.card_serial(buyer.card))
    expect(d.holder, "registry: no longer the seller's").isnt(seller)
    expect(lifecycle.phone_retries(ph, "auth"), "SE: a fresh auth PIN, 3 tries").is(3)
    expect(app.sign(ph, "auth", pins.auth, "seller"), "the seller's PIN signs nothing").is(nil)
    expect(lifecycle.signs(w, ph, "sign", bpins.sign, "the buyer's contract"), "RP accepts the buyer's signature").is_true()
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
