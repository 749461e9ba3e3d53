-- Refusals (issue 10 point 5), the card certificate's status and the
-- PINs: a held, a revoked and an expired card sign certificate authorise
-- nothing (409 card_serial at the session's begin; a revocation at its
-- authorisation step); a wrong card sign PIN stops the app at the card's
-- authorisation, the first thing every operation asks for; a wrong phone
-- PIN signs nothing and changes no PIN; a badly formed new PIN is 400
-- pins.  Nothing changes anywhere but the counter the wrong PIN spent
-- (invariant 5, docs/domain.md#invariants), and a right PIN fills it again.
local app = require "app"
local rp = require "rp"
local jpki = require "jpki"
local snap = require "snapshot"

return scenario {
  id = "TSM-21", title = "refused: held, revoked, expired card certificate; wrong PINs, card and phone",
  tags = { "tsm", "refusal", "pin" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operations = { "issue", "revoke", "renew", "reissue", "suspend_resume", "pin_reset", "pin_change" },
  run = function(w)
    local bank = rp.new(w)
    local base = app.card(w.card, w.profile.pins)
    local pins = { auth = "3690", sign = "STATUS21" }
    local phone = app.phone(w)
    local r = app.issue(w, phone, base, { pins = pins })
    expect(r.ok, "alice's phone issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local spec = { phones = { alice = phone }, holders = { app.holder(w, base) }, cards = { alice = base } }
    local function refused(what, res, status, field)
      expect(res.ok, what .. ": refused").is(false)
      expect(res.status, what .. ": status").is(status)
      expect(res.field, what .. ": the field named").is(field)
    end

    -- ---- the card certificate's status (cards of the scenario's own) ----
    local _, clock = w.ca:call("GET", "/v1/clock")
    local soon = clock.now:sub(1, 4) + 1 .. clock.now:sub(5)   -- a year from now
    for k, case in ipairs { "held", "revoked", "expired" } do
      local card = app.own_card(w, base, case, nil, case == "expired" and soon or nil)
      expect(card ~= nil, case .. ": a card certificate of the scenario's own").is_true()
      if not card then return end
      local ph = app.phone(w, app.new_se(w, 10 + k))   -- one each: "revoked" and "expired" are as long
      local i = app.issue(w, ph, card, { pins = pins })
      expect(i.ok, case .. ": issued: " .. tostring(i.error)).is_true()
      if case == "held" then
        expect(w.ca:call("POST", "/v1/certs/" .. card.serial .. "/hold", {}), "CA: card held").is(200)
      elseif case == "revoked" then
        expect(w.ca:call("POST", "/v1/certs/" .. card.serial .. "/revoke", { reason = "keyCompromise" }),
          "CA: card revoked").is(200)
      else
        -- a year and two days: past it whether or not a 29 February is
        -- in between (a served CA's clock goes on from the last run)
        expect(w.ca:call("POST", "/v1/clock", { advance = 367 * 86400 }), "the clock past its notAfter").is(200)
      end
      local want = case == "held" and "hold" or case
      expect(bank:says(card.serial), case .. ": RP sees the card certificate").is(want)
      app.check(w)   -- the TSM follows the CA (linked revocation, hold, expiry) before the snapshot
      local s = { phones = { alice = phone, own = ph }, holders = { app.holder(w, base), card.holder }, cards = { alice = base } }
      local before = snap.take(w, s)
      for _, op in ipairs { "issue", "reissue", "renew", "lift", "pin_reset" } do
        local x = app.session(w, ph, card, op, { pins = pins, slot = "sign" })
        refused(case .. " card certificate, " .. op, x, 409, "card_serial")
      end
      local x = app.revoke(w, ph, card, {})
      refused(case .. " card certificate, revoke", x, 409, "card_serial")
      expect(snap.diff(before, snap.take(w, s)), case .. ": nothing changed anywhere").is(nil)
    end
    expect(bank:says(r.result.sign_serial), "RP: alice's phone certificate untouched").is "valid"

    -- ---- a wrong card sign PIN: the app stops at the card's authorisation ----
    -- (each operation where this phone's state allows it: issue on a new
    -- phone; reissue and lift are refused by their state first, 409 op)
    local wrong = app.card(w.card, { auth = w.profile.pins.auth, sign = "WRONGPIN7" })
    local fresh = app.phone(w, app.new_se(w, 3))
    expect(app.sync(w, fresh).ok, "a new phone's first contact").is_true()
    spec.phones.fresh = fresh
    for _, case in ipairs { { "issue", fresh }, { "renew", phone }, { "revoke", phone }, { "pin_reset", phone } } do
      local op = case[1]
      local before = snap.take(w, spec)
      local x = app.session(w, case[2], wrong, op, { pins = pins, slot = "auth", card_serial = app.card_serial(base) })
      expect(x.ok, "wrong card PIN, " .. op .. ": nothing done").is(false)
      expect(x.error, "wrong card PIN, " .. op .. ": the card would not sign").is "the card would not sign"
      local after = snap.take(w, spec)
      expect(after["/card/alice/sign_tries"], "wrong card PIN, " .. op .. ": one try spent")
        .is(tostring(tonumber(before["/card/alice/sign_tries"]) - 1))
      expect(snap.diff_except(before, after, "/card/"), "wrong card PIN, " .. op .. ": nothing else changed").is(nil)
      jpki.select(base.link)
      expect(jpki.verify(base.link, "sign", base.pins.sign)).sw(0x9000)   -- the right PIN: full again
    end

    -- ---- a wrong phone PIN: signs nothing, changes no PIN ----
    local before = snap.take(w, spec)
    for _, which in ipairs { "auth", "sign" } do
      local sig, rr = app.sign(phone, which, which == "auth" and "0000" or "WRONGPIN9", "x")
      expect(sig, "wrong phone " .. which .. " PIN: no signature").is(nil)
      expect(rr and rr.sw & 0xFFF0, "wrong phone " .. which .. " PIN: 63Cx").is(0x63C0)
      local ch = phone.se:transmit("0070000001")
      local c = tonumber(ch.hex, 16)
      local link = { transmit = function(_, a)
        return phone.se:transmit(string.format("%02X", tonumber(a:sub(1, 2), 16) | c) .. a:sub(3)) end }
      jpki.select(link)
      local cr = jpki.change_pin(link, which, which == "auth" and "0000" or "WRONGPIN9",
                                 which == "auth" and "1111" or "CHANGED99")
      phone.se:transmit(string.format("0070800%X", c))
      expect(cr and cr.sw & 0xFFF0, "wrong phone " .. which .. " PIN: no change").is(0x63C0)
    end
    local after = snap.take(w, spec)
    expect(after["/se/alice/auth_tries"], "phone auth PIN: two tries spent").is "1"
    expect(after["/se/alice/sign_tries"], "phone sign PIN: two tries spent").is "3"
    expect(snap.diff_except(before, after, "/se/alice/"), "wrong phone PINs: nothing else changed").is(nil)
    expect(app.sign(phone, "auth", pins.auth, "x") ~= nil, "the old auth PIN still signs").is_true()
    expect(app.sign(phone, "sign", pins.sign, "x") ~= nil, "the old sign PIN still signs").is_true()

    -- ---- badly formed new PINs: 400 pins, before anything ----
    before = snap.take(w, spec)
    refused("a 3-digit auth PIN", app.pin_reset(w, phone, base, "auth", "123"), 400, "pins")
    refused("a lower-case sign PIN", app.pin_reset(w, phone, base, "sign", "lower123"), 400, "pins")
    expect(snap.diff(before, snap.take(w, spec)), "bad PIN formats: nothing changed anywhere").is(nil)
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
