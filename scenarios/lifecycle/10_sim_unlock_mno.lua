-- Case 10 (docs/domain.md#cases): SIM unlock for a change of MNO, same phone.
-- No certificate action: the certificates keep working.  Through the
-- phone actor (scenarios/lib/phone.lua): the unlock, the port cancelling
-- the old line (offline: the TSM hears nothing), the new SIM rebooting the
-- handset (its SE power-cycled), back online on MNO-B.
local lifecycle = require "lifecycle"
local phone = require "phone"

return scenario {
  id = "LC-10", case = 10, title = "SIM unlock for an MNO change, same phone: no action",
  tags = { "lifecycle", "no-action" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  run = function(w)
    lifecycle.no_action(w, function(ph, dev)
      -- unlocked at MNO-A while its line is active, then the number ports
      -- to MNO-B: the old line ends, the phone has no service until
      -- MNO-B's SIM is in (the handset reboots).
      ph:unlock_sim()
      ph:cancel_line()
      lifecycle.unreached(w, ph, dev, "between the two lines", "offline")
      expect(ph:insert_sim(phone.sim "MNO-B"), "MNO-B's SIM in: the handset reboots").is_true()
      expect(ph:connection(), "unlocked: MNO-B's network").is "cellular"
      return true
    end)
  end,
}
