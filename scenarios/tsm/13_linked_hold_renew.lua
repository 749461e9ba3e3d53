-- The card's sign certificate on hold, then renewed (operation 3/5 of the
-- card reaching the phone, docs/domain.md#flows,
-- docs/card.md#phone-certificates), under delete_applet_on_revoke = warn.  The
-- CA does not propagate a hold: the TSM, at its next request, holds the linked
-- phone certificates itself (registry hold, reason card_held); the SE is left
-- alone.  A held sign certificate is not lifted (the CA refuses): J-LIS renews
-- it, which revokes the old one and the phone's by the linkage (superseded);
-- the registry says revoked, card_renewed.  The phone's next contact marks
-- both slots revoked (warn: the applet is kept, with a warning; as in
-- TSM-02 the key may still sign, the relying party refuses it); a reissue with the renewed card certificate gives
-- the phone new keys and certificates.
local app = require "app"
local rp = require "rp"

return scenario {
  id = "TSM-13", title = "the card's sign certificate held, then renewed: the phone follows (warn)",
  tags = { "tsm", "hold", "renew", "linked", "operation" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operations = { "renew", "reissue", "suspend_resume" }, policy = { delete_applet_on_revoke = "warn" },
  run = function(w)
    local bank = rp.new(w)
    local pins = { auth = "8642", sign = "HOLDRENEW1" }
    local phone, card, r, base = app.own_issued(w, "held", pins)
    expect(phone ~= nil, "issued on the scenario's own card certificate" .. (phone and "" or ": " .. tostring(card))).is_true()
    if not phone then return end
    local dev = r.result.device

    -- J-LIS suspends the card's sign certificate.
    local s = w.ca:call("POST", "/v1/certs/" .. card.serial .. "/hold", {})
    expect(s, "CA: the card's sign certificate on hold").is(200)
    -- The TSM learns it at its next request (here the registry's read):
    -- it holds the linked phone certificates itself.
    local d = app.device(w, dev)
    expect(d.status, "registry: hold").is "hold"
    expect(d.reason, "registry: why").is "card_held"
    expect(bank:says(r.result.auth_serial), "RP: the phone's auth certificate held").is "hold"
    expect(bank:says(r.result.sign_serial), "RP: the phone's sign certificate held").is "hold"
    expect((app.check(w)), "registry and CA agree on hold").is_true()
    local y = app.sync(w, phone)
    expect(y.ok, "check-in: " .. tostring(y.error)).is_true()
    expect(y.reason, "the TSM says why").is "card_held"
    expect(app.applet_present(phone), "a hold leaves the SE alone").is_true()
    local sig = app.sign(phone, "sign", pins.sign, "held")
    local der = app.phone_cert(phone, "sign", pins.sign)
    expect(sig ~= nil and der ~= nil, "the SE still signs").is_true()
    if sig and der then
      expect(bank:verify(der, "held", sig).ok, "RP: a signature by a held key is refused").is(false)
    end

    -- A held sign certificate is not reinstated: J-LIS renews it.
    s = w.ca:call("POST", "/v1/certs/" .. card.serial .. "/lift", {})
    expect(s, "CA: a held card sign certificate is not lifted").is(422)
    local renewed, rwhy = app.own_card(w, base, "held", card.serial)
    expect(renewed ~= nil, "the card's certificate renewed: " .. tostring(rwhy)).is_true()
    if not renewed then return end
    expect(bank:says(card.serial), "RP: the old card certificate").is "revoked"
    local st, a = bank:says(r.result.auth_serial)
    expect(st, "RP: the phone's auth certificate revoked by the linkage").is "revoked"
    expect(a.reason, "superseded").is "superseded"
    expect(bank:says(r.result.sign_serial), "RP: the phone's sign certificate").is "revoked"
    d = app.device(w, dev)
    expect(d.status, "registry: revoked").is "revoked"
    expect(d.reason, "registry: why").is "card_renewed"
    expect((app.check(w)), "registry and CA agree").is_true()

    -- The phone's next contact, under warn: slots revoked, applet kept.
    y = app.sync(w, phone)
    expect(y.ok, "check-in: " .. tostring(y.error)).is_true()
    if not y.ok then return end
    expect(y.result.pending_deletion, "pending work executed").is_true()
    expect(y.reason, "the TSM says why").is "card_renewed"
    expect(y.notice ~= nil, "the app tells the holder: " .. tostring(y.notice)).is_true()
    local k = app.kept_applet(phone, y, pins.sign, der, bank)
    expect(k.warning ~= nil, "warn: the holder is told to delete the applet").is_true()
    expect(table.concat(k.slots, ","), "SE: both slots revoked").is "3,3"
    expect(k.applet, "warn: the applet is kept").is_true()
    expect(k.accepted, "RP: what the revoked key signs is refused (as TSM-02)").is(false)
    expect((app.check(w)), "registry and CA agree").is_true()

    -- Seed §4: the phone then gets new certificates, from the renewed card certificate.
    local n = app.reissue(w, phone, renewed, { pins = pins })
    expect(n.ok, "reissued: " .. tostring(n.error)).is_true()
    if not n.ok then return end
    expect(n.result.status).is "active"
    expect(n.reason, "nothing to tell any more").is(nil)
    expect(bank:says(n.result.sign_serial), "RP: the new sign certificate").is "valid"
    expect(app.sign(phone, "sign", pins.sign, "again") ~= nil, "the phone signs again").is_true()
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
