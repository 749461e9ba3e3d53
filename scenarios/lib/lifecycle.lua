-- lifecycle.lua — what the life-cycle scenarios (docs/domain.md#cases)
-- share: a phone (scenarios/lib/phone.lua) with issued certificates, the
-- "no action" cases 10-14 (something happens to the phone: SIM, carrier,
-- network, a carrier's remote lock; the certificates must survive it),
-- a model change, and what each party observes: the TSM's registry and
-- event log, the CA through a relying party (OCSP, the CRL, the JSON
-- API agreeing), the SE through APDUs.
local app = require "app"
local jpki = require "jpki"
local rp = require "rp"
local phone = require "phone"
local lifecycle = {}

-- What the registry and the CA (as a relying party sees it) say of a
-- device, to compare before/after.
function lifecycle.snapshot(w, id)
  local d = app.device(w, id) or {}
  local bank = rp.new(w)
  return {
    status = d.status, applet = d.applet, auth = d.auth_serial, sign = d.sign_serial,
    slots = table.concat(d.slots or {}, ","), pending = tostring(d.pending_delete),
    ca_auth = d.auth_serial and bank:says(d.auth_serial),
    ca_sign = d.sign_serial and bank:says(d.sign_serial),
  }
end
local snapshot = lifecycle.snapshot

-- The TSM's last event about a device: its seq, 0 when the log shows none.
function lifecycle.last_event(w, device)
  local s, e = app.call(w, "GET", "/v1/tsm/events")
  local last = 0
  if s ~= 200 then return nil end
  for _, ev in ipairs(e.events or e) do
    if ev.device == device and ev.seq > last then last = ev.seq end
  end
  return last
end

-- The phone cannot reach the TSM (offline, remote-locked, broken): the
-- app's check-in is refused with why, and the TSM hears nothing of it.
function lifecycle.unreached(w, ph, device, what, why)
  local before = lifecycle.last_event(w, device)
  local s = app.sync(w, ph)
  expect(s.ok, what .. ": the app reaches no TSM").is(false)
  expect(s.error, what .. ": why").contains(why)
  expect(lifecycle.last_event(w, device), what .. ": the TSM heard nothing").is(before)
end

-- The phone signs through its app, and a relying party accepts it: the
-- certificate read from the SE, the signature, chain, OCSP and CRL.
function lifecycle.signs(w, ph, which, pin, what)
  local der = app.phone_cert(ph, which, pin)
  local sig = app.sign(ph, which, pin, what)
  if not der or not sig then return false end
  return rp.new(w):verify(der, what, sig).ok
end

-- Tries left on the phone's PIN (the applet over a logical channel, no
-- try spent): a number, 0 when blocked; nil when there is no applet.
function lifecycle.phone_retries(ph, which)
  return app.on_channel(ph, function(link)
    local sel = jpki.select(link)
    if not sel or sel.sw ~= 0x9000 then return nil end
    return jpki.retries(link, which)
  end)
end

-- A marker that a power cycle wipes: a logical channel left open (a
-- reset closes every channel but the basic one).  reset_since(se, ch):
-- true when the channel is gone (closing it answers 6200).
function lifecycle.mark(se)
  local r = se:transmit("0070000001")
  return r and r.sw == 0x9000 and tonumber(r.hex, 16) or nil
end
function lifecycle.reset_since(se, ch)
  local r = se:transmit(string.format("0070800%X", ch))
  return r ~= nil and r.sw ~= 0x9000
end

-- The n-th handset of a scenario: 1 the se role's, 2 the se2 role's when
-- bound, else a simulated SE of the scenario's own.
function lifecycle.handset(w, n, opts)
  local se
  if n == 2 and w.se2 then se = w.se2 elseif n and n > 1 then se = app.new_se(w, n) end
  return app.phone(w, se, opts)
end

-- The holder's phone n with issued certificates: phone, card, the
-- issuance's result (nil when it failed).
function lifecycle.issued(w, n, pins, opts)
  local ph = lifecycle.handset(w, n or 1, opts)
  local card = ph.owner.card
  local r = app.issue(w, ph, card, { pins = pins })
  expect(r.ok, "issued on phone " .. tostring(n or 1) .. ": " .. tostring(r.error)).is_true()
  return ph, card, r.ok and r.result or nil
end

-- Another holder than the bound card's (app.other_card), as a person
-- with the card and its PINs.
function lifecycle.other_owner(w, name)
  local c = app.other_card(w)
  return phone.owner(w, c.link, c.pins, name)
end

-- A "no action" case: the holder's phone (MNO-A's SIM, locked to its
-- network, on cellular) with issued certificates; event(ph, device, pins)
-- changes what it changes and returns whether it rebooted the handset;
-- then the phone, back online, checks in with the TSM and everything is
-- as before.
function lifecycle.no_action(w, event)
  local ph = app.phone(w)
  local pins = { auth = "1470", sign = "NOACTION1" }
  local r = app.issue(w, ph, ph.owner.card, { pins = pins })
  expect(r.ok, "issued: " .. tostring(r.error)).is_true()
  if not r.ok then return end
  local dev = r.result.device
  local before = snapshot(w, dev)
  expect(before.ca_auth, "CA: auth valid before").is "valid"
  local ch = lifecycle.mark(ph.se)

  local rebooted = event(ph, dev, pins)

  expect(ch and lifecycle.reset_since(ph.se, ch), "SE: the handset " ..
    (rebooted and "rebooted (power cycle)" or "did not reboot")).is(rebooted and true or false)
  local up, how = ph:online()
  expect(up, "back online after the event: " .. tostring(how)).is_true()
  local seen = lifecycle.last_event(w, dev)
  local s = app.sync(w, ph)
  expect(s.ok, "the app checks in with the TSM: " .. tostring(s.error)).is_true()
  expect(lifecycle.last_event(w, dev) > seen, "TSM: the check-in is in its log").is_true()
  expect(s.result and s.result.status, "TSM: the device still active").is "active"
  expect(app.applet_present(ph), "SE: the applet answers after the event").is_true()
  local after = snapshot(w, dev)
  for _, k in ipairs { "status", "applet", "auth", "sign", "slots", "pending", "ca_auth", "ca_sign" } do
    expect(after[k], "unchanged after the event: " .. k).is(before[k])
  end
  expect(lifecycle.signs(w, ph, "auth", pins.auth, "login after the event"), "RP accepts the auth key's signature").is_true()
  expect(lifecycle.signs(w, ph, "sign", pins.sign, "contract after the event"), "RP accepts the sign key's signature").is_true()
  expect((app.check(w)), "registry and CA agree").is_true()
end

-- The holder's phone issued, then revoked on the phone itself by its
-- holder (cessationOfOperation): the applet is deleted there (cases 1, 9,
-- 15).  who names the phone in the expects.  Phone, card, the issuance's
-- result (nil when a step failed).
function lifecycle.issued_revoked(w, pins, who)
  local ph, card, r = lifecycle.issued(w, 1, pins)
  if not r then return ph, card, nil end
  local v = app.revoke(w, ph, card, { reason = "cessationOfOperation" })
  expect(v.ok, who .. ": revoked on the phone: " .. tostring(v.error)).is_true()
  expect(app.applet_present(ph), who .. ": applet deleted at revocation").is(false)
  return ph, card, v.ok and r or nil
end

-- Case 1: the holder revokes on the old phone (the applet is deleted
-- there), then issues on the new one.
function lifecycle.model_change(w)
  local pins = { auth = "2580", sign = "OLDPHONE1" }
  local old, _, o = lifecycle.issued_revoked(w, pins, "old phone")
  if not o then return end
  local new, _, n = lifecycle.issued(w, 2, { auth = "3691", sign = "NEWPHONE1" })
  if not n then return end
  local bank = rp.new(w)
  expect(bank:says(o.auth_serial), "RP: the old phone's auth revoked").is "revoked"
  expect(bank:says(o.sign_serial), "RP: the old phone's sign revoked").is "revoked"
  expect(bank:says(n.auth_serial), "RP: the new phone's auth valid").is "valid"
  expect(lifecycle.signs(w, new, "sign", "NEWPHONE1", "on the new phone"), "RP accepts the new phone's signature").is_true()
  expect(app.sign(old, "sign", pins.sign, "on the old phone"), "the old phone signs nothing").is(nil)
  expect((app.check(w)), "registry and CA agree").is_true()
end

-- Cases 3 and 4: number portability to new_carrier with a new phone.  The
-- port cancels the old line: the old phone is offline unless on Wi-Fi.
-- revoke_first: the holder means to revoke on the old phone first (case
-- 4): refused while it is offline, done once it joins Wi-Fi, then the new
-- phone is issued.  Without (case 3): the new phone's issuance revokes the
-- old (one phone per holder), whose applet's deletion waits until the old
-- phone reaches a network.
function lifecycle.mnp(w, new_carrier, revoke_first)
  local pins = { auth = "2580", sign = "OLDPHONE1" }
  local old, card, o = lifecycle.issued(w, 1, pins)
  if not o then return end
  local bank = rp.new(w)
  local new = lifecycle.handset(w, 2, { sim = phone.sim(new_carrier) })
  old:cancel_line()                            -- the number moved to new_carrier
  lifecycle.unreached(w, old, o.device, "old phone, line cancelled", "offline")
  if revoke_first then
    local v = app.revoke(w, old, card, { reason = "cessationOfOperation" })
    expect(v.ok, "revoke on the offline old phone").is(false)
    expect(bank:says(o.sign_serial), "RP: nothing revoked while it is offline").is "valid"
    old:join_wifi()
    v = app.revoke(w, old, card, { reason = "cessationOfOperation" })
    expect(v.ok, "revoked on the old phone over Wi-Fi: " .. tostring(v.error)).is_true()
    expect(app.applet_present(old), "old phone: applet deleted at revocation").is(false)
  end
  local n = app.issue(w, new, card, { pins = { auth = "3691", sign = "NEWPHONE1" } })
  expect(n.ok, "issued on the new phone (" .. new_carrier .. "): " .. tostring(n.error)).is_true()
  if not n.ok then return end
  local st, c = bank:says(o.auth_serial)
  expect(st, "RP: the old phone's auth revoked").is "revoked"
  expect(c and c.reason, "RP: why").is(revoke_first and "cessationOfOperation" or "superseded")
  expect(bank:says(o.sign_serial), "RP: the old phone's sign revoked").is "revoked"
  expect(bank:says(n.result.auth_serial), "RP: the new phone's auth valid").is "valid"
  expect(lifecycle.signs(w, new, "sign", "NEWPHONE1", "on the new phone"), "RP accepts the new phone's signature").is_true()
  if not revoke_first then
    expect(app.device(w, o.device).pending_delete, "registry: the old phone's deletion pending").is(true)
    lifecycle.unreached(w, old, o.device, "old phone still offline", "offline")
    expect(app.applet_present(old), "old phone: applet still there while offline").is_true()
    old:join_wifi()                            -- at home
    local s = app.sync(w, old)
    expect(s.ok, "old phone on Wi-Fi checks in: " .. tostring(s.error)).is_true()
    expect(app.applet_present(old), "old phone: applet deleted once it reached a network").is(false)
    expect(app.device(w, o.device).pending_delete, "registry: nothing pending").is(false)
  end
  expect(app.sign(old, "sign", pins.sign, "on the old phone"), "the old phone signs nothing").is(nil)
  expect((app.check(w)), "registry and CA agree").is_true()
end

return lifecycle
