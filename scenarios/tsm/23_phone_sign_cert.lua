-- phone_sign_cert (docs/domain.md#policy-switches) with
-- revoke_without_card (課題 1), the combination the study raises: "whether
-- the phone's own signature may revoke depends on whether the phone carries a
-- sign certificate".  Under phone_sign_cert = false the TSM provisions the auth
-- slot only: the sign slot stays empty, no sign certificate at the CA, a
-- PIN reset or revocation of the sign slot is refused (409), a lift
-- reinstates the auth certificate and issues no sign one; and with no sign
-- key the phone cannot authorise its own revocation, whatever
-- revoke_without_card says (403 signer): the card must.  Under true the
-- phone's sign key does when revoke_without_card allows it.  Statuses as
-- a relying party sees them (OCSP, CRL, JSON API agreeing).
local app = require "app"
local rp = require "rp"
local snap = require "snapshot"
local hex, unhex = mynahil.hex, mynahil.unhex

return scenario {
  id = "TSM-23", title = "phone_sign_cert true/false with revoke_without_card: what the phone carries and who revokes",
  tags = { "tsm", "policy", "revoke" }, needs = { "se", "tsm" },
  operations = { "issue", "revoke", "suspend_resume", "pin_reset" },
  policies = { se_model = { "shared_isd", "ssd" }, phone_sign_cert = { true, false }, revoke_without_card = { false, true } },
  run = function(w)
    local pol = w.policy or {}
    local psc, rwc = pol.phone_sign_cert ~= false, pol.revoke_without_card == true
    local tag = "phone_sign_cert=" .. tostring(psc) .. ", revoke_without_card=" .. tostring(rwc) .. ": "
    local bank = rp.new(w)
    local phone = app.phone(w)
    local card = app.card(w.card, w.profile.pins)
    local pins = { auth = "9630", sign = "SIGNCERT1" }
    local r = app.issue(w, phone, card, { pins = pins })
    expect(r.ok, tag .. "issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local res = r.result
    expect(res.slots[1], tag .. "SE: auth slot ACTIVE").is(2)
    expect(res.slots[2], tag .. "SE: sign slot").is(psc and 2 or 0)
    expect(res.sign_serial ~= nil, tag .. "registry: a sign certificate").is(psc)
    expect(bank:says(res.auth_serial), tag .. "RP: auth certificate").is "valid"
    local _, linked = w.ca:call("GET", "/v1/linkage/" .. app.card_serial(card))
    local mine = 0
    for _, c in ipairs(linked.certs or {}) do
      if (c.serial == res.auth_serial or c.serial == res.sign_serial) and c.status == "valid" then mine = mine + 1 end
    end
    expect(mine, tag .. "CA: phone certificates linked to the card's").is(psc and 2 or 1)
    expect(app.sign(phone, "auth", pins.auth, "login") ~= nil, tag .. "the auth key signs").is_true()
    expect(app.sign(phone, "sign", pins.sign, "contract") ~= nil, tag .. "the sign key signs").is(psc)
    expect(app.phone_cert(phone, "sign", pins.sign) ~= nil, tag .. "a sign certificate on the SE").is(psc)

    local spec = { phones = { p = phone }, holders = { app.holder(w, card) }, cards = { alice = card } }
    if not psc then
      -- The sign slot's operations have nothing to act on.
      local before = snap.take(w, spec)
      local x = app.pin_reset(w, phone, card, "sign", "NOSIGNPIN1")
      expect(x.status, tag .. "PIN reset of the sign slot").is(409)
      expect(x.field).is "slot"
      x = app.revoke(w, phone, card, { certs = "sign" })
      expect(x.status, tag .. "revocation of the sign certificate alone").is(409)
      expect(x.field).is "certs"
      expect(snap.diff(before, snap.take(w, spec)), tag .. "refused: nothing changed").is(nil)
    end

    -- Hold and lift (docs/card.md#phone-certificates): the auth certificate
    -- reinstated; the sign certificate, when there is one, revoked and
    -- reissued.
    local s = app.hold(w, app.holder(w, card))
    expect(s, tag .. "call centre: hold").is(200)
    expect(bank:says(res.auth_serial), tag .. "RP: auth on hold").is "hold"
    local l = app.lift(w, phone, card, { pins = pins })
    expect(l.ok, tag .. "lifted: " .. tostring(l.error)).is_true()
    if not l.ok then return end
    expect(l.result.auth_serial, tag .. "the same auth certificate").is(res.auth_serial)
    expect(bank:says(res.auth_serial), tag .. "RP: auth reinstated").is "valid"
    if psc then
      expect(bank:says(res.sign_serial), tag .. "RP: the old sign certificate revoked").is "revoked"
      expect(l.result.sign_serial ~= res.sign_serial, tag .. "a new sign certificate").is_true()
      expect(bank:says(l.result.sign_serial), tag .. "RP: the new sign certificate").is "valid"
    else
      expect(l.result.sign_serial, tag .. "no sign certificate after the lift").is(nil)
      expect(l.result.slots[2], tag .. "SE: the sign slot still empty").is(0)
    end
    res = l.result

    -- The phone authorising its own revocation.
    local before = snap.take(w, spec)
    local own
    if psc then
      own = app.revoke(w, phone, card, { signer = "phone", phone_pin = pins.sign })
    else
      -- no sign key: the phone tries its auth key, the only one it has
      own = app.revoke(w, phone, card, { sign_with = function(a)
        local sig = app.sign(phone, "auth", pins.auth, unhex(a.messages[1]))
        return sig and { hex(sig) }, "phone"
      end })
    end
    if psc and rwc then
      expect(own.ok, tag .. "revoked by the phone's own signature: " .. tostring(own.error)).is_true()
    else
      expect(own.ok, tag .. "the phone's own signature refused").is(false)
      expect(own.status, tag .. "403").is(403)
      expect(own.field, tag .. "the field named").is "signer"
      expect(snap.diff(before, snap.take(w, spec)), tag .. "refused: nothing changed").is(nil)
      own = app.revoke(w, phone, card, {})
      expect(own.ok, tag .. "revoked with the card: " .. tostring(own.error)).is_true()
    end
    expect(bank:says(res.auth_serial), tag .. "RP: auth revoked").is "revoked"
    if psc then expect(bank:says(res.sign_serial), tag .. "RP: sign revoked").is "revoked" end
    expect(app.applet_present(phone), tag .. "SE: the applet deleted").is(false)
    expect(app.device(w, res.device).status, tag .. "registry: revoked").is "revoked"
    expect((app.check(w)), tag .. "registry and CA agree").is_true()
  end,
}
