-- Case 10 (docs/domain.md#cases): SIM unlock for a change of MNO, same phone.
-- No certificate action: the certificates keep working.
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-10", case = 10, title = "SIM unlock for an MNO change, same phone: no action",
  tags = { "lifecycle", "no-action" }, needs = { "se", "tsm" },
  run = function(w)
    lifecycle.no_action(w, function(phone)
      phone.sim.locked = false          -- unlocked at the old carrier
      lifecycle.reboot(phone)            -- the new carrier's SIM goes in
      phone.carrier = "MNO-B"
    end)
  end,
}
