-- Case 12 (docs/domain.md#cases): a same-group MVNO's SIM, no unlock needed.
-- No action.
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-12", case = 12, title = "same-group MVNO SIM without unlocking: no action",
  tags = { "lifecycle", "no-action" }, needs = { "se", "tsm" },
  run = function(w)
    lifecycle.no_action(w, function(phone)
      lifecycle.reboot(phone)
      phone.carrier = "MVNO-A1"          -- rides MNO-A's network: the lock still fits
    end)
  end,
}
