-- lifecycle.lua — the "no action" life-cycle cases 10-14 (docs/domain.md#cases):
-- something happens to the phone (SIM, carrier, network, a carrier's
-- remote lock) and the certificates must survive it.  These are tests
-- too: after the event the phone still signs with both keys under its
-- certificates, and nothing changed in the TSM registry or at the CA.
local app = require "app"
local rp = require "rp"
local lifecycle = {}

-- What the registry and the CA (as a relying party sees it: OCSP, the
-- CRL and the JSON API agreeing) say of a device, to compare before/after.
local function snapshot(w, id)
  local d = app.device(w, id) or {}
  local bank = rp.new(w)
  return {
    status = d.status, applet = d.applet, auth = d.auth_serial, sign = d.sign_serial,
    slots = table.concat(d.slots or {}, ","), pending = tostring(d.pending_delete),
    ca_auth = d.auth_serial and bank:says(d.auth_serial),
    ca_sign = d.sign_serial and bank:says(d.sign_serial),
  }
end

local function signs(phone, which, pin, what)
  local der = app.phone_cert(phone, which, pin)
  local sig = app.sign(phone, which, pin, what)
  return der ~= nil and sig ~= nil and mynahil.crypto.verify(der, "sha256", what, sig)
end

-- A phone (SIM locked to carrier "MNO-A", on cellular) with issued
-- certificates; event(phone) changes what it changes; then the checks.
function lifecycle.no_action(w, event)
  local phone = app.phone(w)
  phone.carrier, phone.sim, phone.network, phone.locked = "MNO-A", { locked = true }, "cellular", false
  local card = app.card(w.card, w.profile.pins)
  local pins = { auth = "1470", sign = "NOACTION1" }
  local r = app.issue(w, phone, card, { pins = pins })
  expect(r.ok, "issued: " .. tostring(r.error)).is_true()
  if not r.ok then return end
  local before = snapshot(w, r.result.device)
  expect(before.ca_auth, "CA: auth valid before").is "valid"

  event(phone)

  expect(app.applet_present(phone), "SE: the applet answers after the event").is_true()
  local after = snapshot(w, r.result.device)
  for _, k in ipairs { "status", "applet", "auth", "sign", "slots", "pending", "ca_auth", "ca_sign" } do
    expect(after[k], "unchanged after the event: " .. k).is(before[k])
  end
  expect(signs(phone, "auth", pins.auth, "login after the event"), "the auth key signs").is_true()
  expect(signs(phone, "sign", pins.sign, "contract after the event"), "the sign key signs").is_true()
  expect((app.check(w)), "registry and CA agree").is_true()
end

-- A reboot of the handset (a SIM swap, a carrier change): the SE loses
-- power and comes back with its NVM.
function lifecycle.reboot(phone)
  expect(phone.se:power "off", "handset off").is_true()
  expect(phone.se:power "cold", "handset on").is_true()
end

-- Alice's phone with issued certificates: phone, card, the issuance result.
function lifecycle.issued(w, n, pins)
  local phone = app.phone(w, n and n > 1 and app.new_se(w, n) or nil)
  local card = app.card(w.card, w.profile.pins)
  local r = app.issue(w, phone, card, { pins = pins })
  expect(r.ok, "issued on phone " .. tostring(n or 1) .. ": " .. tostring(r.error)).is_true()
  return phone, card, r.ok and r.result or nil
end

-- A new phone (the second handset of a model change), issued.  With
-- revoke_first the holder revoked the old one on the old one first (the
-- applet is deleted there); without, the TSM revokes it (one phone per
-- holder) and deletes its applet when it is next online.
function lifecycle.model_change(w, revoke_first)
  local pins = { auth = "2580", sign = "OLDPHONE1" }
  local old, card, o = lifecycle.issued(w, 1, pins)
  if not o then return end
  if revoke_first then
    local v = app.revoke(w, old, card, { reason = "cessationOfOperation" })
    expect(v.ok, "revoked on the old phone: " .. tostring(v.error)).is_true()
    expect(app.applet_present(old), "old phone: applet deleted at revocation").is(false)
  end
  local new, _, n = lifecycle.issued(w, 2, { auth = "3691", sign = "NEWPHONE1" })
  if not n then return end
  local bank = rp.new(w)
  expect(bank:says(o.auth_serial), "RP: the old phone's auth revoked").is "revoked"
  expect(bank:says(o.sign_serial), "RP: the old phone's sign revoked").is "revoked"
  expect(bank:says(n.auth_serial), "RP: the new phone's auth valid").is "valid"
  expect(app.sign(new, "sign", "NEWPHONE1", "on the new phone") ~= nil, "the new phone signs").is_true()
  if not revoke_first then
    expect(app.device(w, o.device).pending_delete, "old phone: deletion pending").is(true)
    expect(app.applet_present(old), "old phone: applet still there while offline").is_true()
    local s = app.sync(w, old)
    expect(s.ok, "old phone online again: " .. tostring(s.error)).is_true()
    expect(app.applet_present(old), "old phone: applet deleted when next online").is(false)
  end
  expect(app.sign(old, "sign", pins.sign, "on the old phone"), "the old phone signs nothing").is(nil)
  expect((app.check(w)), "registry and CA agree").is_true()
end

return lifecycle
