-- A JPKI session as a client runs it (docs/card.md#commands): select, token,
-- retry query, a wrong and a right PIN, signing with the auth key.
local jpki = require "jpki"
local crypto = mynahil.crypto

return scenario {
  id = "CARD-00", title = "JPKI session: select, token, retries, PIN, sign",
  tags = { "card", "jpki", "smoke" },
  run = function(w)
    local card, pins = w.card, w.profile.pins
    expect(jpki.select(w.card)).sw(0x9000)
    expect(jpki.token(card), "token").is "JPKIAPICCTOKEN2"
    expect(jpki.retries(card, "auth"), "auth tries").is(3)

    local wrong = pins.auth == "0000" and "0001" or "0000"
    expect(jpki.verify(card, "auth", wrong)).sw(0x63C2)
    expect(jpki.retries(card, "auth"), "auth tries after a miss").is(2)
    expect(jpki.verify(card, "auth", pins.auth)).sw(0x9000)
    expect(jpki.retries(card, "auth"), "auth tries after a hit").is(3)

    local data = "mynahil: login challenge " .. w.seed
    local sig, r = jpki.sign(card, "auth", data)
    expect(r).sw(0x9000)
    expect(sig, "signature").len(256)
    local cert = jpki.read_ef(card, jpki.EF.auth_cert)
    expect(crypto.verify(cert, "sha256", data, sig), "signature verifies").is_true()
    expect(crypto.recover(cert, sig), "recovered DigestInfo")
      .is(crypto.digestinfo("sha256", crypto.sha256(data)))
  end,
}
