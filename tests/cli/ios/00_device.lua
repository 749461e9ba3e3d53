-- The iPhone's device methods from Lua (hil/run/lua/lios.c, docs/ios.md#lua),
-- on a sim:ios link a scenario opens (tests/cli/ios_lua.sh): inspect before
-- and after, keygen (two different SubjectPublicKeyInfos, pending), attest
-- (the chain verifies to the platform CA), install refusals (a bad issuer
-- signature: nil and why; a malformed credential: an error), biometric
-- (named states only), factory reset (pending keys and the enrolment go),
-- remove, and the methods refused on a card link.
local crypto = mynahil.crypto

return scenario {
  id = "IOS-LUA", title = "w.ios: the iPhone's device methods from a scenario",
  tags = { "ios" },
  run = function(w)
    local ios = assert(w:open("sim:ios"))
    local v = ios:inspect()
    expect(v.kind, "inspect: an iPhone").is("ios")
    expect(v.installed, "blank: no credential").is(false)
    expect(v.device_id, "the device id of iphone-a").is("MYNAHIL-IOS-0001")
    expect(ios:device_id(), "device_id()").is("MYNAHIL-IOS-0001")
    expect(v.biometric, "biometrics: the profile's").is("match")
    expect(ios:transmit("00A4040C0AD392F000260100000001"), "no JPKI AP without a credential").sw(0x6A82)

    local a = ios:keygen("auth")
    local s = ios:keygen("sign")
    expect(#a, "auth SPKI: RSA-2048, 294 bytes").is(294)
    expect(a:sub(1, 4), "a DER SEQUENCE").is("\x30\x82\x01\x22")
    expect(a ~= s, "two key pairs").is_true()
    v = ios:inspect()
    expect(v.slots.auth.pending and v.slots.sign.pending, "both pending").is_true()
    expect(v.slots.auth.der, "no certificate yet").is(nil)

    local att = ios:attest("challenge-1")
    expect(#att.sig, "attestation: an RSA-2048 signature").is(256)
    local ok, why = crypto.verify_cert(att.device_cert, { att.platform_ca })
    expect(ok, "device certificate chains to the platform CA: " .. tostring(why)).is_true()
    expect(crypto.cert(att.device_cert).subject, "the device certificate").contains("mynahil test iPhone a")

    local cred = { device_id = "MYNAHIL-IOS-0001", auth_cert = att.device_cert, sig = string.rep("\0", 256) }
    local r, err = ios:install(cred, "2468", "IPHONE2026")
    expect(r, "a credential not signed by the issuer").is(nil)
    expect(tostring(err), "says why").contains("issuer signature")
    expect(pcall(ios.install, ios, { device_id = "short" }), "device_id of 5 bytes: an error").is(false)
    expect(pcall(ios.biometric, ios, "face"), "an unknown biometric state: an error").is(false)
    expect(ios:biometric("no_match"), "biometric no_match").is_true()
    expect(ios:inspect().biometric, "inspect shows it").is("no_match")

    expect(ios:factory_reset(), "factory reset").is_true()
    v = ios:inspect()
    expect(v.slots.auth.pending or v.slots.sign.pending, "pending keys gone").is(false)
    expect(v.biometric, "enrolment gone").is("not_enrolled")
    expect(ios:remove(), "remove").is_true()
    expect(ios:set_pins("1234"), "set_pins without a credential").is(nil)

    local card = assert(w:open("sim:card"))
    expect(pcall(card.keygen, card, "auth"), "keygen on a card link: an error").is(false)
  end,
}
