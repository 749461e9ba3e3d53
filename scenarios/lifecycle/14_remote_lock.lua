-- Case 14 (docs/domain.md#cases): the carrier suspends the phone by remote
-- lock, then resumes it.  No certificate action: while locked the phone is
-- simply unusable; unlocked, everything works as before.
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-14", case = 14, title = "carrier remote lock and unlock: no action",
  tags = { "lifecycle", "no-action" }, needs = { "se", "tsm" },
  run = function(w)
    lifecycle.no_action(w, function(phone)
      phone.locked = true
      expect(phone.se:power "off", "locked: the handset is of no use").is_true()
      phone.locked = false
      expect(phone.se:power "cold", "unlocked").is_true()
    end)
  end,
}
