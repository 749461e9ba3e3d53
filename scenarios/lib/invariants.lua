-- invariants.lua — the five invariants (docs/domain.md#invariants), over what each party
-- actually holds: the TSM registry (/v1/tsm), the CA (status, linkage,
-- a holder's certificates; OCSP as a relying party asks it), each SE of
-- the run (the JPKI applet, its slot states, the certificates in them,
-- its PIN counters), each iPhone of the run (its credential, the
-- certificates in it, its PIN counters: read as an SE whose applet is
-- the credential) and each card's PIN counters.  Loaded by the prelude
-- into every scenario; docs/invariants.md says how each party is
-- observed.
--
-- A simulated SE or card is read through link:inspect(), the oracle's
-- view: NVM as it is, no APDU, no PIN try spent.  A link to real
-- hardware (pcsc:, nfc:) is observed through APDUs instead — CPLC, FeliCa
-- Polling, SELECT, VERIFY without data — and only at the end of a run or
-- by `mynahil check`, since those APDUs reset what a scenario selected.
local app = require "app"
local jpki = require "jpki"
local rp = require "rp"
local crypto = mynahil.crypto

local function norm(serial)
  return serial and (tostring(serial):upper():gsub("^0+", "")) or nil
end

-- ---- observing a link ----

local function chan_link(link, ch)
  return { transmit = function(_, a)
    return link:transmit(string.format("%02X", tonumber(a:sub(1, 2), 16) | ch) .. a:sub(3)) end }
end

-- What APDUs show of a real SE: CPLC, IDm, the applet, its PIN counters
-- (VERIFY without data spends no try).  Slot states and serials are the
-- TSM's to read (SCP03): taken from the registry's last inventory.
local function observe_se(link)
  local v = { kind = "se", observed = true, slots = { auth = {}, sign = {} } }
  link:transmit("00A4040000")
  local r = link:transmit("80CA9F7F00")
  if r and r.sw == 0x9000 and #r.hex >= 90 then v.cplc = r.hex:sub(7, 90) end
  v.idm = app.idm({ se = link })
  v.applet = app.applet_present({ se = link }) and true or false
  if v.applet then
    local o = link:transmit("0070000001")
    if o and o.sw == 0x9000 then
      local ch = tonumber(o.hex, 16)
      local cl = chan_link(link, ch)
      jpki.select(cl)
      for _, which in ipairs { "auth", "sign" } do
        local t = jpki.retries(cl, which)
        v.slots[which].pin = { tries = t }
      end
      link:transmit(string.format("0070800%X", ch))
    end
  end
  return v
end

local function observe_card(link)
  local v = { kind = "card", observed = true, pins = {} }
  jpki.select(link)
  for _, which in ipairs { "auth", "sign" } do
    local t = jpki.retries(link, which)
    if t then v.pins[which] = { tries = t } end
  end
  return v
end

local function looks_like_se(name) return name == "se" or name:match("^sim:se") ~= nil end

local function view_of(l, apdus_ok)
  local v = l.link:inspect()
  if v or not apdus_ok then return v end
  local ok, o = pcall(looks_like_se(l.name) and observe_se or observe_card, l.link)
  return ok and o or nil
end

-- ---- one snapshot per check: every invariant of a check reads the same ----

local snap_key, snap

local function ca_cert(s, serial)
  serial = norm(serial)
  if not serial or serial == "" then return nil end
  if s.certs[serial] == nil then
    local st, c = s.w.ca:call("GET", "/v1/certs/" .. serial)
    s.certs[serial] = st == 200 and c or false
  end
  return s.certs[serial] or nil
end

local function live(c) return c and (c.status == "valid" or c.status == "hold") end

local function build(w, ctx)
  local s = { w = w, ses = {}, cards = {}, certs = {} }
  s.tsm = rawget(w, "tsm") ~= nil
  local apdus_ok = ctx.final or ctx.bench
  for _, l in ipairs(ctx.links) do
    local v = view_of(l, apdus_ok)
    if v and v.kind == "se" then
      s.ses[#s.ses + 1] = { name = l.name, view = v }
    elseif v and v.kind == "card" then
      s.cards[#s.cards + 1] = { name = l.name, view = v }
    elseif v and v.kind == "ios" then
      -- An iPhone (docs/ios.md) is read as an SE whose applet is the
      -- credential: its certificates in active slots while it is
      -- installed, its PIN counters; the registry's record is
      -- "ios-" .. its device id (the provisioning service's).
      local sv = { kind = "ios", applet = v.installed, restores = v.restores, slots = {} }
      for _, which in ipairs { "auth", "sign" } do
        local sl = v.slots and v.slots[which] or {}
        sv.slots[which] = { der = v.installed and sl.der or nil, state = v.installed and sl.der and "active" or nil,
                            pin = v.installed and sl.pin or nil }
      end
      s.ses[#s.ses + 1] = { name = l.name, view = sv, ios = "ios-" .. mynahil.hex(v.device_id) }
    end
  end
  if s.tsm then
    local st, d = app.call(w, "GET", "/v1/tsm/devices")
    if st == 200 then s.devices = d.devices or {} else
      s.registry_error = "the registry did not answer (" .. tostring(st) .. ")"
    end
  end
  for _, se in ipairs(s.ses) do
    local v = se.view
    for _, dev in ipairs(s.devices or {}) do
      if v.cplc and dev.cplc and dev.cplc:upper() == v.cplc:upper() then se.device = dev end
      if se.ios and dev.id == se.ios then se.device = dev end
    end
    for _, which in ipairs { "auth", "sign" } do
      local sl = v.slots and v.slots[which]
      if sl and sl.der then
        local ok, c = pcall(crypto.cert, sl.der)
        if ok then sl.serial = norm(c.serial) end
      elseif sl and v.observed and se.device then
        -- a bench: the registry's last inventory of the SE
        local k = which == "auth" and 1 or 2
        sl.state = se.device.slots and se.device.slots[k]
        sl.serial = norm(se.device[which .. "_serial"])
      end
    end
  end
  -- The CA is looked at when the run has one, or an SE holds certificates.
  s.ca = rawget(w, "ca") ~= nil or s.tsm
  for _, se in ipairs(s.ses) do
    for _, which in ipairs { "auth", "sign" } do
      if se.view.slots and se.view.slots[which] and se.view.slots[which].serial then s.ca = true end
    end
  end
  return s
end

local function snapshot(w, ctx)
  local key = ctx.step .. (ctx.final and "/final" or "")
  if snap_key ~= key then snap_key, snap = key, build(w, ctx) end
  return snap
end

-- Every slot of every SE that holds a certificate: fn(se, which, slot).
local function each_slot(s, fn)
  for _, se in ipairs(s.ses) do
    for _, which in ipairs { "auth", "sign" } do
      local sl = se.view.slots and se.view.slots[which]
      if sl and sl.serial then fn(se, which, sl) end
    end
  end
end

local function problems(list)
  if #list == 0 then return true end
  -- some lists are built in pairs() order: sorted, the same seed gives the
  -- same message
  table.sort(list)
  return false, table.concat(list, "; ")
end

-- ---- 1: no revoked, held or expired phone certificate is accepted ----
-- Whatever a party says is no longer valid (the CA's JSON, the registry,
-- the SE's own slot state), the CA's status service must not accept: a
-- relying party's OCSP answer with the validity on the virtual clock.
mynahil.invariant(1, "no revoked, held or expired phone certificate is accepted by the CA's status service",
  function(w, ctx)
    local s = snapshot(w, ctx)
    if not s.ca then return nil end
    local cands, order = {}, {}
    local function cand(serial, der, who)
      serial = norm(serial)
      if not serial or serial == "" then return end
      if not cands[serial] then cands[serial] = { der = der, who = {} }; order[#order + 1] = serial end
      cands[serial].der = cands[serial].der or der
      if not cands[serial].who[who] then
        cands[serial].who[who] = true
        table.insert(cands[serial].who, who)
      end
    end
    each_slot(s, function(se, which, sl)
      local c = ca_cert(s, sl.serial)
      if c and c.kind == "phone" and not (c.status == "valid") then
        cand(sl.serial, sl.der, "the CA says " .. c.status)
      end
      if sl.state == "revoked" and c then cand(sl.serial, sl.der, se.name .. " marks its " .. which .. " slot revoked") end
      local d = se.device
      if d and (d.status == "revoked" or d.status == "hold" or d.status == "expired") then
        if norm(d[which .. "_serial"]) == sl.serial then cand(sl.serial, sl.der, "the registry says " .. d.status) end
      end
    end)
    for _, se in ipairs(s.ses) do
      local d = se.device
      if d and (d.status == "revoked" or d.status == "hold" or d.status == "expired") then
        for _, which in ipairs { "auth", "sign" } do
          if d[which .. "_serial"] then cand(d[which .. "_serial"], nil, "the registry says " .. d.status) end
        end
      end
    end
    -- A bench: every device of the registry, not only the run's SEs.
    for _, d in ipairs(ctx.bench and s.devices or {}) do
      if d.status == "revoked" or d.status == "hold" or d.status == "expired" then
        for _, which in ipairs { "auth", "sign" } do
          if d[which .. "_serial"] then cand(d[which .. "_serial"], nil, "the registry says " .. d.status) end
        end
      end
    end
    if #order == 0 then return true end
    local bank = rp.new(w)
    local now, now_s = bank:now()
    if not now then return false, "the CA's clock did not answer" end
    local bad = {}
    for _, serial in ipairs(order) do
      local c = cands[serial]
      local der = c.der or bank:der(serial)
      if der then
        local o = bank:ocsp(der, now)
        local ok, cert = pcall(crypto.cert, der)
        local within = ok and cert.not_before <= now_s and now_s <= cert.not_after
        if o and o.status == "good" and within then
          bad[#bad + 1] = string.format("%s: %s, yet OCSP answers good", serial, table.concat(c.who, ", "))
        end
      end
    end
    return problems(bad)
  end)

-- ---- 2: one phone per holder ----
-- The registry: one live device per holder.  The SEs and iPhones: one of
-- the run with a live certificate of a holder.  The CA: one live phone
-- certificate per holder and purpose.  Under one_phone_scope = platform
-- (docs/domain.md#policy-switches) the same per holder and platform: an
-- SE's device is an Android phone, an iPhone's an iOS one, a CA
-- certificate's platform that of the registry's device recording it.
mynahil.invariant(2, "one phone per holder: at most one device with valid or held certificates", function(w, ctx)
  local s = snapshot(w, ctx)
  if not s.tsm then return nil end
  if s.registry_error then return false, s.registry_error end
  local per_platform = (w.policy or {}).one_phone_scope == "platform"
  local function key(holder, platform)
    return per_platform and (holder .. " (" .. (platform or "android") .. ")") or holder
  end
  local bad, live_dev, holders, platform_of = {}, {}, {}, {}
  for _, dev in ipairs(s.devices) do
    for _, which in ipairs { "auth", "sign" } do
      if dev[which .. "_serial"] then platform_of[norm(dev[which .. "_serial"])] = dev.platform or "android" end
    end
    if dev.holder and (dev.status == "active" or dev.status == "hold" or dev.status == "half") then
      local k = key(dev.holder, dev.platform)
      live_dev[k] = (live_dev[k] or 0) + 1
      if live_dev[k] == 2 then bad[#bad + 1] = "the registry: " .. k .. " has 2 live phones" end
    end
  end
  local on_se = {}
  each_slot(s, function(se, _, sl)
    local c = ca_cert(s, sl.serial)
    if sl.state == "active" and live(c) and c.kind == "phone" then
      local k = key(c.holder, se.ios and "ios" or "android")
      on_se[k] = on_se[k] or {}
      on_se[k][se.name] = true
      holders[c.holder] = true
    end
  end)
  for h, set in pairs(on_se) do
    local names = {}
    for n in pairs(set) do names[#names + 1] = n end
    table.sort(names)
    if #names > 1 then bad[#bad + 1] = h .. "'s live certificates are on " .. table.concat(names, " and ") end
  end
  for _, se in ipairs(s.ses) do
    if se.device and se.device.holder then holders[se.device.holder] = true end
  end
  local hs = {}
  for h in pairs(holders) do hs[#hs + 1] = h end
  table.sort(hs)
  for _, h in ipairs(hs) do
    local st, l = w.ca:call("GET", "/v1/holders/" .. h .. "/certs")
    if st == 200 then
      local n = {}
      for _, c in ipairs(l.certs or {}) do
        if c.kind == "phone" and live(c) then
          local k = key(h, platform_of[norm(c.serial)] or "unrecorded") .. "'s " .. c.purpose
          n[k] = (n[k] or 0) + 1
          if n[k] == 2 then bad[#bad + 1] = "the CA: " .. k .. ": 2 live phone certificates" end
        end
      end
    end
  end
  return problems(bad)
end)

-- ---- 3: after a transfer nothing of the previous holder's is usable ----
-- An SE the registry gives to holder H holds no certificate of another
-- holder in an active slot, nor one the CA still takes for valid.
mynahil.invariant(3, "after a transfer nothing of the previous holder's is usable on the SE", function(w, ctx)
  local s = snapshot(w, ctx)
  if not s.tsm then return nil end
  local bad = {}
  each_slot(s, function(se, which, sl)
    local owner = se.device and se.device.holder
    local c = owner and ca_cert(s, sl.serial)
    if c and c.holder and c.holder ~= owner and (sl.state == "active" or live(c)) then
      bad[#bad + 1] = string.format("%s (device %s, now %s's) still holds %s's %s certificate %s (slot %s, CA %s)",
        se.name, tostring(se.device.id), owner, c.holder, which, sl.serial, tostring(sl.state), c.status)
    end
  end)
  return problems(bad)
end)

-- ---- 4: the registry, the CA and the SE agree ----
mynahil.invariant(4, "the TSM registry, the CA's status and linkage, and the SE's contents agree", function(w, ctx)
  local s = snapshot(w, ctx)
  if not s.tsm then return nil end
  local bad = {}
  local st, c = app.call(w, "GET", "/v1/tsm/check")
  if st ~= 200 then
    bad[#bad + 1] = "the registry's check did not answer (" .. tostring(st) .. ")"
  elseif not c.ok then
    bad[#bad + 1] = "registry ↔ CA: " .. (c.problems and table.concat(c.problems, "; ") or "check failed")
  end
  for _, se in ipairs(s.ses) do
    local v, d = se.view, se.device
    local held = {}
    for _, which in ipairs { "auth", "sign" } do
      local sl = v.slots and v.slots[which]
      if sl and sl.serial and (sl.state == "active" or v.observed) then held[sl.serial] = which end
    end
    if not d then
      for serial, which in pairs(held) do
        local cc = ca_cert(s, serial)
        if live(cc) and v.applet then
          bad[#bad + 1] = se.name .. " holds the " .. cc.status .. " " .. which .. " certificate " .. serial
            .. " in an applet the registry does not know"
        end
      end
    else
      if d.applet == "none" and v.applet then
        bad[#bad + 1] = se.name .. ": an applet the registry thinks deleted (device " .. tostring(d.id) .. ")"
      end
      -- Whose the applet is (se_model, docs/tsm.md#two-tsms): the SP's
      -- own SSD under ssd, installed there under delegated management;
      -- the ISD under shared_isd.  Seen on a simulated SE (its registry).
      if v.applet and v.sd then
        local ssd = (w.policy or {}).se_model == "ssd"
        local want = ssd and "D392F000265344" or "A000000151000000"
        if v.sd ~= want then
          bad[#bad + 1] = string.format("%s: the applet is associated with %s, not the %s (%s; se_model %s)",
            se.name, v.sd, ssd and "SP's SSD" or "ISD", want, ssd and "ssd" or "shared_isd")
        end
      end
      for _, which in ipairs { "auth", "sign" } do
        local serial = norm(d[which .. "_serial"])
        local cc = serial and ca_cert(s, serial)
        if live(cc) and held[serial] ~= which and not v.observed then
          bad[#bad + 1] = string.format("%s: the %s %s certificate %s of device %s is not in an active slot of the SE (%s)",
            se.name, cc.status, which, serial, tostring(d.id),
            v.applet and ("slot " .. tostring(v.slots[which].state)) or "no applet")
        end
      end
      for serial, which in pairs(held) do
        local cc = ca_cert(s, serial)
        if live(cc) and norm(d[which .. "_serial"]) ~= serial and cc.holder == d.holder then
          bad[#bad + 1] = string.format("%s holds the %s %s certificate %s; the registry records %s",
            se.name, cc.status, which, serial, tostring(d[which .. "_serial"]))
        end
      end
      -- The CA's linkage: the device's live certificates are linked to
      -- its card certificate, and a revoked card certificate leaves none
      -- of them live.
      if d.card_serial then
        local card = ca_cert(s, d.card_serial)
        local ls, l = w.ca:call("GET", "/v1/linkage/" .. norm(d.card_serial))
        local linked = {}
        for _, lc in ipairs(ls == 200 and l.certs or {}) do
          linked[norm(lc.serial)] = true
          if card and card.status == "revoked" and live(lc) then
            bad[#bad + 1] = string.format("the card certificate %s is revoked, its linked phone certificate %s is %s",
              norm(d.card_serial), norm(lc.serial), lc.status)
          end
        end
        for _, which in ipairs { "auth", "sign" } do
          local serial = norm(d[which .. "_serial"])
          local cc = serial and ca_cert(s, serial)
          if ls == 200 and live(cc) and not linked[serial] then
            bad[#bad + 1] = string.format("the %s certificate %s of device %s is not linked to its card certificate %s",
              cc.status, serial, tostring(d.id), norm(d.card_serial))
          end
        end
      end
    end
  end
  return problems(bad)
end)

-- ---- 5: PIN counters go up only by a correct PIN or a reset ----
-- Each link's counters are compared with the last seen (at the previous
-- step, or when the link joined the run).  The simulators count every
-- legitimate restoration (restores: a correct PIN, a PIN set or reset);
-- a counter that went up while that count stood still is a violation:
-- a reset nothing explains, or a blocked PIN unblocked by power loss.
local function counters(v)
  local t = {}
  if v.kind == "card" then
    for k, p in pairs(v.pins or {}) do t[k] = p.tries end
  else
    for k, sl in pairs(v.slots or {}) do t[k] = sl.pin and sl.pin.tries end
  end
  return { restores = v.restores, tries = t }
end

local function observe(memo, name, link)
  local v = link:inspect()
  if v then memo[name] = counters(v) end
end

mynahil.invariant(5, "PIN retry counters never reset except by a correct PIN or a PIN reset", function(w, ctx)
  local bad, any = {}, false
  local memo = ctx.memo
  for _, l in ipairs(ctx.links) do
    local v = l.link:inspect()
    if v then
      any = true
      local now, prev = counters(v), memo[l.name]
      if prev then
        local keys = {}
        for k in pairs(now.tries) do keys[#keys + 1] = k end
        table.sort(keys)
        for _, k in ipairs(keys) do
          local a, b = prev.tries[k], now.tries[k]
          if a and b and b > a and now.restores == prev.restores then
            bad[#bad + 1] = string.format("%s: the %s PIN's counter went from %d to %d with no correct PIN nor reset",
              l.name, k, a, b)
          end
        end
      end
      memo[l.name] = now
    elseif ctx.bench then
      -- a bench: blocked stays blocked (and no counter goes up) across a
      -- power cycle, as VERIFY without data shows
      any = true
      local before = view_of(l, true)
      l.link:power("cold")
      local after = view_of(l, true)
      if before and after then
        local a, b = counters(before).tries, counters(after).tries
        for k, t in pairs(b) do
          if a[k] and t > a[k] then
            bad[#bad + 1] = string.format("%s: the %s PIN's counter went from %d to %d across power loss", l.name, k, a[k], t)
          end
        end
      end
    end
  end
  if not any then return nil end
  return problems(bad)
end, { every_step = true })
mynahil.invariant_observer(5, observe)

return {}
