-- Refusals of the provisioning service, each changing nothing at the CA
-- or on the iPhone: the liveness check failed (403); a wrong sign password
-- or 入力補助 PIN on the card (the app cannot read or sign, it gives up:
-- one card try spent); a credential installed on another iPhone (that
-- iPhone refuses it, the service revokes what it issued); and one phone
-- per holder across iPhones: issuing on a second iPhone supersedes the
-- first, whose credential goes at its check-in.
local app = require "app"
local rp = require "rp"
local jpki = require "jpki"
local wallet = require "wallet"

local function phone_certs(w, holder, status)
  local st, l = w.ca:call("GET", "/v1/holders/" .. holder .. "/certs")
  local n = 0
  for _, c in ipairs(st == 200 and l.certs or {}) do
    if c.kind == "phone" and (not status or c.status == status) then n = n + 1 end
  end
  return n
end

return scenario {
  id = "IOS-06", title = "iPhone provisioning refused: liveness, card PINs, a credential on another iPhone; one iPhone per holder",
  tags = { "ios", "issue", "refusal", "one-phone" }, needs = { "tsm" }, operations = { "issue" },
  run = function(w)
    local bank = rp.new(w)
    local a, b = wallet.iphone(w, 1), wallet.iphone(w, 2)
    local base = wallet.card(w)
    local holder = base.holder
    local pins = { auth = "4444", sign = "REFUSED2026" }
    local issued_before = phone_certs(w, holder)   -- a served CA keeps earlier scenarios' certificates
    local r = wallet.issue(w, a, base, { pins = pins, liveness = "fail" })
    expect(r.status, "liveness failed").is(403)
    expect(r.field).is "liveness"
    jpki.select(base.link)
    local before = jpki.retries(base.link, "sign")
    local wrong = { link = base.link, pins = { auth = base.pins.auth, sign = "WRONGPW99", text = base.pins.text } }
    r = wallet.issue(w, a, wrong, { pins = pins, card_serial = base.serial })
    expect(r.abandoned, "a wrong sign password: the app gives up").is_true()
    jpki.select(base.link)
    expect(jpki.retries(base.link, "sign"), "one card try spent").is(before - 1)
    jpki.verify(base.link, "sign", base.pins.sign)   -- the right one: the count back
    local wrong_text = { link = base.link, serial = base.serial, pins = { auth = base.pins.auth, sign = base.pins.sign, text = "9999" } }
    r = wallet.issue(w, a, wrong_text, { pins = pins })
    expect(r.abandoned, "a wrong 入力補助 PIN: the app gives up").is_true()
    jpki.select_text(base.link)
    jpki.verify(base.link, "text", base.pins.text or "1234")
    expect(phone_certs(w, holder), "nothing issued").is(issued_before)
    expect(a:inspect().installed, "nothing on the iPhone").is(false)

    r = wallet.issue(w, a, base, { pins = pins, install_on = b })
    expect(r.status, "the other iPhone refuses the credential").is(422)
    expect(r.field).is "installed"
    expect(b:inspect().installed, "not installed on the other iPhone").is(false)
    expect(phone_certs(w, holder, "valid"), "what was issued is revoked").is(0)

    local one = wallet.reissue(w, a, base, { pins = pins })
    expect(one.ok, "issued on iPhone a: " .. tostring(one.error)).is_true()
    local two = wallet.issue(w, b, base, { pins = pins })
    expect(two.ok, "issued on iPhone b: " .. tostring(two.error)).is_true()
    if not (one.ok and two.ok) then return end
    expect(two.result.superseded and two.result.superseded[1], "iPhone a superseded").is(one.result.device)
    local st, c = bank:says(one.result.auth_serial)
    expect(st, "RP: iPhone a's auth").is "revoked"
    expect(c and c.reason).is "superseded"
    expect(app.device(w, one.result.device).pending_delete, "registry: a's removal pending").is(true)
    local y = wallet.sync(w, a)
    expect(y.ok and y.result.removed, "a's credential removed at its check-in").is_true()
    expect(a:inspect().installed).is(false)
    expect(phone_certs(w, holder, "valid"), "one iPhone's two certificates").is(2)
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
