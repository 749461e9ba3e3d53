-- phone.lua — the phone and the people around it as actors
-- (docs/domain.md#actors): the handset's platform, owner and who has it
-- now, SIM and carrier (MNO or MVNO, SIM lock), network (cellular,
-- Wi-Fi, none), the carrier's remote lock, working or broken.  app.lua
-- consults it before every flow: an offline phone cannot open a TSM
-- session (a pending deletion waits for it), Wi-Fi reaches the TSM, a
-- remote-locked phone's app refuses until it is unlocked, a broken phone
-- runs nothing.  A SIM or carrier change reboots the handset (its SE
-- loses power and comes back with its NVM) and touches no certificate.
--
--   local phone = require "phone"
--   local ph = phone.new(w, { se = link, owner = alice })  -- app.phone(w) makes one
--   ph:online()            -- true, "cellular"|"wifi"; or false, why
--   ph:runs()              -- true; or false, why (broken, remote-locked)
--   ph:insert_sim(phone.sim "MNO-B")   ph:unlock_sim()   ph:cancel_line()
--   ph:join_wifi()  ph:leave_wifi()    ph:remote_lock()  ph:remote_unlock()
--   ph:breaks()     ph:lose()  ph:found_by(person)  ph:hand_to(person)
--   local alice = phone.owner(w)      -- holds w.card, knows w.profile's PINs
--   local eve = phone.stranger "eve"  -- holds no card, knows no PIN
--   local pc = phone.pc(w)            -- a PC with a card reader: online, no SE
local phone = {}
phone.__index = phone

-- The carriers of the model: MNOs run a network, an MVNO rides one.  A
-- SIM lock is to a network: an MVNO SIM of the same network fits it.
phone.carriers = {
  ["MNO-A"] = { network = "A" },
  ["MNO-B"] = { network = "B" },
  ["MVNO-A1"] = { network = "A", mvno = true },   -- same group as MNO-A
  ["MVNO-C"] = { network = "B", mvno = true },    -- rides MNO-B's network
}

local function carrier_names()
  local t = {}
  for k in pairs(phone.carriers) do t[#t + 1] = k end
  table.sort(t)
  return table.concat(t, ", ")
end

-- A SIM card of a carrier, its line active.
function phone.sim(carrier)
  local c = phone.carriers[carrier]
  if not c then error("unknown carrier '" .. tostring(carrier) .. "' (" .. carrier_names() .. ")", 2) end
  return { carrier = carrier, network = c.network, mvno = c.mvno or false, line = "active" }
end

-- ---- people ----

-- The holder: has the card (w.card unless card is given) and knows its
-- PINs (w.profile's).  name: what the scenario calls them; the TSM's
-- registry names the holder from the card certificate.
function phone.owner(w, card, pins, name)
  return { name = name or "owner", card = { link = card or w.card, pins = pins or w.profile.pins },
           knows = true }
end

-- A third party: holds whatever phone is handed to them, no card, no PIN.
-- guess(which, n): the n-th PIN they try, never a holder's (the holders'
-- auth PINs are 4 digits of their own, sign PINs letters and digits).
function phone.stranger(name)
  return {
    name = name or "stranger", knows = false,
    guess = function(which, n)
      return which == "auth" and string.format("%04d", 9000 + n) or ("GUESS" .. n .. "X")
    end,
  }
end

-- ---- the handset ----

-- opts: se (the SE link), owner (a person), platform ("android"), sim
-- (phone.sim(...), default MNO-A's), lock (the network the SIM lock
-- allows, default the SIM's; false: unlocked), wifi (false).
function phone.new(w, opts)
  opts = opts or {}
  local sim = opts.sim or phone.sim "MNO-A"
  local lock = opts.lock
  if lock == nil then lock = sim.network end
  local owner = opts.owner or phone.owner(w)
  return setmetatable({
    w = w, se = opts.se, platform = opts.platform or "android",
    owner = owner, with = owner, whereabouts = "owner",
    sim = sim, lock = lock or nil, wifi = opts.wifi or false,
    remote_locked = false, power = "working", boots = 0,
  }, phone)
end

-- Which network the phone is on: "cellular" (a SIM, its line active,
-- that the SIM lock allows), else "wifi" when it joined one, else "none"
-- and why.
function phone:connection()
  local why
  if self.power ~= "working" then return "none", "the phone is broken" end
  if not self.sim then why = "no SIM"
  elseif self.sim.line ~= "active" then why = "the line of " .. self.sim.carrier .. " is cancelled"
  elseif self.lock and self.lock ~= self.sim.network then
    why = "SIM locked to network " .. self.lock .. ", " .. self.sim.carrier .. "'s SIM refused"
  else return "cellular" end
  if self.wifi then return "wifi" end
  return "none", why
end

-- The app can run on it: working, not remote-locked.
function phone:runs()
  if self.power ~= "working" then return false, "the phone is broken: it runs nothing" end
  if self.remote_locked then return false, "the phone is remote-locked by its carrier: the app refuses" end
  return true
end

-- The app can reach the TSM: it runs, and it has a network.
function phone:online()
  local ok, why = self:runs()
  if not ok then return false, why end
  local net
  net, why = self:connection()
  if net == "none" then return false, "offline: " .. why end
  return true, net
end

-- A reboot (a SIM swap, a carrier's unlock): the SE loses power and
-- comes back with its NVM.
function phone:reboot()
  self.boots = self.boots + 1
  local ok, why = self.se:power "off"
  if ok then ok, why = self.se:power "cold" end
  return ok, why
end

-- Another SIM in: the handset reboots.  A SIM the lock refuses gives no
-- service (phone:connection() says why).
function phone:insert_sim(sim)
  self.sim = sim
  return self:reboot()
end

-- The carrier's SIM unlock (SIMロック解除): any network's SIM fits.
function phone:unlock_sim() self.lock = nil end

-- The line ends (an MNP to another carrier, a cancelled contract): the
-- SIM stays in, with no service.
function phone:cancel_line() if self.sim then self.sim.line = "cancelled" end end

function phone:join_wifi() self.wifi = true end
function phone:leave_wifi() self.wifi = false end

-- The carrier's remote lock (遠隔ロック) and its lifting.
function phone:remote_lock() self.remote_locked = true end
function phone:remote_unlock() self.remote_locked = false end

-- The handset breaks: nothing runs, the SE is out of reach.
function phone:breaks()
  self.power = "broken"
  return self.se:power "off"
end

-- Whereabouts: lost (nobody has it), found by someone (the owner or a
-- third party), handed to someone who becomes its owner (resale, gift).
function phone:lose() self.with, self.whereabouts = nil, "lost" end
function phone:found_by(person)
  self.with = person
  self.whereabouts = person == self.owner and "owner" or "third_party"
end
function phone:hand_to(person)
  self.owner, self.with, self.whereabouts = person, person, "owner"
end

-- ---- a PC with a card reader (別端末): reads the card, always online ----

local pc = { online = function() return true, "wired" end, runs = function() return true end }
pc.__index = pc
function phone.pc(w) return setmetatable({ w = w, platform = "pc" }, pc) end

return phone
