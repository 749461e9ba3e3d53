-- app.lua — the smartphone JPKI app (マイナポータル) as it drives the TSM:
-- read the card over NFC, ask the TSM, relay its SCP03 scripts to the SE,
-- have the card sign what the TSM asks for, hand the answers back.  The
-- same flows run against the in-process TSM and a served one
-- (--target tsm=http://HOST:PORT): w.tsm:call() speaks the same JSON.
--
--   local ph = app.phone(w)                   -- the SE of w.se
--   local r = app.issue(w, ph, card, { pins = {auth="1357", sign="PHONE123"} })
--   r.ok, r.result (device, serials, slots), r.status, r.error, r.session;
--   r.reason, r.notice: why the certificates are no longer valid (linked
--   revocation, hold, expiry: the CA changed them under the TSM)
local jpki = require "jpki"
local phone_actor = require "phone"
local hex, unhex = mynahil.hex, mynahil.unhex

local app = {}

-- A phone (scenarios/lib/phone.lua: owner, SIM and carrier, network,
-- remote lock, power; by default working, on MNO-A's network, owned by
-- w.card's holder) and its SE link.  Without a link: the scenario's se
-- role, except that a plain simulated SE becomes a phone of its own
-- (sim:se?serial=..., from the scenario id and seed), so scenarios
-- sharing one served TSM do not share a device.  opts: phone.new's.
function app.phone(w, se, opts)
  if not se and w.se and w.se:uri() ~= "sim:se" then se = w.se end
  opts = opts or {}
  opts.se = se or app.new_se(w, 1)
  if se and (rawequal(se, w.se) or rawequal(se, w.se2)) then app.shared(w, se) end
  return phone_actor.new(w, opts)
end

-- ---- a device shared with other scenarios ----
-- A bound se or se2 (a served or real SE) is the same device for every
-- scenario of a run, and of the next run: each scenario finds it without
-- the holder's certificates and leaves it so, even when it failed (a
-- teardown).  Cleared: its certificates revoked with the card they were
-- issued on (the bound card, its own certificates of app.own_card, or
-- app.other_card), the applet deleted (delete_applet_on_revoke=force).
-- app.keep_devices = true (before the first app.phone): no set-up, no
-- teardown, for a test that leaves a bench broken on purpose; `mynahil
-- run --keep-devices` (w.keep_devices) does the same for a whole run, to
-- look at or save what a scenario left on an SE.
local shared = {}
function app.shared(w, se, fresh)
  if shared[se] or app.keep_devices or w.keep_devices then return end
  shared[se] = true
  if not fresh then app.clear(w, se, "set-up") end
  mynahil.teardown("leave " .. se:uri() .. " as found", function() app.clear(w, se, "teardown") end)
end

local FORCE = { delete_applet_on_revoke = "force", half_valid = "erase_revoked" }

-- The card a device's certificates were issued on: the bound card (under
-- its own serial or a certificate of the scenario's own for the same
-- key), or the other fixture holder's.
local function card_of(w, serial)
  local mine = app.card(w.card, w.profile.pins)
  if app.card_serial(mine) ~= serial then
    local other = app.other_card(w)
    if other and app.card_serial(other) == serial then return other end
  end
  return { link = mine.link, pins = mine.pins, serial = serial }
end

function app.clear(w, se, what)
  se:power "cold"                  -- a phone the scenario broke works again
  local ph = phone_actor.new(w, { se = se })
  local s
  for _ = 1, 2 do
    s = app.sync(w, ph, { policy = FORCE })   -- a pending deletion done
    local d = s.ok and s.result.device and app.device(w, s.result.device) or {}
    if not d.card_serial or not app.applet_present(ph) then break end
    local card, opts = card_of(w, d.card_serial), { policy = FORCE, reason = "cessationOfOperation" }
    if d.status ~= "active" and d.status ~= "hold" and d.status ~= "half" then
      -- revoked with the applet kept (warn, half_valid=block): certificates
      -- again, so that a revocation under force deletes it
      opts.pins = { auth = "0000", sign = "TEARDOWN0" }
      if not app.reissue(w, ph, card, opts).ok then break end
    end
    local v = app.revoke(w, ph, card, opts)
    if not v.ok and v.field == "signatures" then
      -- the card was renewed since (a new key): its current certificate
      card.serial = nil
      v = app.revoke(w, ph, card, opts)
    end
    if not v.ok and v.field == "card_serial" then
      -- the card certificate is on hold, revoked or expired: a
      -- certificate of the scenario's own (app.own_card, never a
      -- fixture holder's) is revoked at the CA, whose linkage revokes
      -- the phone's; the next check-in deletes the applet
      local st, c = w.ca:call("GET", "/v1/certs/" .. d.card_serial)
      if st == 200 and c.holder ~= app.holder(w, app.card(w.card, w.profile.pins))
         and (not app.other_card(w) or c.holder ~= app.holder(w, app.other_card(w))) then
        w.ca:call("POST", "/v1/certs/" .. d.card_serial .. "/revoke", { reason = "cessationOfOperation" })
      end
    end
  end
  expect(s.ok, what .. ": " .. se:uri() .. " checks in: " .. tostring(s.error)).is_true()
  expect(app.applet_present(ph), what .. ": " .. se:uri() .. " without the applet").is(false)
end

function app.new_se(w, n)
  local h = mynahil.hex(mynahil.crypto.sha256(w.id .. "/" .. tostring(w.seed) .. "/" .. n)):sub(1, 8)
  -- it stands for the se role (n = 1) or se2: their faults apply (docs/faults.md)
  local se = assert(w:open("sim:se?serial=" .. h, n == 1 and "se" or n == 2 and "se2" or nil))
  -- A served TSM remembers this device (the same serial every run) after
  -- the simulated SE is gone: it leaves the scenario without certificates.
  if w.tsm:uri():match("^https?:") then app.shared(w, se, true) end
  return se
end

-- A holder's card: its link and the PINs the holder knows.
function app.card(link, pins)
  return { link = link, pins = pins }
end

-- ---- a card certificate of the scenario's own ----
-- A scenario that revokes or holds the card's sign certificate at the CA
-- (J-LIS: the card is lost) must not do it to the fixture holder's: a
-- served TSM and CA are shared by every scenario of a run.  app.own_card
-- registers, for the same card key, a new card sign certificate of a
-- holder of its own (HOLDER-<hash of the scenario id and seed>) and
-- returns the card with that serial: the card signs as before, the CA
-- checks it under the new certificate.

-- A DER element at i: its content start and end (exclusive).
local function der_el(s, i)
  local b, c = s:byte(i + 1), i + 2
  if b >= 0x80 then
    local n = b & 0x7F
    b = 0
    for k = 0, n - 1 do b = b * 256 + s:byte(c + k) end
    c = c + n
  end
  return c, c + b
end

-- The SubjectPublicKeyInfo of a certificate (DER).
function app.spki(der)
  local i = der_el(der, 1)   -- Certificate
  i = der_el(der, i)         -- tbsCertificate
  if der:byte(i) == 0xA0 then i = select(2, der_el(der, i)) end -- version
  for _ = 1, 5 do i = select(2, der_el(der, i)) end -- serial, signature, issuer, validity, subject
  return der:sub(i, select(2, der_el(der, i)) - 1)
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
function app.b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a << 16 | (b or 0) << 8 | (c or 0)
    local q = {}
    for k = 1, 4 do
      local v = (n >> (6 * (4 - k))) & 63
      q[k] = B64:sub(v + 1, v + 1)
    end
    if not b then q[3], q[4] = "=", "=" elseif not c then q[4] = "=" end
    out[#out + 1] = table.concat(q)
  end
  return table.concat(out)
end

-- A served CA remembers the holders of an earlier run of the same
-- scenario: this run's is the first of NAME, NAME-2, NAME-3... the CA has
-- no certificate of (the same for the whole run of the scenario).
local own_names = {}
function app.own_holder(w, name)
  if not w.ca:uri():match("^https?:") then return name end
  if not own_names[name] then
    local k, try = 1, name
    while true do
      local s, l = w.ca:call("GET", "/v1/holders/" .. try .. "/certs")
      if s ~= 200 or not l.certs or #l.certs == 0 then break end
      k = k + 1
      try = name .. "-" .. k
    end
    own_names[name] = try
  end
  return own_names[name]
end

-- renews: the serial of the holder's card certificate this one renews
-- (J-LIS revokes it, superseded, and with it the linked phone ones);
-- not_after ("YYYYMMDDhhmmssZ"): a certificate that expires early; spki
-- (DER): the key to certify, when it is not the card's sign key (a
-- renewal's new key pair: clock.renew_card).
function app.own_card(w, card, prefix, renews, not_after, spki)
  if not spki then
    jpki.select(card.link)
    local r = jpki.verify(card.link, "sign", card.pins.sign)
    if not r or r.sw ~= 0x9000 then return nil, "sign PIN refused" end
    local der = jpki.read_ef(card.link, jpki.EF.sign_cert)
    if not der then return nil, "no sign certificate" end
    spki = app.spki(der)
  end
  local holder = app.own_holder(w, (prefix or "own") .. "-" ..
    mynahil.hex(mynahil.crypto.sha256(w.id .. "/" .. tostring(w.seed))):sub(1, 12):lower())
  local s, c = w.ca:call("POST", "/v1/card-certs", {
    holder = holder, purpose = "sign", spki = app.b64(spki), birth = "19800217",
    name = "連動　失効", sex = "2", address = "東京都千代田区霞が関２丁目１番２号", renews = renews,
    not_after = not_after })
  if s ~= 201 and s ~= 200 then return nil, "card certificate: " .. tostring(s) .. " " .. tostring(c and c.error) end
  return { link = card.link, pins = card.pins, serial = c.serial, holder = holder }
end

-- A phone issued on a card certificate of the scenario's own (valid to
-- not_after, default its 5th birthday): phone, card (with its serial),
-- the issue's answer, the fixture card; or nil and why.
function app.own_issued(w, prefix, pins, not_after)
  local base = app.card(w.card, w.profile.pins)
  local card, why = app.own_card(w, base, prefix, nil, not_after)
  if not card then return nil, "a card certificate of the scenario's own: " .. tostring(why) end
  local phone = app.phone(w)
  local r = app.issue(w, phone, card, { pins = pins })
  if not r.ok then return nil, "issued: " .. tostring(r.error) end
  return phone, card, r, base
end

-- After a check-in under delete_applet_on_revoke = warn: what the holder
-- is left with: the answer's warning, the slot states it reports, the
-- applet, and whether a relying party accepts what the key still signs.
function app.kept_applet(phone, answer, pin, der, bank)
  local res = answer.result or {}
  local sig = app.sign(phone, "sign", pin, "after")
  return { warning = res.warning, slots = res.slots or {}, applet = app.applet_present(phone),
           accepted = (sig and der and bank:verify(der, "after", sig).ok) or false }
end

-- Why the phone's certificates are no longer valid, as the app tells the
-- holder (the TSM's `reason`: the CA changed them under it).
app.reasons = {
  card_revoked = "the card's signature certificate was revoked (lost or stolen card): "
    .. "the phone's certificates were revoked with it",
  card_renewed = "the card's signature certificate was renewed: apply for the phone's certificates again",
  card_held = "the card's signature certificate is suspended: the phone's certificates are suspended with it",
  card_expired = "the card's certificates expired: the phone's expired with them",
  revoked_at_ca = "the phone's certificates were revoked by J-LIS",
  held_at_ca = "the phone's certificates are suspended by J-LIS",
  expired = "the phone's certificates expired",
  issuance_failed = "issuing the phone's certificates failed part-way: the ones made were revoked; "
    .. "apply again",
}

function app.notice(result)
  local why = result and result.reason
  if not why then return nil end
  return (app.reasons[why] or why) .. (result.ca_reason and " (" .. result.ca_reason .. ")" or "")
end

-- The card sign certificate's serial (upper-case hex, even length), read
-- after the sign PIN (docs/card.md#commands).
function app.card_serial(card)
  jpki.select(card.link)
  local r = jpki.verify(card.link, "sign", card.pins.sign)
  if not r or r.sw ~= 0x9000 then return nil, "sign PIN refused" end
  local der = jpki.read_ef(card.link, jpki.EF.sign_cert)
  if not der then return nil, "no sign certificate" end
  local s = mynahil.crypto.cert(der).serial
  if #s % 2 == 1 then s = "0" .. s end
  return s
end

-- The holder of a card, as the CA records its sign certificate (the name
-- the TSM's registry and the call centre use): nil, why when unknown.
function app.holder(w, card)
  local serial, why = card.serial or app.card_serial(card)
  if not serial then return nil, why end
  local s, c = w.ca:call("GET", "/v1/certs/" .. serial)
  if s ~= 200 then return nil, "card certificate " .. serial .. ": " .. tostring(s) end
  return c.holder
end

-- Another holder's card than the bound one (w.profile): bob's fixture
-- card, or alice's when bob's is bound; simulated, with its PINs.
local others = {
  { file = "profiles/bob.lua", number = "987654321000", pins = { auth = "5678", sign = "BOBSIGN2026" } },
  { file = "profiles/default.lua", number = "123456789018", pins = { auth = "1234", sign = "MYNAHIL1" } },
}
function app.other_card(w)
  local mine = w.profile and rawget(w.profile, "holder") and rawget(w.profile.holder, "number")
  for _, o in ipairs(others) do
    if o.number ~= mine then
      return app.card(assert(w:open("sim:card?profile=" .. w:fixture(o.file), "card2")), o.pins)
    end
  end
end

-- The IDm of the phone's FeliCa chip (Polling, system code FFFF).
function app.idm(phone)
  local r = phone.se:transmit("0600FFFF0000")
  if not r then return nil end
  local frame = r.hex .. string.format("%04X", r.sw)
  return frame:sub(5, 20)
end

-- Relay a script: every APDU in order, each answer as data ‖ SW in hex.
function app.relay(se, apdus, stop_after)
  local out = {}
  for i, a in ipairs(apdus) do
    if stop_after and i > stop_after then break end
    local r = se:transmit(a)
    out[i] = r and (r.hex .. string.format("%04X", r.sw)) or ""
  end
  return out
end

-- Call the TSM; a server that cannot be reached (restarting) is retried
-- until the deadline (seconds).
local function call(w, method, path, body, deadline)
  local status, res
  local tries = 0
  repeat
    status, res = w.tsm:call(method, path, body)
    tries = tries + 1
    if status ~= 0 then return status, res end
    -- no sleep in the sandbox: a failed connect costs its own time
  until tries > (deadline or 200)
  return status, res
end
app.call = call

local function card_sign(card, digest_infos)
  local sigs = {}
  jpki.select(card.link)
  local v = jpki.verify(card.link, "sign", card.pins.sign)
  if not v or v.sw ~= 0x9000 then return nil end
  for i, di in ipairs(digest_infos) do
    local sig = jpki.sign_digestinfo(card.link, "sign", unhex(di))
    if not sig then return nil end
    sigs[i] = hex(sig)
  end
  return sigs
end

app.card_sign_with = card_sign   -- the card's signatures over digest_infos (hex), or nil

-- What a session's begin request carries for either service (the TSM's
-- /v1/tsm/sessions, the Wallet's /v1/wallet/sessions): the policy (opts',
-- else the run's; none when empty) and the card's sign certificate
-- serial (opts.card_serial, card.serial, else read from the card);
-- posted to path.  The status and answer, or nil and the flow's result
-- when the card's serial could not be read.
function app.begin(w, card, path, body, opts)
  body.policy = opts.policy or w.policy
  if body.policy and next(body.policy) == nil then body.policy = nil end
  if card then
    local serial, why = opts.card_serial or card.serial, nil
    if not serial then serial, why = app.card_serial(card) end
    if not serial then return nil, { ok = false, error = why } end
    body.card_serial = serial
  end
  return call(w, "POST", path, body)
end

-- A service's answer that ends the session, as the flow's result (a
-- refusal: ok = false, status, error, field, and reason, notice when the
-- TSM undid what the session had done; done: ok = true, result, reason,
-- notice), or nil when it asks the app for an action.
function app.ended(status, a, steps)
  if status ~= 200 and status ~= 201 then
    local e = a.error
    return { ok = false, status = status, error = type(e) == "table" and e.error or e or a.raw,
             field = a.field or (type(e) == "table" and e.field), session = a.session, answer = a,
             reason = a.reason, notice = app.notice(a) }
  end
  if a.action == "done" then
    return { ok = true, status = status, result = a.result, session = a.session, steps = steps,
             reason = a.result and a.result.reason, notice = app.notice(a.result) }
  end
end

-- Run a session to its end.  opts: pins, policy, reason, certs, slot,
-- device, remote, signer = "phone" with phone_pin (revoke_without_card);
-- drop_at = n: lose the relay after the first drop_after APDUs of step n
-- (opts.dropped then), lose_answer_at = n (opts.answer_lost); hooks:
-- on_action(answer, n) sees every action, sign_with(answer, card)
-- answers a card_sign instead of the card (hex signatures and the
-- signer to claim, or nil).
function app.session(w, phone, card, op, opts)
  opts = opts or {}
  -- The phone (or PC) the app runs on must run it and reach the TSM:
  -- nothing is sent otherwise (an offline phone's pending deletion waits).
  if phone and phone.online then
    local up, why = phone:online()
    if not up then return { ok = false, error = why, offline = true } end
  end
  local body = { op = op, pins = opts.pins, reason = opts.reason, certs = opts.certs, slot = opts.slot,
                 device = opts.device, remote = opts.remote }
  if phone and phone.se and not opts.remote then body.idm = app.idm(phone) end
  local status, a = app.begin(w, card, "/v1/tsm/sessions", body, opts)
  if not status then return a end
  local steps = 0
  while true do
    local ended = app.ended(status, a, steps)
    if ended then return ended end
    steps = steps + 1
    if steps > 40 then return { ok = false, error = "too many steps", session = a.session } end
    local req = { step = a.step, pins = opts.pins }
    if opts.on_action then opts.on_action(a, steps) end   -- a test's eyes on every action
    if a.action == "apdus" then
      if opts.drop_at == steps then
        -- The relay dies mid-script: the first drop_after APDUs reached the
        -- SE, the rest never did; the app reports what it has.
        opts.drop_at = nil
        opts.dropped = true   -- the caller can see the drop happened
        req.responses = app.relay(phone.se, a.apdus, opts.drop_after or 1)
      else
        req.responses = app.relay(phone.se, a.apdus)
      end
    elseif a.action == "card_sign" and opts.sign_with then
      -- a test answers for the card (a forged or replayed signature)
      local sigs, signer = opts.sign_with(a, card)
      if not sigs then return { ok = false, error = "no signature to send", session = a.session } end
      req.signatures, req.signer = sigs, signer
    elseif a.action == "card_sign" and opts.signer == "phone" then
      -- revoke_without_card: the phone's own sign key authorises (its
      -- applet over a logical channel, after the phone's sign PIN).
      local sig = app.sign(phone, "sign", opts.phone_pin, unhex(a.messages[1]))
      if not sig then return { ok = false, error = "the phone would not sign", session = a.session } end
      req.signatures, req.signer = { hex(sig) }, "phone"
    elseif a.action == "card_sign" then
      local sigs = card_sign(card, a.digest_infos)
      if not sigs then return { ok = false, error = "the card would not sign", session = a.session } end
      req.signatures = sigs
    else
      return { ok = false, status = status, error = "unknown action " .. tostring(a.action), answer = a }
    end
    local sid = a.session
    status, a = call(w, "POST", "/v1/tsm/sessions/" .. sid .. "/steps", req)
    if opts.lose_answer_at == steps and status == 200 then
      -- The TSM's answer was lost: the same step again gets the same answer.
      opts.lose_answer_at = nil
      opts.answer_lost = true
      local s2, a2 = call(w, "POST", "/v1/tsm/sessions/" .. sid .. "/steps", req)
      status, a = s2, a2
    end
  end
end

-- Each flow is one step of the run: --paranoid checks the invariants
-- after it, and a violation names the scenario line that ran it.
-- A flow a fault broke (docs/faults.md: a tear, a power loss, a dropped
-- connection) is tried once more, as its user would: the retry is part
-- of the same step.  Without a fault nothing is retried, so a refusal a
-- scenario expects stays a refusal.
do
  local session = app.session
  local function with_retry(w, phone, card, op, opts)
    local fired = mynahil._faults_fired()
    local r = session(w, phone, card, op, opts)
    if not r.ok and not r.offline and mynahil._faults_fired() > fired then
      local first = r
      r = session(w, phone, card, op, opts)
      r.retried, r.first = true, first
    end
    return r
  end
  function app.session(w, phone, card, op, opts)
    return mynahil.flow("app " .. tostring(op), with_retry, w, phone, card, op, opts)
  end
end

function app.issue(w, phone, card, opts) return app.session(w, phone, card, "issue", opts) end
function app.reissue(w, phone, card, opts) return app.session(w, phone, card, "reissue", opts) end
function app.renew(w, phone, card, opts) return app.session(w, phone, card, "renew", opts) end
function app.revoke(w, phone, card, opts) return app.session(w, phone, card, "revoke", opts) end
function app.lift(w, phone, card, opts) return app.session(w, phone, card, "lift", opts) end
function app.sync(w, phone, opts) return app.session(w, phone, nil, "sync", opts) end
function app.pin_reset(w, phone, card, slot, pin)
  return app.session(w, phone, card, "pin_reset", { slot = slot, pins = { [slot] = pin } })
end

-- The call centre (コールセンタ): a holder's report of loss.
function app.hold(w, holder)
  return call(w, "POST", "/v1/tsm/callcenter/hold", { holder = holder })
end

-- ---- what the checks read ----

-- The registry's record of a device.
function app.device(w, id)
  local s, d = call(w, "GET", "/v1/tsm/devices/" .. id)
  if s ~= 200 then return nil end
  return d
end

-- The CA's status of a certificate: "valid", "hold", "revoked", "expired".
function app.ca_status(w, serial)
  local s, c = w.ca:call("GET", "/v1/certs/" .. serial)
  if s ~= 200 then return nil, c end
  return c.status, c
end

-- The registry and the CA agree (invariant 4, docs/domain.md#invariants).
function app.check(w)
  local s, c = call(w, "GET", "/v1/tsm/check")
  return s == 200 and c.ok, c
end

-- The invariants (docs/domain.md#invariants) are
-- scenarios/lib/invariants.lua's.

-- The SE as the phone sees it: the JPKI applet present? Its token; the
-- slots are the TSM's to read.
function app.applet_present(phone)
  local r = phone.se:transmit("0070000001")
  if not r or r.sw ~= 0x9000 then return nil end
  local ch = tonumber(r.hex, 16)
  local sel = phone.se:transmit(string.format("%02XA4040C0A", ch) .. jpki.AID)
  phone.se:transmit(string.format("0070800%X", ch))
  return sel and sel.sw == 0x9000
end

-- fn(link) on a logical channel of the phone's SE (a link whose
-- transmit puts the channel in the CLA), the channel closed after:
-- fn's results, or nil and the MANAGE CHANNEL answer.
function app.on_channel(phone, fn)
  local r = phone.se:transmit("0070000001")
  if not r or r.sw ~= 0x9000 then return nil, r end
  local ch = tonumber(r.hex, 16)
  local link = { transmit = function(_, a)
    return phone.se:transmit(string.format("%02X", tonumber(a:sub(1, 2), 16) | ch) .. a:sub(3)) end }
  local out = table.pack(fn(link))
  phone.se:transmit(string.format("0070800%X", ch))
  return table.unpack(out, 1, out.n)
end

-- Sign with the phone's key (the JPKI applet on the SE, over an OMAPI
-- logical channel): returns the signature or nil, response.
function app.sign(phone, which, pin, data)
  if phone.runs then   -- a broken or remote-locked phone's app signs nothing
    local up, why = phone:runs()
    if not up then return nil, why end
  end
  local r = phone.se:transmit("0070000001")
  if not r or r.sw ~= 0x9000 then return nil, r end
  local ch = tonumber(r.hex, 16)
  local function cla(apdu) return string.format("%02X", tonumber(apdu:sub(1, 2), 16) | ch) .. apdu:sub(3) end
  local ch_link = {
    transmit = function(_, a) return phone.se:transmit(cla(a)) end,
  }
  local sel = jpki.select(ch_link)
  local sig, rr
  if sel and sel.sw == 0x9000 then
    local v = jpki.verify(ch_link, which, pin)
    if v and v.sw == 0x9000 then
      sig, rr = jpki.sign(ch_link, which, data)
    else
      rr = v
    end
  else
    rr = sel
  end
  phone.se:transmit(string.format("0070800%X", ch))
  return sig, rr
end

-- The phone's certificate of a slot (after its PIN, on the phone the auth
-- certificate is behind the auth PIN too).
function app.phone_cert(phone, which, pin)
  local r = phone.se:transmit("0070000001")
  if not r or r.sw ~= 0x9000 then return nil end
  local ch = tonumber(r.hex, 16)
  local ch_link = { transmit = function(_, a)
    return phone.se:transmit(string.format("%02X", tonumber(a:sub(1, 2), 16) | ch) .. a:sub(3)) end }
  jpki.select(ch_link)
  jpki.verify(ch_link, which, pin)
  local der = jpki.read_ef(ch_link, which == "auth" and jpki.EF.auth_cert or jpki.EF.sign_cert)
  phone.se:transmit(string.format("0070800%X", ch))
  return der
end

return app
