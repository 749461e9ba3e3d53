-- Torn after certification, the compensation (docs/tsm.md): the answer to
-- the first command of the script that writes the certificates into the
-- SE is altered on the way (a fault flips its R-MAC's first bit, SW still
-- 9000), after the CA has issued the phone's two certificates.  The
-- session fails (422, the R-MAC named) and the TSM revokes what it had
-- issued, cessationOfOperation, and says so (reason issuance_failed:
-- the app's notice); the app's retry (a flow a fault broke is
-- tried once more, docs/faults.md) issues fresh ones.  The relying party
-- (OCSP, the CRL and the JSON API, scenarios/lib/rp.lua) sees the first
-- pair revoked and the second valid; registry and CA agree.
local app = require "app"
local rp = require "rp"

return scenario {
  id = "TEAR-COMP", title = "failed after certification: its certificates revoked, the retry issues anew",
  tags = { "tsm", "issue", "fault" }, needs = { "se", "tsm" },
  run = function(w)
    local bank = rp.new(w)
    local phone = app.phone(w, app.new_se(w, 1))   -- the se role: the fault applies
    local card = app.card(w.card, w.profile.pins)
    local signed, flip = false, nil
    local r = app.issue(w, phone, card, { pins = { auth = "1357", sign = "PHONE2026" },
      on_action = function(a)
        if a.action == "card_sign" and a.purpose == "phone-certificates" then signed = true end
        -- the script after the certification: its first answer altered
        if a.action == "apdus" and signed and not flip then flip = w:fault("se:apdu=1:flip=0") end
      end })
    expect(flip and flip.fired() ~= nil, "the fault fired in the certificates' script").is_true()
    expect(r.retried, "the first session failed, the app tried again").is_true()
    local first = r.first or {}
    expect(first.status, "the first session: refused, its R-MAC named").is(422)
    expect(first.notice, "the app tells the holder why").is(app.reasons.issuance_failed .. " (cessationOfOperation)")
    expect(r.ok, "the retry completes: " .. tostring(r.error)).is_true()
    if not r.ok then return end

    -- The first session's certificates: revoked by the TSM, cessationOfOperation.
    local holder = app.holder(w, card)
    local s, l = w.ca:call("GET", "/v1/holders/" .. holder .. "/certs")
    expect(s).is(200)
    local undone = {}
    for _, c in ipairs(l.certs or {}) do
      if c.kind == "phone" and c.reason == "cessationOfOperation" then undone[#undone + 1] = c.serial end
    end
    expect(#undone, "the failed session's two certificates revoked, cessationOfOperation").is(2)
    for _, serial in ipairs(undone) do
      expect(bank:says(serial), "RP (OCSP, CRL, JSON): " .. serial .. " revoked").is "revoked"
      expect(serial ~= r.result.auth_serial and serial ~= r.result.sign_serial, "not the retry's").is_true()
    end
    -- The retry's: valid, on the SE, the phone signs with them.
    expect(bank:says(r.result.auth_serial), "RP: the retry's auth certificate valid").is "valid"
    expect(bank:says(r.result.sign_serial), "RP: the retry's sign certificate valid").is "valid"
    expect(r.result.slots[1], "SE: auth slot ACTIVE").is(2)
    expect(r.result.slots[2], "SE: sign slot ACTIVE").is(2)
    local sig = app.sign(phone, "sign", "PHONE2026", "hello")
    local der = app.phone_cert(phone, "sign", "PHONE2026")
    expect(sig ~= nil and der ~= nil, "the phone signs and reads back its certificate").is_true()
    if sig and der then
      expect(bank:verify(der, "hello", sig).ok, "the RP accepts the phone's signature").is_true()
    end
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
