-- clock.lua — time in a scenario: the virtual clock (the CA's; the TSM
-- runs on the same one), and J-LIS renewing the simulated card's
-- certificates (a new key pair on the card, a new certificate under the
-- test CA, written into the card in use: link:renew_key / renew_cert,
-- sim:card only).
--
--   local clock = require "clock"
--   local now, s = clock.now(w)          -- epoch seconds, "YYYYMMDDhhmmssZ"
--   clock.set(w, "20260301000000Z")      -- or clock.advance(w, 86400)
--   clock.past(w, "20260110145959Z")     -- one second after that time
--   clock.days(w, 30)                    -- "YYYYMMDDhhmmssZ" 30 days from now
--   local new = clock.renew_card(w, card, "prefix")   -- the card's sign pair renewed
--
-- A served CA and TSM are shared by the run's scenarios: the clock only
-- moves forward, by days, on card certificates of the scenario's own
-- (app.own_card with an early not_after), so that alice's stay valid.
local app = require "app"

local clock = {}

local function answer(s, c, what)
  if s ~= 200 or type(c) ~= "table" or not c.epoch then
    error(what .. ": the CA's clock answered " .. tostring(s) .. " " .. tostring(c and c.error), 3)
  end
  return c.epoch, c.now
end

function clock.now(w)
  local s, c = w.ca:call("GET", "/v1/clock")
  return answer(s, c, "clock")
end

-- The CA's clock moves; it never goes back (a served CA is shared).
function clock.set(w, t)
  local now = clock.now(w)
  local epoch = clock.epoch(t)
  if epoch < now then error("clock.set: " .. t .. " is in the past", 2) end
  local s, c = w.ca:call("POST", "/v1/clock", { now = t })
  return answer(s, c, "clock.set")
end

function clock.advance(w, seconds)
  if seconds < 0 then error("clock.advance: the clock does not go back", 2) end
  local s, c = w.ca:call("POST", "/v1/clock", { advance = seconds })
  return answer(s, c, "clock.advance")
end

-- One second (or `seconds`) after t ("YYYYMMDDhhmmssZ"): past a notAfter.
function clock.past(w, t, seconds)
  return clock.set(w, clock.format(clock.epoch(t) + (seconds or 1)))
end

-- ---- "YYYYMMDDhhmmssZ" <-> epoch seconds (UTC, proleptic Gregorian) ----

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp + (mp < 10 and 3 or -9)
  return yoe + era * 400 + (m <= 2 and 1 or 0), m, d
end

function clock.epoch(t)
  local y, mo, d, h, mi, s = t:match("^(%d%d%d%d)(%d%d)(%d%d)(%d%d)(%d%d)(%d%d)Z$")
  if not y then error("not a YYYYMMDDhhmmssZ time: " .. tostring(t), 2) end
  return days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400 + tonumber(h) * 3600
    + tonumber(mi) * 60 + tonumber(s)
end

function clock.format(epoch)
  local days, secs = epoch // 86400, epoch % 86400
  local y, m, d = civil_from_days(days)
  return string.format("%04d%02d%02d%02d%02d%02dZ", y, m, d, secs // 3600, secs // 60 % 60, secs % 60)
end

-- The time `days` days from the virtual now.
function clock.days(w, days)
  return clock.format(clock.now(w) + days * 86400)
end

-- ---- the card's renewal (J-LIS, at the municipal counter) ----

-- The card's sign pair renewed for the card's own holder (prefix, as
-- app.own_card names it): a new key pair on the card, a certificate of it
-- that renews card.serial (the old one revoked, superseded, and by the
-- linkage the phone certificates issued from it) — or, with
-- opts.renews = false, a new one beside it (after expiry, nothing to
-- renew) — valid to opts.not_after (default: the 5th birthday), written
-- into the card's EF.  Returns the card with its new serial, or nil, why.
function clock.renew_card(w, card, prefix, opts)
  opts = opts or {}
  local spki, why = card.link:renew_key("sign")
  if not spki then return nil, "the card's new key: " .. tostring(why) end
  local renews = opts.renews ~= false and card.serial or nil
  local new, nwhy = app.own_card(w, card, prefix, renews, opts.not_after, spki)
  if not new then return nil, nwhy end
  local s, der = w.ca:raw("GET", "/v1/certs/" .. new.serial .. "/der")
  if s ~= 200 then return nil, "the new certificate: " .. tostring(s) end
  local ok, cwhy = card.link:renew_cert("sign", der)
  if not ok then return nil, cwhy end
  new.der = der
  return new
end

-- ---- what the phone holds ----

local function norm(serial) return serial and (serial:upper():gsub("^0+", "")) end

-- The SE as the phone sees it: the applet present, the serial and
-- notAfter of each slot's certificate (read after its PIN), whether the
-- sign key signs, and a relying party's verdict on that signature
-- (bank: rp.new(w); v.verdict.ok, v.verdict.reason).
function clock.se_view(phone, pins, bank)
  local v = { applet = app.applet_present(phone) == true }
  for _, which in ipairs { "auth", "sign" } do
    local der = v.applet and app.phone_cert(phone, which, pins[which]) or nil
    if der then
      local c = mynahil.crypto.cert(der)
      v[which] = { serial = norm(c.serial), not_after = c.not_after, der = der }
    end
  end
  local sig = v.applet and app.sign(phone, "sign", pins.sign, "clock.se_view") or nil
  v.signs = sig ~= nil
  v.verdict = (sig and v.sign and bank and bank:verify(v.sign.der, "clock.se_view", sig)) or nil
  return v
end
clock.norm = norm

return clock
