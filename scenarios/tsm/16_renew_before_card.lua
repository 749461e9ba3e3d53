-- 更新 tried before the card's certificate was renewed (docs/domain.md#flows:
-- the SP-TSM checks the phone certificates' status itself), both branches:
--   * the card certificate far from its end (more than 3 months left):
--     the TSM finds the phone's certificates valid, revokes them itself
--     (superseded) and issues new ones from the same card certificate;
--   * the card certificate in its last 3 months, or expired: refused
--     (409, card_serial: renew the card's certificate first), since new
--     phone certificates would expire with it; nothing changes anywhere.
-- Two holders of the scenario's own: one valid 100 days, one 2 days; the
-- clock then moves 15 days (85 days left for the first, the second
-- expired).
local app = require "app"
local rp = require "rp"
local clock = require "clock"
local snap = require "snapshot"

return scenario {
  id = "TSM-16", title = "renew before the card's renewal: the TSM's own check, allowed far from expiry, refused near it",
  tags = { "tsm", "time", "renew" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operation = "renew",
  run = function(w)
    local bank = rp.new(w)
    local pins = { auth = "7410", sign = "EARLY2026" }
    local phone, card, r, base = app.own_issued(w, "early", pins, clock.days(w, 100))
    expect(phone ~= nil, "issued on the scenario's own card certificate" .. (phone and "" or ": " .. tostring(card))).is_true()
    if not phone then return end
    local late = app.own_card(w, base, "late", nil, clock.days(w, 2))
    local lphone = app.phone(w, app.new_se(w, 2))
    local lr = late and app.issue(w, lphone, late, { pins = pins })
    expect(lr and lr.ok, "the second holder's phone issued").is_true()
    if not (lr and lr.ok) then return end

    -- Far from the card's end: the TSM revokes the valid certificates itself.
    local n = app.renew(w, phone, card, { pins = pins })
    expect(n.ok, "renewed: " .. tostring(n.error)).is_true()
    if not n.ok then return end
    expect(n.result.revoked_by_tsm, "the TSM found them valid and revoked them itself").is_true()
    local st, c = bank:says(r.result.sign_serial)
    expect(st, "RP: the old sign certificate").is "revoked"
    expect(c.reason, "superseded").is "superseded"
    expect(bank:says(r.result.auth_serial), "RP: the old auth certificate").is "revoked"
    expect(bank:says(n.result.sign_serial), "RP: the new sign certificate").is "valid"
    local _, cc = app.ca_status(w, card.serial)
    local v = clock.se_view(phone, pins, bank)
    expect(v.sign and v.sign.serial, "SE: the new sign certificate").is(clock.norm(n.result.sign_serial))
    expect(v.sign and v.sign.not_after, "準用: still the card's notAfter").is(cc.not_after)
    expect(v.verdict and v.verdict.ok, "RP: the new key's signature accepted").is_true()

    -- 15 days on: the first card certificate is in its last 3 months,
    -- the second has expired.
    clock.advance(w, 15 * 86400)
    expect(bank:says(late.serial), "RP: the second card certificate").is "expired"
    app.check(w) -- the TSM follows the CA before the snapshot
    local spec = { phones = { early = phone, late = lphone }, holders = { card.holder, late.holder } }
    local before = snap.take(w, spec)
    local x = app.renew(w, phone, card, { pins = pins })
    expect(x.ok, "renew in the card's last 3 months").is(false)
    expect(x.status, "refused: 409").is(409)
    expect(x.field, "naming the card certificate").is "card_serial"
    expect(tostring(x.error):find("renew the card's certificate first", 1, true) ~= nil,
      "the error says why: " .. tostring(x.error)).is_true()
    local y = app.renew(w, lphone, late, { pins = pins })
    expect(y.ok, "renew with an expired card certificate").is(false)
    expect(y.status, "refused: 409").is(409)
    expect(y.field, "naming the card certificate").is "card_serial"
    expect(snap.diff(before, snap.take(w, spec)), "nothing changed anywhere").is(nil)
    expect(bank:says(n.result.sign_serial), "RP: the phone's certificate still valid").is "valid"
    v = clock.se_view(phone, pins, bank)
    expect(v.verdict and v.verdict.ok, "RP: the phone still signs acceptably").is_true()
    expect(app.device(w, lr.result.device).status, "registry: the second phone expired").is "expired"
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
