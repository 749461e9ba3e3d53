-- Issuance (operation 1, docs/domain.md#operations) on a simulated Android
-- phone: the app reads the card, the TSM loads, installs and personalises the
-- JPKI applet over SCP03 (keys generated on the SE), the card's sign key
-- authorises the CA's phone certificates, the TSM writes them in.  After it:
-- the SE holds the applet with both slots active, the phone signs with its own
-- key, the registry names the device and holder, the CA says valid and
-- links the phone certificates to the card's.
local app = require "app"
local rp = require "rp"
local jpki = require "jpki"

return scenario {
  id = "TSM-00", title = "issue: install, personalise, certify, write; registry and CA agree",
  tags = { "tsm", "issue", "operation" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operation = "issue", policy = { phone_sign_cert = true },
  run = function(w)
    local bank = rp.new(w)
    local phone = app.phone(w)
    local card = app.card(w.card, w.profile.pins)
    expect(app.applet_present(phone), "no applet before issuance").is(false)

    local r = app.issue(w, phone, card, { pins = { auth = "1357", sign = "PHONE2026" } })
    expect(r.ok, "issuance completes: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local res = r.result
    expect(res.status, "registry: device active").is "active"
    expect(res.slots[1], "SE: auth slot ACTIVE").is(2)
    expect(res.slots[2], "SE: sign slot ACTIVE").is(2)
    expect(app.applet_present(phone), "the applet is selectable").is_true()

    -- The registry
    local dev = app.device(w, res.device)
    expect(dev.holder, "registry: holder, as the CA knows the card").is(app.holder(w, card))
    expect(dev.auth_serial, "registry: auth serial").is(res.auth_serial)
    expect(dev.idm, "registry: the IDm read over FeliCa").is(app.idm(phone))
    expect(dev.cplc ~= nil, "registry: CPLC").is_true()

    -- The CA
    expect(bank:says(res.auth_serial), "CA: phone auth certificate valid (OCSP, CRL, JSON API)").is "valid"
    local _, c = app.ca_status(w, res.auth_serial)
    expect(c.kind).is "phone"
    expect(c.card_serial, "CA: linked to the card sign certificate").is(app.card_serial(card))
    expect(bank:says(res.sign_serial), "CA: phone sign certificate valid").is "valid"

    -- The phone signs with its own key; the certificate on the SE is the CA's.
    local sig = app.sign(phone, "sign", "PHONE2026", "hello")
    expect(sig ~= nil, "phone signs after its sign PIN").is_true()
    local der = app.phone_cert(phone, "sign", "PHONE2026")
    expect(der ~= nil, "the phone's sign certificate reads back").is_true()
    if der and sig then
      expect(mynahil.crypto.verify(der, "sha256", "hello", sig), "signature verifies with the certificate").is_true()
      expect(mynahil.crypto.cert(der).serial:gsub("^0*", ""), "the SE holds the CA's certificate")
        .is((res.sign_serial:gsub("^0*", "")))
    end
    expect(app.sign(phone, "sign", "WRONG1234", "x"), "the card's PIN is not the phone's").is(nil)

    -- Issuing again on the same device is refused: renew or reissue.
    local again = app.issue(w, phone, card, { pins = { auth = "1357", sign = "PHONE2026" } })
    expect(again.ok, "a second issue on the same device").is(false)
    expect(again.status).is(409)
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
