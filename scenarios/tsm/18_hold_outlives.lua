-- A hold that outlives the certificate (case 7, temporary loss: the
-- phone is found only after the certificates' end).  The call centre
-- holds the phone's certificates; the clock moves past their notAfter
-- (the card's, 準用).  The status is then expired, not hold: OCSP good,
-- the CRL no longer lists them, the JSON API expired, past notAfter; the
-- registry follows (expired); lifting is refused by the TSM (nothing on
-- hold) and by the CA (an expired certificate is not reinstated); the
-- check-in deletes the applet.
local app = require "app"
local rp = require "rp"
local clock = require "clock"

return scenario {
  id = "TSM-18", title = "a hold that outlives the certificate: expired, not hold; lift refused",
  tags = { "tsm", "time", "hold", "expiry" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  case = 7, operation = "suspend_resume",
  run = function(w)
    local bank = rp.new(w)
    local pins = { auth = "9630", sign = "HOLDLATE26" }
    local phone, card, r = app.own_issued(w, "held", pins, clock.days(w, 2))
    expect(phone ~= nil, "issued on the scenario's own card certificate" .. (phone and "" or ": " .. tostring(card))).is_true()
    if not phone then return end
    local dev = r.result.device
    local s = app.hold(w, card.holder)
    expect(s, "call centre: held").is(200)
    local st, c = bank:says(r.result.auth_serial)
    expect(st, "RP: the phone's auth certificate on hold").is "hold"
    expect(c.crl, "the CRL lists it").is "hold"
    expect(bank:says(r.result.sign_serial), "RP: the phone's sign certificate on hold").is "hold"
    expect(app.device(w, dev).status, "registry: hold").is "hold"

    local _, cc = app.ca_status(w, card.serial)
    clock.past(w, cc.not_after, 86400)
    st, c = bank:says(r.result.auth_serial)
    expect(st, "RP: the held certificate has expired").is "expired"
    expect(c.ocsp, "OCSP: good (not revoked)").is "valid"
    expect(c.crl, "the CRL lists it no more").is "valid"
    expect(c.expired, "past its notAfter").is_true()
    expect(bank:says(r.result.sign_serial), "RP: the held sign certificate").is "expired"
    local d = app.device(w, dev)
    expect(d.status, "registry: expired, not hold").is "expired"
    expect(d.reason, "registry: why").is "card_expired"

    -- Found: lifting is refused.
    local l = app.lift(w, phone, card, { pins = pins })
    expect(l.ok, "the app's lift").is(false)
    expect(l.status, "refused").is(409)
    local ls = w.ca:call("POST", "/v1/certs/" .. r.result.auth_serial .. "/lift", {})
    expect(ls, "CA: an expired certificate is not reinstated").is(409)
    expect(bank:says(r.result.auth_serial), "RP: still expired").is "expired"

    local y = app.sync(w, phone)
    expect(y.ok, "check-in: " .. tostring(y.error)).is_true()
    expect(y.reason, "the TSM says why").is "card_expired"
    expect(app.applet_present(phone), "SE: the applet deleted").is(false)
    expect(app.device(w, dev).applet, "registry: no applet").is "none"
    expect((app.check(w)), "registry, CA and SE agree").is_true()
  end,
}
