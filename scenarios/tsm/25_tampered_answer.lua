-- A relayed answer altered on the way (issue 16 point 5, docs/tsm.md Modelled
-- assumptions): a fault flips one bit of the SE's answer that carries the
-- phone's new public key (APDU 16 of this scenario's SE, 29 under ssd: STORE DATA DGI 0101,
-- key generation), its status word still 9000.  The TSM checks every answer's
-- R-MAC before it believes any: the session fails with the R-MAC named and
-- nothing of it recorded, so the CA certifies no key the SE did not make.  The
-- app then tries once more (a flow a fault broke is retried, docs/faults.md):
-- a fresh key, certified, and the phone signs with it.  Without the check the
-- CA would have certified a public key whose private half exists nowhere.
local app = require "app"
local rp = require "rp"

return scenario {
  id = "TSM-25", title = "a tampered answer (9000, bit flipped) fails its R-MAC: nothing certified from it",
  tags = { "tsm", "issue", "fault" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operation = "issue",
  run = function(w)
    -- counted from here: the phone's own set-up, then the TSM's scripts;
    -- under se_model = ssd thirteen more come first (the SSD selected,
    -- the SE issuer's two scripts creating it, the SSD's channel opened)
    local at = (w.policy or {}).se_model == "ssd" and 29 or 16
    local flip = w:fault("se:apdu=" .. at .. ":flip=0")
    local bank = rp.new(w)
    -- its own simulated phone (the se role: the fault applies), also on a
    -- bench whose bound se is shared: the count must start on this phone
    local phone = app.phone(w, app.new_se(w, 1))
    local card = app.card(w.card, w.profile.pins)
    -- a served TSM keeps its events across runs: count only this run's
    local _, ev0 = w.tsm:call("GET", "/v1/tsm/events")
    local since = 0
    for _, e in ipairs(ev0.events) do since = math.max(since, e.seq) end
    local r = app.issue(w, phone, card, { pins = { auth = "1357", sign = "PHONE2026" } })
    expect(flip:fired() ~= nil, "the fault fired").is_true()
    expect(tostring(flip:fired()), "on the key generation's answer").contains("84E288")
    expect(r.retried, "the first session failed, the app tried again").is_true()
    expect(r.ok, "the retry completes: " .. tostring(r.error)).is_true()
    if not r.ok then return end

    -- The failed session's trace in the TSM's events: the R-MAC, once.
    local s, ev = w.tsm:call("GET", "/v1/tsm/events")
    expect(s).is(200)
    local rmac = 0
    for _, e in ipairs(ev.events) do
      if e.seq > since and e.device == r.result.device and e.what == "R-MAC check failed" then
        rmac = rmac + 1
      end
    end
    expect(rmac, "one answer failed its R-MAC (events after " .. since .. ")").is(1)

    -- What the CA certified is the key the SE holds: the phone's signature
    -- verifies under the certificate the retry got.
    expect(bank:says(r.result.auth_serial), "CA: the retried auth certificate valid").is "valid"
    local sig = app.sign(phone, "auth", "1357", "login")
    local der = app.phone_cert(phone, "auth", "1357")
    expect(sig ~= nil and der ~= nil, "the phone signs and reads back its certificate").is_true()
    if sig and der then
      expect(bank:verify(der, "login", sig).ok, "the RP accepts it: the key certified is the SE's").is_true()
    end
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
