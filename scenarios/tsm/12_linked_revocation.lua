-- Linked revocation (連動失効: docs/domain.md#flows,
-- docs/card.md#phone-certificates): the card is reported lost and J-LIS revokes
-- its sign certificate at the CA. The CA revokes the phone certificates linked
-- to it; the TSM's registry follows at its next request (revoked, reason
-- card_revoked, applet deletion pending); at the phone's next contact (the
-- app's check-in) the applet is deleted (delete_applet_on_revoke = force; under
-- warn its slots are marked revoked and the holder warned) and the app tells
-- the holder why; the phone's key signs nothing a relying party accepts.  The
-- card certificate is one of the scenario's own holder (app.own_card): a
-- served CA is shared by the run's scenarios.
local app = require "app"
local rp = require "rp"

return scenario {
  id = "TSM-12", title = "linked revocation: the card's sign certificate revoked, the phone follows",
  tags = { "tsm", "revoke", "linked", "operation" }, needs = { "se", "tsm" },
  operation = "revoke", policies = { se_model = { "shared_isd", "ssd" }, delete_applet_on_revoke = { "force", "warn" } },
  run = function(w)
    local bank = rp.new(w)
    local pins = { auth = "7531", sign = "LINKED2026" }
    local phone, card, r = app.own_issued(w, "lost", pins)
    expect(phone ~= nil, "issued on the scenario's own card certificate" .. (phone and "" or ": " .. tostring(card))).is_true()
    if not phone then return end
    local dev = r.result.device
    expect(app.sign(phone, "sign", pins.sign, "before") ~= nil, "the phone signs").is_true()

    -- J-LIS, on the holder's report of the card's loss.
    local s, c = w.ca:call("POST", "/v1/certs/" .. card.serial .. "/revoke", { reason = "keyCompromise" })
    expect(s, "CA: the card's sign certificate revoked").is(200)
    expect(c and c.linked and #c.linked, "CA: two phone certificates linked").is(2)
    expect(bank:says(card.serial), "RP: the card's certificate").is "revoked"
    local st, a = bank:says(r.result.auth_serial)
    expect(st, "RP (OCSP, CRL, JSON): the phone's auth certificate").is "revoked"
    expect(a.reason, "with the card's reason").is "keyCompromise"
    expect(bank:says(r.result.sign_serial), "RP: the phone's sign certificate").is "revoked"

    local d = app.device(w, dev)
    expect(d.status, "registry: revoked").is "revoked"
    expect(d.reason, "registry: why").is "card_revoked"
    expect(d.pending_delete, "registry: applet deletion pending").is_true()
    expect((app.check(w)), "registry and CA agree").is_true()
    expect(app.applet_present(phone), "not contacted yet: the applet is still there").is_true()
    local sig = app.sign(phone, "sign", pins.sign, "meanwhile")
    local der = app.phone_cert(phone, "sign", pins.sign)
    if sig and der then
      local v = bank:verify(der, "meanwhile", sig)
      expect(v.ok, "RP: a signature by the revoked key is refused").is(false)
    end

    -- The phone's next contact: the app's check-in.
    local y = app.sync(w, phone)
    expect(y.ok, "check-in: " .. tostring(y.error)).is_true()
    if not y.ok then return end
    expect(y.result.pending_deletion, "pending deletion executed").is_true()
    expect(y.reason, "the TSM says why").is "card_revoked"
    expect(y.notice ~= nil, "the app tells the holder: " .. tostring(y.notice)).is_true()
    d = app.device(w, dev)
    if (w.policy or {}).delete_applet_on_revoke == "warn" then
      -- warn (as TSM-02): the applet kept, its slots revoked, a warning;
      -- the key may still sign, its certificate is revoked.
      local k = app.kept_applet(phone, y, pins.sign, der, bank)
      expect(k.warning ~= nil, "warn: the holder is told to delete the applet").is_true()
      expect(k.slots[1] == 3 and k.slots[2] == 3, "SE: both slots revoked").is_true()
      expect(k.applet, "warn: the applet is kept").is_true()
      expect(k.accepted, "RP: what the revoked key signs is refused").is(false)
      expect(d.applet, "registry: the applet is installed").is "installed"
    else
      expect(app.applet_present(phone), "SE: the applet is gone").is(false)
      expect(app.sign(phone, "sign", pins.sign, "after"), "the phone signs no more").is(nil)
      expect(d.applet, "registry: no applet").is "none"
    end
    expect(d.pending_delete, "registry: nothing pending").is(false)
    expect((app.check(w)), "registry, CA and SE agree").is_true()
  end,
}
