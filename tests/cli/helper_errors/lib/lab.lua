-- lab.lua — a lab's own helper module beside its scenarios (found by
-- require through the nearest lib/ above the scenario): it raises where
-- it stands, and returns nil, why the way helpers do.
local lab = {}

function lab.holder(name)
  local known = { alice = "alice" }
  if not known[name] then return nil, "no holder '" .. tostring(name) .. "' in this lab" end
  return known[name]
end

-- Raises at its own line (error's default level): the message starts
-- with this file's line, the run's report with the scenario's.
function lab.checked_hex(s)
  if type(s) ~= "string" then error("lab.checked_hex: want a hex string, got a " .. type(s)) end
  return s
end

return lab
