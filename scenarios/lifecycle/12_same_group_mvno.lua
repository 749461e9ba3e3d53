-- Case 12 (docs/domain.md#cases): a same-group MVNO's SIM, no unlock needed.
-- No action.
local lifecycle = require "lifecycle"
local phone = require "phone"

return scenario {
  id = "LC-12", case = 12, title = "same-group MVNO SIM without unlocking: no action",
  tags = { "lifecycle", "no-action" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  run = function(w)
    lifecycle.no_action(w, function(ph)
      -- MVNO-A1 rides MNO-A's network: the SIM lock still fits, no unlock.
      expect(ph:insert_sim(phone.sim "MVNO-A1"), "MVNO-A1's SIM in: the handset reboots").is_true()
      expect(ph.lock, "the SIM lock stays").is "A"
      expect(ph:connection(), "MVNO-A1 on the locked network").is "cellular"
      return true
    end)
  end,
}
