-- Case 13 (docs/domain.md#cases): Wi-Fi only use of a cancelled or old phone.
-- No action: the certificates stay usable.  With its line cancelled the phone
-- is offline (the app reaches no TSM); on Wi-Fi it checks in with the TSM
-- (which finds nothing to do) and signs, accepted by a relying party.
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-13", case = 13, title = "Wi-Fi only use of a cancelled phone: no action",
  tags = { "lifecycle", "no-action" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  run = function(w)
    lifecycle.no_action(w, function(ph, dev)
      ph:cancel_line()                   -- the contract ends, the SIM stays in
      lifecycle.unreached(w, ph, dev, "line cancelled, no Wi-Fi", "offline")
      ph:join_wifi()
      expect(ph:connection(), "on Wi-Fi").is "wifi"
      return false                       -- no reboot
    end)
  end,
}
