-- 再発行 (operation 4): new certificates after revocation and after
-- expiry.  After a revocation (the holder's own, applet deleted) the same
-- valid card reissues.  After expiry the expired card authorises nothing
-- (409, card_serial); J-LIS gives the card a new certificate (a new key
-- pair on the card: after expiry there is nothing to renew) and the
-- phone is reissued from it, valid to the new card certificate's end.
-- Each step through the relying party (OCSP, CRL, JSON API), the
-- registry and what the SE holds.
local app = require "app"
local rp = require "rp"
local clock = require "clock"

return scenario {
  id = "TSM-17", title = "reissue after revocation and after expiry",
  tags = { "tsm", "time", "reissue", "expiry" }, needs = { "se", "tsm", "sim" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operations = { "reissue", "revoke" },
  run = function(w)
    local bank = rp.new(w)
    local pins = { auth = "8520", sign = "REISSUE2026" }

    -- After revocation.
    local phone, card, r = app.own_issued(w, "revoked", pins, clock.days(w, 100))
    expect(phone ~= nil, "issued on the scenario's own card certificate" .. (phone and "" or ": " .. tostring(card))).is_true()
    if not phone then return end
    local k = app.revoke(w, phone, card, {})
    expect(k.ok, "revoked: " .. tostring(k.error)).is_true()
    expect(bank:says(r.result.sign_serial), "RP: revoked").is "revoked"
    expect(app.applet_present(phone), "SE: the applet deleted (force)").is(false)
    local n = app.reissue(w, phone, card, { pins = pins })
    expect(n.ok, "reissued after revocation: " .. tostring(n.error)).is_true()
    if not n.ok then return end
    expect(bank:says(n.result.sign_serial), "RP: the reissued sign certificate").is "valid"
    expect(bank:says(n.result.auth_serial), "RP: the reissued auth certificate").is "valid"
    expect(bank:says(r.result.sign_serial), "RP: the revoked one stays revoked").is "revoked"
    local v = clock.se_view(phone, pins, bank)
    expect(v.applet, "SE: the applet again").is_true()
    expect(v.sign and v.sign.serial, "SE: the reissued certificate").is(clock.norm(n.result.sign_serial))
    expect(v.verdict and v.verdict.ok, "RP: the reissued key's signature accepted").is_true()
    expect(app.device(w, n.result.device).status, "registry: active").is "active"

    -- After expiry (another holder of the scenario's own, another phone).
    local base = app.card(w.card, w.profile.pins)
    local lapsed = app.own_card(w, base, "lapsed", nil, clock.days(w, 2))
    local lphone = app.phone(w, app.new_se(w, 2))
    local lr = lapsed and app.issue(w, lphone, lapsed, { pins = pins })
    expect(lr and lr.ok, "the second phone issued").is_true()
    if not (lr and lr.ok) then return end
    local _, lc = app.ca_status(w, lapsed.serial)
    clock.past(w, lc.not_after, 86400)
    expect(bank:says(lr.result.sign_serial), "RP: the phone's certificate expired").is "expired"
    local d = app.device(w, lr.result.device)
    expect(d.status, "registry: expired").is "expired"
    local x = app.reissue(w, lphone, lapsed, { pins = pins })
    expect(x.ok, "the expired card certificate authorises no reissue").is(false)
    expect(x.field, "refused naming the card certificate").is "card_serial"
    local fresh, why = clock.renew_card(w, lapsed, "lapsed", { renews = false })
    expect(fresh ~= nil, "the card's new certificate: " .. tostring(why)).is_true()
    if not fresh then return end
    expect(app.card_serial(fresh), "the card holds the new certificate").is(fresh.serial)
    expect(bank:says(fresh.serial), "RP: the new card certificate").is "valid"
    local m = app.reissue(w, lphone, fresh, { pins = pins })
    expect(m.ok, "reissued after expiry: " .. tostring(m.error)).is_true()
    if not m.ok then return end
    expect(bank:says(m.result.sign_serial), "RP: the reissued sign certificate").is "valid"
    expect(bank:says(lr.result.sign_serial), "RP: the old one stays expired").is "expired"
    local _, fc = app.ca_status(w, fresh.serial)
    v = clock.se_view(lphone, pins, bank)
    expect(v.sign and v.sign.serial, "SE: the reissued certificate").is(clock.norm(m.result.sign_serial))
    expect(v.sign and v.sign.not_after, "準用: valid to the new card certificate's end").is(fc.not_after)
    expect(v.verdict and v.verdict.ok, "RP: the reissued key's signature accepted").is_true()
    d = app.device(w, m.result.device)
    expect(d.status, "registry: active").is "active"
    expect(d.card_serial, "registry: linked to the new card certificate").is(fresh.serial)
    expect((app.check(w)), "registry, CA and SE agree").is_true()
  end,
}
