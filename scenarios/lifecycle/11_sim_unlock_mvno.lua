-- Case 11 (docs/domain.md#cases): SIM unlock for MNO <-> MVNO, same phone.  No
-- action.
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-11", case = 11, title = "SIM unlock for MNO to MVNO, same phone: no action",
  tags = { "lifecycle", "no-action" }, needs = { "se", "tsm" },
  run = function(w)
    lifecycle.no_action(w, function(phone)
      phone.sim.locked = false
      lifecycle.reboot(phone)
      phone.carrier = "MVNO-C"           -- an MVNO on another MNO's network
    end)
  end,
}
