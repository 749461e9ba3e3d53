-- Case 13 (docs/domain.md#cases): Wi-Fi only use of a cancelled or old phone.
-- No action: the certificates stay usable, and the app still reaches the TSM
-- over Wi-Fi (a sync finds nothing to do).
local app = require "app"
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-13", case = 13, title = "Wi-Fi only use of a cancelled phone: no action",
  tags = { "lifecycle", "no-action" }, needs = { "se", "tsm" },
  run = function(w)
    lifecycle.no_action(w, function(phone)
      phone.sim, phone.carrier, phone.network = nil, nil, "wifi"   -- contract cancelled
      local s = app.sync(w, phone)
      expect(s.ok, "the TSM is reached over Wi-Fi: " .. tostring(s.error)).is_true()
    end)
  end,
}
