-- The relying party's view (a bank handed a phone's signature): it checks
-- the signature, the chain to the test root, the validity on the virtual
-- clock and the status by OCSP and by the CRL, fetched from the CA's
-- public endpoints — not the JSON API.  Issued: all good.  The call centre
-- holds: OCSP and the CRL say certificateHold (a new CRL, its number up).
-- Lifted: the old sign certificate revoked, the new one good.  Revoked by
-- the card through the TSM: keyCompromise in both, the CRL number up again.
-- At each step OCSP, the CRL and the JSON API agree (rp:status).
local app = require "app"
local rp = require "rp"

return scenario {
  id = "RP-00", title = "a relying party verifies a phone signature; hold, lift, revoke seen in OCSP and the CRL",
  tags = { "tsm", "rp", "ocsp", "crl" }, needs = { "se", "tsm" },
  operations = { "issue", "revoke", "suspend_resume" },
  run = function(w)
    local phone = app.phone(w)
    local card = app.card(w.card, w.profile.pins)
    local pins = { auth = "9753", sign = "RELYING01" }
    local r = app.issue(w, phone, card, { pins = pins })
    expect(r.ok, "issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local bank = rp.new(w)
    local msg = "transfer 10000 JPY to account 1234567"
    local der = app.phone_cert(phone, "sign", pins.sign)
    local sig = app.sign(phone, "sign", pins.sign, msg)
    expect(der ~= nil and sig ~= nil, "the phone signs, its certificate reads back").is_true()
    if not (der and sig) then return end

    local v = bank:verify(der, msg, sig)
    expect(v.ok, "verdict: " .. tostring(v.reason)).is_true()
    expect(v.signature, "signature").is_true()
    expect(v.chain, "chain to the test root").is_true()
    expect(v.validity, "within validity on the virtual clock").is_true()
    expect(v.ocsp, "OCSP").is "good"
    expect(v.crl, "CRL").is "good"
    local bad = bank:verify(der, msg .. "0", sig)
    expect(bad.ok, "another message: refused").is_false()
    expect(bad.reason).is "signature does not verify"
    expect(bank:says(der), "valid by OCSP, CRL and the JSON API").is "valid"
    local crl0 = assert(bank:crl("sign")).number

    -- The call centre holds the holder's phone certificates.
    local s = app.hold(w, app.holder(w, app.card(w.card, w.profile.pins)))
    expect(s, "call centre: hold").is(200)
    v = bank:verify(der, msg, sig)
    expect(v.ok, "held: refused").is_false()
    expect(v.signature and v.chain and v.validity, "held: signature, chain, validity still fine").is_true()
    expect(v.ocsp, "held: OCSP").is "revoked:certificateHold"
    expect(v.crl, "held: CRL").is "revoked:certificateHold"
    local crl1 = v.crl_number
    expect(crl1, "held: a new CRL").gt(crl0)
    expect(bank:says(der), "held by OCSP, CRL and the JSON API").is "hold"
    expect(bank:says(r.result.auth_serial), "auth held too").is "hold"

    -- Lifted: the auth certificate reinstated, the sign one reissued.
    local l = app.lift(w, phone, card, { pins = pins })
    expect(l.ok, "lifted: " .. tostring(l.error)).is_true()
    if not l.ok then return end
    expect(bank:says(r.result.auth_serial), "auth reinstated").is "valid"
    local old = select(2, bank:says(der))
    expect(old.status, "the old sign certificate revoked").is "revoked"
    expect(bank:verify(der, msg, sig).ok, "the old signature is refused").is_false()
    local der2 = app.phone_cert(phone, "sign", pins.sign)
    local sig2 = app.sign(phone, "sign", pins.sign, msg)
    local v2 = bank:verify(der2, msg, sig2)
    expect(v2.ok, "the new sign key verifies: " .. tostring(v2.reason)).is_true()
    expect(v2.crl_number, "lift: a new CRL").gt(crl1)

    -- Revoked by the card through the TSM.
    local rv = app.revoke(w, phone, card, { reason = "keyCompromise" })
    expect(rv.ok, "revoked: " .. tostring(rv.error)).is_true()
    local v3 = bank:verify(der2, msg, sig2)
    expect(v3.ok, "revoked: refused").is_false()
    expect(v3.ocsp, "revoked: OCSP").is "revoked:keyCompromise"
    expect(v3.crl, "revoked: CRL").is "revoked:keyCompromise"
    expect(v3.crl_number, "revoke: a new CRL").gt(v2.crl_number)
    local st = select(2, bank:says(der2))
    expect(st.status, "revoked by OCSP, CRL and the JSON API").is "revoked"
    expect(st.reason).is "keyCompromise"
    expect(bank:says(l.result.auth_serial), "auth revoked").is "revoked"
  end,
}
