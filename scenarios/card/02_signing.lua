-- Sign with each key, verify each signature with its certificate; the
-- card pads what it is given and hashes nothing (docs/card.md#commands).
local jpki = require "jpki"
local crypto = mynahil.crypto

return scenario {
  id = "CARD-02", title = "signing with the auth and the sign key",
  tags = { "card", "jpki", "signing" },
  run = function(w)
    local card, pins = w.card, w.profile.pins
    expect(jpki.select(card)).sw(0x9000)

    -- No PIN, no signature.
    expect(select(2, jpki.sign(card, "auth", "x"))).sw(0x6982)
    expect(select(2, jpki.sign(card, "sign", "x"))).sw(0x6982)

    for _, which in ipairs { "auth", "sign" } do
      expect(jpki.verify(card, which, pins[which])).sw(0x9000)
      local cert = jpki.read_ef(card, which == "auth" and jpki.EF.auth_cert or jpki.EF.sign_cert)
      local data = "document signed with the " .. which .. " key"
      local sig, r = jpki.sign(card, which, data)
      expect(r).sw(0x9000)
      expect(crypto.verify(cert, "sha256", data, sig), which .. " SHA-256 signature").is_true()
      -- A SHA-1 DigestInfo (35 bytes) is signed as given, too.
      local di1 = crypto.digestinfo("sha1", crypto.digest("sha1", data))
      local sig1 = jpki.sign_digestinfo(card, which, di1)
      expect(crypto.verify(cert, "sha1", data, sig1), which .. " SHA-1 signature").is_true()
      -- Padding only: the recovered block is exactly what was sent.
      local raw = "\1\2\3"
      expect(crypto.recover(cert, jpki.sign_digestinfo(card, which, raw)), which .. " raw input").is(raw)
    end

    -- Input longer than k - 11 = 245 bytes cannot be padded.
    expect(jpki.select_ef(card, jpki.EF.auth_key)).sw(0x9000)
    expect(card:transmit(jpki.apdu(0x80, 0x2A, 0x00, 0x80, string.rep("A", 246), 0))).sw(0x6700)
    -- The signature belongs to the key that made it.
    local auth_cert = jpki.read_ef(card, jpki.EF.auth_cert)
    local sig = jpki.sign(card, "sign", "which key?")
    expect(crypto.verify(auth_cert, "sha256", "which key?", sig), "sign-key signature under the auth cert").is_false()
  end,
}
