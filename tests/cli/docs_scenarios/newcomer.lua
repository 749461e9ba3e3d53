-- A newcomer's first scenario, written from docs/scenarios.md alone: a
-- phone gets its JPKI certificates from alice's card, a shop accepts what
-- the phone signs, the holder revokes the phone (handset sold), and the
-- shop's relying party refuses the same signature by OCSP and by the CRL.
local app = require "app"
local rp = require "rp"

return scenario {
  id = "NEWCOMER-1", title = "my first scenario: phone certificates issued and revoked",
  tags = { "newcomer" }, needs = { "se", "tsm" },
  operations = { "issue", "revoke" },
  run = function(w)
    local shop = rp.new(w)
    local phone = app.phone(w)
    local card = app.card(w.card, w.profile.pins)
    local mine = { auth = "9753", sign = "NEWCOMER7" }

    local issued = app.issue(w, phone, card, { pins = mine })
    expect(issued.ok, "the TSM issued: " .. tostring(issued.error)).is_true()
    if not issued.ok then return end
    expect(issued.result.status).is "active"
    expect(shop:says(issued.result.sign_serial), "sign certificate valid").is "valid"

    local cert = app.phone_cert(phone, "sign", mine.sign)
    local sig = app.sign(phone, "sign", mine.sign, "buy one coffee")
    local ok = shop:verify(cert, "buy one coffee", sig)
    expect(ok.ok, "the shop accepts: " .. tostring(ok.reason)).is_true()
    expect(ok.ocsp, "OCSP before").is "good"
    expect(ok.crl, "CRL before").is "good"

    local gone = app.revoke(w, phone, card, { reason = "cessationOfOperation" })
    expect(gone.ok, "the TSM revoked: " .. tostring(gone.error)).is_true()
    if not gone.ok then return end
    expect(gone.result.status).is "revoked"
    expect(shop:says(issued.result.auth_serial), "auth certificate").is "revoked"
    expect(shop:says(issued.result.sign_serial), "sign certificate").is "revoked"

    local no = shop:verify(cert, "buy one coffee", sig)
    expect(no.ok, "the shop refuses now").is_false()
    expect(no.ocsp, "OCSP after").is "revoked:cessationOfOperation"
    expect(no.crl, "CRL after").is "revoked:cessationOfOperation"
    expect(app.sign(phone, "sign", mine.sign, "another coffee"), "the phone signs nothing").is(nil)
  end,
}
