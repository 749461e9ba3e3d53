-- Case 11 (docs/domain.md#cases): SIM unlock for MNO <-> MVNO, same phone.  No
-- action.
local lifecycle = require "lifecycle"
local phone = require "phone"

return scenario {
  id = "LC-11", case = 11, title = "SIM unlock for MNO to MVNO, same phone: no action",
  tags = { "lifecycle", "no-action" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  run = function(w)
    lifecycle.no_action(w, function(ph, dev)
      -- MVNO-C rides MNO-B's network: its SIM in the MNO-A-locked phone
      -- gets no service; the carrier unlocks, the phone reboots, online.
      expect(ph:insert_sim(phone.sim "MVNO-C"), "MVNO-C's SIM in: the handset reboots").is_true()
      lifecycle.unreached(w, ph, dev, "SIM-locked to MNO-A's network", "SIM locked")
      ph:unlock_sim()
      expect(ph:reboot(), "unlocked: the handset reboots").is_true()
      expect(ph:connection(), "MVNO-C over MNO-B's network").is "cellular"
      return true
    end)
  end,
}
