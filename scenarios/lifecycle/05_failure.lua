-- Case 5 (docs/domain.md#cases): the phone breaks.  Its SE can no longer be
-- reached (a broken phone runs nothing: no check-in), so its certificates
-- are revoked from another device (別端末) with the card — a remote
-- revocation: the CA revokes, the applet's deletion waits.  Twice: the
-- first broken phone from the holder's new phone reading the card over
-- NFC (before the new phone is issued), then that one, broken in turn,
-- from a PC reading the card through a reader.
local app = require "app"
local rp = require "rp"
local lifecycle = require "lifecycle"
local phone = require "phone"

return scenario {
  id = "LC-05", case = 5, title = "failure: the broken phone's certificates revoked from another device (the new phone, a PC with a reader)",
  tags = { "lifecycle", "revoke" }, needs = { "se", "se2", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operation = "revoke",
  run = function(w)
    local bank = rp.new(w)   -- statuses as a relying party sees them: OCSP, CRL, JSON API
    local function broken_revoked(ph, r, from, what)
      expect(ph:breaks(), what .. ": the phone breaks, its SE unpowered").is_true()
      lifecycle.unreached(w, ph, r.device, what .. ", broken", "broken")
      local v = app.revoke(w, from, ph.owner.card, { remote = true, device = r.device, reason = "cessationOfOperation" })
      expect(v.ok, what .. ": revoked from another device: " .. tostring(v.error)).is_true()
      expect(bank:says(r.auth_serial), what .. ": RP: auth revoked").is "revoked"
      expect(bank:says(r.sign_serial), what .. ": RP: sign revoked").is "revoked"
      local d = app.device(w, r.device)
      expect(d and d.status, what .. ": registry: revoked").is "revoked"
      expect(d and d.pending_delete, what .. ": registry: the applet's deletion waits for the phone").is(true)
    end
    local first, _, a = lifecycle.issued(w, 1, { auth = "7410", sign = "BROKEN123" })
    if not a then return end
    local second = lifecycle.handset(w, 2)
    broken_revoked(first, a, second, "phone 1 from the new phone")
    local pins = { auth = "8529", sign = "BROKEN456" }
    local b = app.issue(w, second, second.owner.card, { pins = pins })
    expect(b.ok, "the new phone issued: " .. tostring(b.error)).is_true()
    if not b.ok then return end
    expect(lifecycle.signs(w, second, "sign", pins.sign, "on the new phone"), "RP accepts the new phone's signature").is_true()
    broken_revoked(second, b.result, phone.pc(w), "phone 2 from a PC with a card reader")
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
