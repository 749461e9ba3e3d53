-- snapshot.lua — "nothing changed anywhere" (issue 10 point 5): what each
-- party holds, taken before and after a refused request and compared.
--
--   local snap = require "snapshot"
--   local before = snap.take(w, { phones = { a = phoneA }, holders = { "alice" }, cards = { alice = card } })
--   ... a request the TSM must refuse ...
--   expect(snap.diff(before, snap.take(w, same_spec)), "nothing changed").is(nil)
--
-- The parties: the TSM registry (every device record, GET /v1/tsm/devices),
-- the CA (each holder's certificates with status and reason, GET
-- /v1/holders/H/certs), each phone's SE (the JPKI applet present, its
-- presence EF 0008 — which slots hold an active certificate — the PIN
-- retry counters, asked without spending a try), each card's retry
-- counters.  Not compared: the TSM's event log and session table (a
-- refusal is recorded there) and the SE's NVM write count (every secure
-- channel the TSM opens moves the SCP03 sequence counter, as GP wants).
-- A phone the TSM has never seen gets a device record at its first
-- contact: make that contact (app.sync) before the first snapshot.
local jpki = require "jpki"
local app = require "app"

local snap = {}

-- A value as text, tables with their keys sorted: two snapshots compare as
-- strings, and a difference names its path.
local function sorted_keys(t)
  local keys = {}
  for k in pairs(t or {}) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

local function flat(v, path, out)
  if type(v) ~= "table" then
    out[path] = tostring(v)
    return out
  end
  local keys = sorted_keys(v)
  for _, k in ipairs(keys) do flat(v[k], path .. "/" .. tostring(k), out) end
  if #keys == 0 then out[path] = "{}" end
  return out
end

-- The JPKI applet of a phone over a logical channel: nil when it is not
-- there; else its presence EF and PIN retries (no try spent).
local function se_state(phone)
  local st = { applet = false }
  local r = phone.se:transmit("0070000001")
  if not r or r.sw ~= 0x9000 then return { channel = r and r.sw or "none" } end
  local ch = tonumber(r.hex, 16)
  local link = { transmit = function(_, a)
    return phone.se:transmit(string.format("%02X", tonumber(a:sub(1, 2), 16) | ch) .. a:sub(3)) end }
  local sel = jpki.select(link)
  if sel and sel.sw == 0x9000 then
    st.applet = true
    local p = jpki.select_ef(link, jpki.EF.presence)
    if p and p.sw == 0x9000 then
      local b = link:transmit("00B0000003")
      st.presence = b and (b.hex .. string.format("%04X", b.sw))
    end
    st.auth_tries = jpki.retries(link, "auth") or "none"
    st.sign_tries = jpki.retries(link, "sign") or "none"
  end
  phone.se:transmit(string.format("0070800%X", ch))
  return st
end

local function card_state(card)
  jpki.select(card.link)
  return { auth_tries = jpki.retries(card.link, "auth") or "none",
           sign_tries = jpki.retries(card.link, "sign") or "none" }
end

-- spec: phones = { name = phone }, holders = { "alice", ... },
-- cards = { name = card }.
function snap.take(w, spec)
  local s = { registry = {}, ca = {}, se = {}, card = {} }
  local st, d = app.call(w, "GET", "/v1/tsm/devices")
  s.registry = { error = st ~= 200 and st or nil }
  for _, dev in ipairs(st == 200 and d.devices or {}) do s.registry[dev.id] = dev end
  for _, h in ipairs(spec.holders or {}) do
    local cs, c = w.ca:call("GET", "/v1/holders/" .. h .. "/certs")
    local certs = {}
    for _, cert in ipairs(cs == 200 and c.certs or {}) do
      certs[cert.serial] = { status = cert.status, reason = cert.reason, kind = cert.kind,
                             card_serial = cert.card_serial }
    end
    s.ca[h] = cs == 200 and certs or { error = cs }
  end
  -- Observing a phone or a card sends APDUs: visit them in name order, so
  -- the same seed gives the same trace (pairs() order is not stable).
  for _, name in ipairs(sorted_keys(spec.phones)) do s.se[name] = se_state(spec.phones[name]) end
  for _, name in ipairs(sorted_keys(spec.cards)) do s.card[name] = card_state(spec.cards[name]) end
  return flat(s, "", {})
end

-- nil when a and b are the same; else the first path that differs, with
-- both values.
function snap.diff(a, b)
  local paths = {}
  for k in pairs(a) do paths[#paths + 1] = k end
  for k in pairs(b) do if a[k] == nil then paths[#paths + 1] = k end end
  table.sort(paths)
  for _, k in ipairs(paths) do
    if a[k] ~= b[k] then return k .. ": " .. tostring(a[k]) .. " -> " .. tostring(b[k]) end
  end
  return nil
end

-- What changed of one kind only (e.g. "/se/a/"): for a check that some
-- part changes and nothing else does.
function snap.diff_except(a, b, prefix)
  local function strip(t)
    local o = {}
    for k, v in pairs(t) do if k:sub(1, #prefix) ~= prefix then o[k] = v end end
    return o
  end
  return snap.diff(strip(a), strip(b))
end

return snap
