-- Refusals (issue 10 point 5), the card side: another holder's card, a
-- forged signature, a replayed one, a minor's card, a PIN reset without
-- the card.  Each is refused with the error docs/tsm.md gives it, and
-- nothing changes anywhere: the registry, the CA's certificates of both
-- holders, the SE of both phones (applet, presence EF, PIN counters, NVM
-- writes) and the cards' PIN counters are the same before and after
-- (scenarios/lib/snapshot.lua).
local app = require "app"
local rp = require "rp"
local jpki = require "jpki"
local snap = require "snapshot"

return scenario {
  id = "TSM-20", title = "refused: another holder's card, forged or replayed signature, minor's card, reset without card",
  tags = { "tsm", "refusal" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operations = { "issue", "revoke", "renew", "reissue", "suspend_resume", "pin_reset" },
  run = function(w)
    local bank = rp.new(w)
    local alice = app.card(w.card, w.profile.pins)
    local bob = app.other_card(w)   -- another holder's card (bob's, alice's when bob's is bound)
    local chika = app.card(w:open("sim:card?profile=" .. w:fixture("profiles/chika.lua")),
      { auth = "2468" })                         -- a minor: no sign certificate
    local phone, other = app.phone(w), app.phone(w, app.new_se(w, 2))
    local pins = { auth = "1470", sign = "REFUSED20" }
    local r = app.issue(w, phone, alice, { pins = pins })
    expect(r.ok, "alice's phone issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    expect(app.sync(w, other).ok, "the other phone's first contact (registered)").is_true()
    local spec = { phones = { alice = phone, other = other }, holders = { app.holder(w, alice), app.holder(w, bob) },
                   cards = { alice = alice, bob = bob } }

    -- Each refusal: its status and field, and the world unchanged.
    local function refused(what, res, status, field)
      expect(res.ok, what .. ": refused").is(false)
      expect(res.status, what .. ": status").is(status)
      expect(res.field, what .. ": the field named").is(field)
    end
    local function unchanged(what, before)
      expect(snap.diff(before, snap.take(w, spec)), what .. ": nothing changed anywhere").is(nil)
    end

    -- Another holder's card on alice's phone.
    for _, op in ipairs { "revoke", "pin_reset", "lift", "renew" } do
      local before = snap.take(w, spec)
      local x = app.session(w, phone, bob, op, { pins = { auth = "9999", sign = "BOBTRIES1" }, slot = "sign" })
      refused("bob's card, " .. op .. " on alice's phone", x, op == "renew" and 409 or 403,
              op == "renew" and "op" or "card_serial")
      unchanged("bob's card, " .. op, before)
    end
    expect(bank:says(r.result.auth_serial), "RP: alice's auth certificate still valid").is "valid"
    expect(bank:says(r.result.sign_serial), "RP: alice's sign certificate still valid").is "valid"

    -- A forged signature: alice's card serial, signed by bob's card.
    local function bobs(a) return app.card_sign_with(bob, a.digest_infos) end
    for _, case in ipairs { { "revoke", phone }, { "pin_reset", phone }, { "issue", other } } do
      local before = snap.take(w, spec)
      local x = app.session(w, case[2], alice, case[1], { pins = pins, slot = "auth", sign_with = bobs })
      refused("forged signature, " .. case[1], x, 403, "signatures")
      unchanged("forged signature, " .. case[1], before)
    end
    expect(app.applet_present(other), "the other phone got no applet").is(false)

    -- A replayed signature: the card's authorisation of one request
    -- (a PIN reset, done) answered to the next (a revocation).
    local seen
    local ok = app.pin_reset(w, phone, alice, "auth", pins.auth)
    expect(ok.ok, "a PIN reset, done: " .. tostring(ok.error)).is_true()
    local p = app.session(w, phone, alice, "pin_reset", { slot = "auth", pins = { auth = pins.auth },
      sign_with = function(a, card) seen = app.card_sign_with(card, a.digest_infos); return seen end })
    expect(p.ok and seen ~= nil, "its authorisation seen").is_true()
    local before = snap.take(w, spec)
    local x = app.revoke(w, phone, alice, { sign_with = function() return seen end })
    refused("a replayed authorisation", x, 403, "signatures")
    unchanged("a replayed authorisation", before)
    -- The same step of a finished session again: the same answer, nothing new.
    local st, again = app.call(w, "POST", "/v1/tsm/sessions/" .. p.session .. "/steps",
                               { step = 3, signatures = seen })
    expect(st, "a finished session's step again").is(409)
    expect(again.field, "stale step named").is "step"
    unchanged("a step of a finished session again", before)

    -- A minor's card: no sign certificate, so the app has no card serial;
    -- its auth certificate's serial is refused by the TSM.
    local m = app.issue(w, other, chika, { pins = pins })
    expect(m.ok, "a minor's card issues nothing").is(false)
    expect(m.error, "the app: no sign certificate").is "sign PIN refused"
    jpki.select(chika.link)
    local der = jpki.read_ef(chika.link, jpki.EF.auth_cert)
    local serial = der and mynahil.crypto.cert(der).serial
    expect(serial ~= nil, "the minor's auth certificate reads").is_true()
    if serial then
      if #serial % 2 == 1 then serial = "0" .. serial end
      before = snap.take(w, spec)
      x = app.issue(w, other, chika, { pins = pins, card_serial = serial })
      refused("a minor's auth certificate as card_serial", x, 422, "card_serial")
      unchanged("a minor's card", before)
    end

    -- A PIN reset without the card.
    before = snap.take(w, spec)
    x = app.pin_reset(w, phone, nil, "sign", "NOCARD22")
    refused("PIN reset without the card", x, 400, "card_serial")
    unchanged("PIN reset without the card", before)

    expect(app.sign(phone, "sign", pins.sign, "still mine") ~= nil, "alice's phone still signs").is_true()
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
