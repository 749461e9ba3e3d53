-- wallet.lua — the Wallet app on an iPhone as it drives the platform's
-- provisioning service (docs/ios.md#the-provisioning-service): the
-- service's actions carried out on the simulated iPhone (sim:ios: new
-- keys, the device attestation, the credential installed or removed, new
-- PINs) and on the holder's card (its text read after the 入力補助 PIN,
-- its signatures after the sign password), the answers handed back.  The
-- service is the TSM world's (/v1/wallet beside /v1/tsm: w.tsm reaches
-- both, in process or served by `mynahil serve wallet` / `serve tsm`).
--
--   local ph = wallet.iphone(w)            -- w.ios if bound, else an iPhone of the scenario's own
--   local card = wallet.card(w)            -- the bound card, a holder of the scenario's own
--   local r = wallet.issue(w, ph, card, { pins = { auth = "2468", sign = "IPHONE2026" } })
--   r.ok, r.result (device, auth_serial, sign_serial, superseded), r.status,
--   r.field, r.error; r.abandoned: the card refused a PIN, the app gave up
local app = require "app"
local jpki = require "jpki"
local hex, unhex = mynahil.hex, mynahil.unhex

local wallet = {}

-- ---- a device and a holder of the scenario's own ----
-- Scenarios sharing one served service (-j 2 against `serve wallet`)
-- must not share an iPhone or a holder: the one-phone rule of one would
-- supersede the other's.  So a scenario's iPhones are derived from its id
-- and seed (sim:ios?serial=..., docs/ios.md#fixtures: another iPhone of
-- the same test factory), and its card is the fixture card under a card
-- sign certificate of a holder of its own (app.own_card).  The same
-- seed, the same devices: a served registry remembers them from an
-- earlier run, so each is cleared before use and after (a teardown: a
-- pending deletion done, a live credential revoked with the card it was
-- issued on), even when the scenario failed.
local used = {}

local function clear(w, ph, what)
  local d = app.device(w, wallet.device(ph))
  if d and d.pending_delete then wallet.sync(w, ph) end
  d = app.device(w, wallet.device(ph))
  if d and (d.status == "active" or d.status == "hold" or d.status == "half") then
    local mine = app.card(w.card, w.profile.pins)
    local card = { link = mine.link, pins = mine.pins, serial = d.card_serial }
    local other = app.other_card(w)
    if other and app.holder(w, other) == d.holder then card = { link = other.link, pins = other.pins, serial = d.card_serial } end
    local r = wallet.revoke(w, ph, card, { reason = "cessationOfOperation" })
    if not r.ok and r.field == "card_serial" then
      -- the card certificate is no longer valid: the phone's revoked at
      -- the CA (a scenario's own card only), removed at the check-in
      for _, which in ipairs { "auth", "sign" } do
        if d[which .. "_serial"] then
          w.ca:call("POST", "/v1/certs/" .. d[which .. "_serial"] .. "/revoke", { reason = "cessationOfOperation" })
        end
      end
      wallet.sync(w, ph)
    end
  end
  if ph:inspect().installed then ph:remove() end
  expect(ph:inspect().installed, what .. ": iPhone " .. wallet.device(ph) .. " without a credential").is(false)
end

-- The scenario's iPhone n (1, 2, 3...): w.ios when bound (a served or
-- saved sim:ios, shared by every scenario of the run) for the first,
-- else an iPhone of the scenario's own, derived from the fixtures'
-- iphone-a; biometrics at the profile's (match).
function wallet.iphone(w, n)
  n = n or 1
  local ph = n == 1 and rawget(w, "ios") or nil
  if not ph then
    local serial = hex(mynahil.crypto.sha256(w.id .. "/" .. tostring(w.seed) .. "/ios/" .. n)):sub(1, 8)
    ph = assert(w:open("sim:ios?profile=" .. w:fixture("ios/iphone-a.lua") .. "&serial=" .. serial, "ios"))
  end
  -- in process the service and its registry end with the scenario
  if not used[ph] and w.tsm:uri() ~= "sim" and not app.keep_devices and not w.keep_devices then
    used[ph] = true
    clear(w, ph, "set-up")
    mynahil.teardown("leave iPhone " .. wallet.device(ph) .. " as found", function() clear(w, ph, "teardown") end)
  end
  return ph
end

-- The holder's card: the bound card (w.card, its PINs) under a card sign
-- certificate of the scenario's own holder (app.own_card: the same key,
-- so the card signs as before), with serial and holder; made once a
-- scenario.
local own = setmetatable({}, { __mode = "k" })
function wallet.card(w)
  if not own[w] then
    local card, why = app.own_card(w, app.card(w.card, w.profile.pins), "ios")
    own[w] = assert(card, why)
  end
  return own[w]
end

-- The registry's id of an iPhone.
function wallet.device(ph)
  return "ios-" .. hex(ph:device_id())
end

-- The SubjectPublicKeyInfo of the installed certificate of a slot (the
-- key the iPhone attests for a slot it does not renew), or nil.
local function installed_spki(ph, which)
  local v = ph:inspect()
  local der = v.installed and v.slots[which] and v.slots[which].der
  return der and app.spki(der) or nil
end

-- The card over NFC: its text (EF 0002) after the 入力補助 PIN, then its
-- signatures after the sign password; nil, why when a PIN is refused.
local function read_card(card, a)
  local text
  if a.read_text then
    jpki.select_text(card.link)
    local v = jpki.verify(card.link, "text", card.pins.text or "1234")
    if not v or v.sw ~= 0x9000 then return nil, "the card refused the 入力補助 PIN" end
    text = jpki.read_ef(card.link, "0002")
    if not text then return nil, "the card's text could not be read" end
  end
  local sigs = app.card_sign_with(card, a.digest_infos)
  if not sigs then return nil, "the card refused the sign password" end
  return sigs, text and hex(text) or nil
end

-- What the app posts for action a.  opts: pins (the new iPhone PINs),
-- biometric (claim another outcome than the iPhone's), tamper(req, a).
local function answer(w, ph, card, a, opts)
  local req = { step = a.step }
  if a.action == "attest" then
    local keys = {}
    for _, which in ipairs(a.keygen) do
      local spki, why = ph:keygen(which)
      if not spki then return nil, why end
      keys[which] = hex(spki)
    end
    for _, which in ipairs { "auth", "sign" } do
      if not keys[which] then
        local k = installed_spki(ph, which)
        keys[which] = k and hex(k) or nil
      end
    end
    local att, why = ph:attest(unhex(a.challenge))
    if not att then return nil, why end
    req.attestation = { signature = hex(att.sig), device_cert = hex(att.device_cert) }
    req.keys = keys
    -- Add with Face ID / Touch ID: the prompt's outcome (docs/ios.md)
    req.biometric = opts.biometric or ph:inspect().biometric
  elseif a.action == "card_sign" then
    local sigs, text = read_card(card, a)
    if not sigs then return nil, text, true end
    req.signatures, req.card_text = sigs, text
  elseif a.action == "install" then
    local c = a.credential
    local cred = { device_id = unhex(c.device_id), auth_cert = unhex(c.auth_cert), auth_ca = unhex(c.auth_ca),
                   sign_cert = unhex(c.sign_cert), sign_ca = unhex(c.sign_ca), sig = unhex(c.signature) }
    local target = opts.install_on or ph
    local pins, set = opts.pins or {}, {}
    for _, which in ipairs(a.new_pins or {}) do set[which] = pins[which] end
    local ok, why = target:install(cred, set.auth, set.sign)
    req.installed, req.error = ok and true or false, why
  elseif a.action == "remove" then
    local ok, why = ph:remove()
    if not ok then return nil, why end
    req.removed = true
  elseif a.action == "erase" then
    -- half_valid = erase_revoked: the revoked pair goes, the other stays
    local ok, why = ph:erase(a.slot)
    if not ok then return nil, why end
    req.erased = true
  elseif a.action == "set_pins" then
    local pin = (opts.pins or {})[a.slot]
    local ok, why = ph:set_pins(a.slot == "auth" and pin or nil, a.slot == "sign" and pin or nil)
    req.set = ok and true or false
    if not ok then return nil, why end
  else
    return nil, "unknown action " .. tostring(a.action)
  end
  if opts.tamper then opts.tamper(req, a) end
  return req
end

-- Run a session to its end.  opts: pins, policy, reason, slot, certs
-- ("auth" or "sign": revoke that pair only, half-valid), liveness
-- ("pass" by default for issue, reissue, renew), biometric, install_on
-- (another iPhone), tamper(req, action), on_action(a, n).
function wallet.session(w, ph, card, op, opts)
  opts = opts or {}
  local body = { op = op, device = hex(ph:device_id()), reason = opts.reason, slot = opts.slot, certs = opts.certs }
  if op == "issue" or op == "reissue" or op == "renew" then body.liveness = opts.liveness or "pass" end
  local status, a = app.begin(w, card, "/v1/wallet/sessions", body, opts)
  if not status then return a end
  local steps = 0
  while true do
    local ended = app.ended(status, a, steps)
    if ended then return ended end
    steps = steps + 1
    if steps > 10 then return { ok = false, error = "too many steps", session = a.session } end
    if opts.on_action then opts.on_action(a, steps) end
    local req, why, abandoned = answer(w, ph, card, a, opts)
    if not req then return { ok = false, error = why, abandoned = abandoned, session = a.session } end
    status, a = app.call(w, "POST", "/v1/wallet/sessions/" .. a.session .. "/steps", req)
  end
end

do -- each flow one step of the run (--paranoid checks the invariants after it)
  local session = wallet.session
  function wallet.session(w, ph, card, op, opts)
    return mynahil.flow("wallet " .. tostring(op), session, w, ph, card, op, opts)
  end
end

-- wallet.issue(w, ph, card, opts), and reissue, renew, revoke, lift
for _, op in ipairs { "issue", "reissue", "renew", "revoke", "lift" } do
  wallet[op] = function(w, ph, card, opts) return wallet.session(w, ph, card, op, opts) end
end
function wallet.sync(w, ph, opts) return wallet.session(w, ph, nil, "sync", opts) end
function wallet.pin_reset(w, ph, card, slot, pin)
  return wallet.session(w, ph, card, "pin_reset", { slot = slot, pins = { [slot] = pin } })
end

-- ---- the iPhone as a reader sees it (the JPKI AP over NFC) ----

-- VERIFY of a PIN on the iPhone: the response (the auth PIN goes through
-- the biometric check first, docs/ios.md#biometrics).
function wallet.verify(ph, which, pin)
  jpki.select(ph)
  return jpki.verify(ph, which, pin)
end

-- Tries left of a PIN (VERIFY without data).
function wallet.tries(ph, which)
  jpki.select(ph)
  return jpki.retries(ph, which)
end

-- Sign data with the iPhone's key after its PIN: the signature, or nil
-- and the response.
function wallet.sign(ph, which, pin, data)
  local sel = jpki.select(ph)
  if not sel or sel.sw ~= 0x9000 then return nil, sel end
  local v = jpki.verify(ph, which, pin)
  if not v or v.sw ~= 0x9000 then return nil, v end
  return jpki.sign(ph, which, data)
end

-- The iPhone's certificate of a slot (the auth one after its PIN, or the
-- biometric match).
function wallet.cert(ph, which, pin)
  jpki.select(ph)
  jpki.verify(ph, which, pin)
  return jpki.read_ef(ph, which == "auth" and jpki.EF.auth_cert or jpki.EF.sign_cert)
end

-- CHANGE REFERENCE DATA on the iPhone (operation 7, PIN change).
function wallet.change_pin(ph, which, old, new)
  jpki.select(ph)
  return jpki.change_pin(ph, which, old, new)
end

return wallet
