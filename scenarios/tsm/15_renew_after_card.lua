-- 更新, the normal path of docs/domain.md#flows: the card's certificate is
-- renewed first (J-LIS, in its last 3 months: a new key pair on the card, a new
-- certificate written into it), which revokes the phone's by the linkage
-- (superseded); then the phone's renewal (op renew) issues new
-- certificates from the renewed card certificate.  Checked as a relying
-- party sees it (OCSP, CRL, JSON API), in the registry and on the SE: the
-- card now holds and signs with its new key, the phone holds the new
-- certificates, valid to the new card certificate's notAfter (準用), and
-- its new signature is accepted while the old key's is not.
local app = require "app"
local rp = require "rp"
local clock = require "clock"
local jpki = require "jpki"

return scenario {
  id = "TSM-15", title = "renew, the normal path: the card renewed first, the phone's linked-revoked, then renewed",
  tags = { "tsm", "time", "renew", "linked" }, needs = { "se", "tsm", "sim" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operation = "renew",
  run = function(w)
    local bank = rp.new(w)
    local pins = { auth = "1593", sign = "RENEWAL2026" }
    local phone, card, r = app.own_issued(w, "renewal", pins, clock.days(w, 100))
    expect(phone ~= nil, "issued on the scenario's own card certificate" .. (phone and "" or ": " .. tostring(card))).is_true()
    if not phone then return end
    local dev = r.result.device
    local old = clock.se_view(phone, pins, bank)

    -- Time passes into the card certificate's last 3 months; J-LIS renews it.
    clock.advance(w, 15 * 86400)
    local renewed, why = clock.renew_card(w, card, "renewal")
    expect(renewed ~= nil, "the card's sign certificate renewed: " .. tostring(why)).is_true()
    if not renewed then return end
    expect(app.card_serial(renewed), "the card holds the new certificate").is(renewed.serial)
    local sig = (jpki.select(card.link) and jpki.verify(card.link, "sign", card.pins.sign))
      and jpki.sign(card.link, "sign", "renewed card")
    expect(sig and mynahil.crypto.verify(renewed.der, "sha256", "renewed card", sig),
      "the card signs with its new key under the new certificate").is_true()
    local st, c = bank:says(card.serial)
    expect(st, "RP: the old card certificate").is "revoked"
    expect(c.reason, "superseded by the renewal").is "superseded"
    expect(bank:says(renewed.serial), "RP: the new card certificate").is "valid"
    st, c = bank:says(r.result.auth_serial)
    expect(st, "RP: the phone's auth certificate revoked by the linkage").is "revoked"
    expect(c.reason).is "superseded"
    expect(bank:says(r.result.sign_serial), "RP: the phone's sign certificate").is "revoked"
    local d = app.device(w, dev)
    expect(d.status, "registry: revoked").is "revoked"
    expect(d.reason, "registry: why").is "card_renewed"
    expect((app.check(w)), "registry and CA agree").is_true()

    -- The phone's renewal, authorised by the renewed card.
    local n = app.renew(w, phone, renewed, { pins = pins })
    expect(n.ok, "renewed: " .. tostring(n.error)).is_true()
    if not n.ok then return end
    expect(n.result.revoked_by_tsm, "nothing left for the TSM to revoke").is(false)
    expect(n.result.status, "registry: active").is "active"
    expect(n.reason, "nothing to tell any more").is(nil)
    expect(n.result.auth_serial ~= r.result.auth_serial, "a new auth certificate").is_true()
    st, c = bank:says(n.result.auth_serial)
    expect(st, "RP: the new auth certificate").is "valid"
    expect(c.ocsp, "OCSP: good").is "valid"
    expect(bank:says(n.result.sign_serial), "RP: the new sign certificate").is "valid"
    local _, nc = app.ca_status(w, n.result.sign_serial)
    expect(nc.card_serial, "CA: linked to the renewed card certificate").is(renewed.serial)
    local _, rc = app.ca_status(w, renewed.serial)
    local now = clock.se_view(phone, pins, bank)
    expect(now.applet, "SE: the applet").is_true()
    expect(now.sign and now.sign.serial, "SE: holds the new sign certificate").is(clock.norm(n.result.sign_serial))
    expect(now.auth and now.auth.serial, "SE: holds the new auth certificate").is(clock.norm(n.result.auth_serial))
    expect(now.sign and now.sign.not_after, "準用: the new certificates end with the renewed card's").is(rc.not_after)
    expect(now.verdict and now.verdict.ok, "RP: the phone's new signature accepted").is_true()
    if old.sign then
      local v = bank:verify(old.sign.der, "clock.se_view", app.sign(phone, "sign", pins.sign, "clock.se_view"))
      expect(v.ok, "RP: the old certificate does not vouch for the phone any more").is(false)
    end
    d = app.device(w, dev)
    expect(d.card_serial, "registry: the device follows the renewed card certificate").is(renewed.serial)
    expect((app.check(w)), "registry, CA and SE agree").is_true()
  end,
}
