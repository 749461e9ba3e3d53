-- The phone's certificates expire with the card's (準用,
-- docs/card.md#phone-certificates): their notAfter is the card sign
-- certificate's.  The virtual clock moves one second past it.  A relying party
-- then sees every certificate expired (OCSP good, off the CRL, the JSON API
-- expired, past notAfter) and refuses what the phone key signs; the TSM's
-- registry follows at its next request (expired, card_expired, applet deletion
-- pending); the phone's next contact deletes the applet (force) or marks its
-- slots revoked with a warning (warn), and the app tells the holder why.  The
-- expired card authorises nothing more: a new phone is refused.  The
-- card certificate is one of the scenario's own, valid two days.
local app = require "app"
local rp = require "rp"
local clock = require "clock"

return scenario {
  id = "TSM-14", title = "expiry: the phone's certificates expire with the card's (準用)",
  tags = { "tsm", "time", "expiry", "linked" }, needs = { "se", "tsm" },
  operation = "issue", policies = { se_model = { "shared_isd", "ssd" }, delete_applet_on_revoke = { "force", "warn" } },
  run = function(w)
    local bank = rp.new(w)
    local pins = { auth = "2468", sign = "EXPIRY2026" }
    local phone, card, r = app.own_issued(w, "expiry", pins, clock.days(w, 2))
    expect(phone ~= nil, "issued on the scenario's own card certificate" .. (phone and "" or ": " .. tostring(card))).is_true()
    if not phone then return end
    local dev = r.result.device
    local _, cc = app.ca_status(w, card.serial)
    local before = clock.se_view(phone, pins, bank)
    expect(before.applet, "SE: the applet").is_true()
    expect(before.sign and before.sign.serial, "SE: the sign certificate the TSM wrote").is(clock.norm(r.result.sign_serial))
    expect(before.auth and before.auth.not_after, "準用: the phone's auth certificate ends with the card's")
      .is(cc.not_after)
    expect(before.sign and before.sign.not_after, "準用: the phone's sign certificate ends with the card's")
      .is(cc.not_after)
    expect(before.verdict and before.verdict.ok, "RP: the phone's signature accepted before expiry").is_true()

    -- Time passes: one second past the card certificate's notAfter.
    local _, now = clock.past(w, cc.not_after)
    expect(now > cc.not_after, "the clock is past the card's notAfter").is_true()
    local st, c = bank:says(card.serial)
    expect(st, "RP: the card's certificate").is "expired"
    expect(c.ocsp, "OCSP: good (an expired certificate is not revoked)").is "valid"
    st, c = bank:says(r.result.auth_serial)
    expect(st, "RP (OCSP, CRL, validity; JSON API): the phone's auth certificate").is "expired"
    expect(c.expired, "RP: past its notAfter").is_true()
    expect(bank:says(r.result.sign_serial), "RP: the phone's sign certificate").is "expired"
    local v = before.sign and bank:verify(before.sign.der, "after expiry", app.sign(phone, "sign", pins.sign, "after expiry"))
    expect(v and v.ok, "RP: what the expired key signs is refused").is(false)
    expect(v and v.validity, "RP: because the certificate is outside its validity").is(false)

    -- The TSM follows at its next request.
    local d = app.device(w, dev)
    expect(d.status, "registry: expired").is "expired"
    expect(d.reason, "registry: why").is "card_expired"
    expect(d.pending_delete, "registry: applet deletion pending").is_true()
    expect((app.check(w)), "registry and CA agree").is_true()
    expect(app.applet_present(phone), "not contacted yet: the applet is still there").is_true()

    -- The phone's next contact.
    local y = app.sync(w, phone)
    expect(y.ok, "check-in: " .. tostring(y.error)).is_true()
    if not y.ok then return end
    expect(y.result.pending_deletion, "pending deletion executed").is_true()
    expect(y.reason, "the TSM says why").is "card_expired"
    expect(y.notice, "the app tells the holder").is(app.reasons.card_expired)
    local after = clock.se_view(phone, pins, bank)
    d = app.device(w, dev)
    if (w.policy or {}).delete_applet_on_revoke == "warn" then
      expect(y.result.warning ~= nil, "warn: the holder is told to delete the applet").is_true()
      expect(after.applet, "SE: warn keeps the applet").is_true()
      expect(table.concat(y.result.slots or {}, ","), "SE: both slots marked revoked").is "3,3"
      expect(after.verdict and after.verdict.ok or false, "RP: the kept key's signature is refused").is(false)
      expect(d.applet, "registry: the applet is installed").is "installed"
    else
      expect(after.applet, "SE: the applet is deleted").is(false)
      expect(after.signs, "the phone signs no more").is(false)
      expect(d.applet, "registry: no applet").is "none"
    end
    expect(d.pending_delete, "registry: nothing pending").is(false)
    expect((app.check(w)), "registry, CA and SE agree").is_true()

    -- The expired card authorises nothing: a new phone is refused.
    local other = app.phone(w, app.new_se(w, 2))
    local n = app.issue(w, other, card, { pins = pins })
    expect(n.ok, "a new phone on the expired card certificate").is(false)
    expect(n.field, "refused naming the card certificate").is "card_serial"
    expect(app.applet_present(other), "SE: nothing installed on it").is(false)
  end,
}
