-- Read both certificates and both CA certificates, verify each
-- certificate against its CA and check the JPKI profile
-- (docs/card.md#certificates).
local jpki = require "jpki"
local crypto = mynahil.crypto

local SAN_NAME, SAN_SEX, SAN_BIRTH, SAN_ADDRESS =
  "1.2.392.200149.8.5.5.1", "1.2.392.200149.8.5.5.3", "1.2.392.200149.8.5.5.4", "1.2.392.200149.8.5.5.5"

local function san(info, oid)
  for _, e in ipairs(info.san) do if e.oid == oid then return e.value end end
end

return scenario {
  id = "CARD-01", title = "both certificates read and verified against their CAs",
  tags = { "card", "jpki", "certificates" },
  run = function(w)
    local card, p = w.card, w.profile
    expect(jpki.select(card)).sw(0x9000)

    local auth = jpki.read_ef(card, jpki.EF.auth_cert)
    local auth_ca = jpki.read_ef(card, jpki.EF.auth_ca)
    expect(auth ~= nil and auth_ca ~= nil, "auth certificate and CA read").is_true()
    expect(crypto.verify_cert(auth, { auth_ca }), "auth cert verifies under the auth CA").is_true()
    local ai = crypto.cert(auth)
    expect(ai.bits, "auth key bits").is(2048)
    expect(ai.sig_alg).is "sha256WithRSAEncryption"
    expect(ai.subject, "auth subject").matches "^CN=[%w]+,C=JP$"
    expect(#ai.san, "personal attributes in the auth cert").is(0)

    -- The sign certificate is private: the sign PIN first.
    expect(jpki.select_ef(card, jpki.EF.sign_cert)).sw(0x9000)
    expect(jpki.read_binary(card, 0, 4)).sw(0x6982)
    expect(jpki.verify(card, "sign", p.pins.sign)).sw(0x9000)
    local sign = jpki.read_ef(card, jpki.EF.sign_cert)
    local sign_ca = jpki.read_ef(card, jpki.EF.sign_ca)
    expect(crypto.verify_cert(sign, { sign_ca }), "sign cert verifies under the sign CA").is_true()
    expect(crypto.verify_cert(sign, { auth_ca }), "sign cert under the wrong CA").is_false()
    local si = crypto.cert(sign)
    expect(si.bits, "sign key bits").is(2048)
    expect(san(si, SAN_NAME), "SAN name").is(p.holder.name)
    expect(san(si, SAN_SEX), "SAN sex").is(p.holder.sex)
    expect(san(si, SAN_BIRTH), "SAN birth date").is(p.holder.birth)
    expect(san(si, SAN_ADDRESS), "SAN address").is(p.holder.address)
    -- Valid to the fifth birthday, 23:59:59 JST.
    expect(si.not_after, "sign cert notAfter").matches("^%d%d%d%d" .. p.holder.birth:sub(5, 8) .. "145959Z$")
    expect(ai.not_after, "auth and sign expire together").is(si.not_after)

    -- 0008 says which certificates the card carries.
    expect(jpki.select_ef(card, jpki.EF.presence)).sw(0x9000)
    expect(jpki.read_binary(card, 0, 3).hex, "presence file").is "8F8F00"
  end,
}
