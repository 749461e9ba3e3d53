-- Biometrics on an iPhone (docs/ios.md#biometrics, an assumption at the
-- APDU level): in use, the reader's VERIFY of the auth PIN is answered
-- after the phone's biometric check — a match satisfies it without a
-- try spent, no match is 63Cx with the count unchanged (not a PIN try);
-- not enrolled or disabled, the 4-digit PIN is compared (a wrong one
-- spends a try).  Provisioning needs biometrics: refused with them
-- disabled or not enrolled, before anything is issued.
local app = require "app"
local wallet = require "wallet"

return scenario {
  id = "IOS-04", title = "biometrics on an iPhone: match, no match, not enrolled, disabled",
  tags = { "ios", "biometrics" }, needs = { "tsm" }, operations = { "issue" },
  run = function(w)
    local ph = wallet.iphone(w)
    local card = wallet.card(w)
    local function phones()
      local st, l = w.ca:call("GET", "/v1/holders/" .. app.holder(w, card) .. "/certs")
      local n = 0
      for _, c in ipairs(st == 200 and l.certs or {}) do if c.kind == "phone" then n = n + 1 end end
      return n
    end
    local before = phones()   -- a served CA keeps earlier scenarios' certificates
    ph:biometric "disabled"
    local off = wallet.issue(w, ph, card, { pins = { auth = "2222", sign = "BIOPW2026" } })
    expect(off.field, "disabled: provisioning refused").is "biometric"
    ph:biometric "not_enrolled"
    off = wallet.issue(w, ph, card, { pins = { auth = "2222", sign = "BIOPW2026" } })
    expect(off.field, "not enrolled: provisioning refused").is "biometric"
    expect(phones(), "nothing issued").is(before)

    ph:biometric "match"
    local r = wallet.issue(w, ph, card, { pins = { auth = "2222", sign = "BIOPW2026" } })
    expect(r.ok, "issued with biometrics: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    expect(wallet.verify(ph, "auth", "9999").sw, "match: any data, satisfied").is(0x9000)
    expect(ph:inspect().slots.auth.pin.tries, "match: no try spent").is(3)
    ph:biometric "no_match"
    expect(wallet.verify(ph, "auth", "2222").sw, "no match: refused, the count unchanged").is(0x63C3)
    expect(ph:inspect().slots.auth.pin.tries, "no match is not a PIN try").is(3)
    ph:biometric "not_enrolled"
    expect(wallet.verify(ph, "auth", "9999").sw, "not enrolled: the PIN compared, a try spent").is(0x63C2)
    ph:biometric "disabled"
    expect(wallet.verify(ph, "auth", "2222").sw, "disabled: the right PIN").is(0x9000)
    expect(ph:inspect().slots.auth.pin.tries, "the right PIN restores the count").is(3)
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
