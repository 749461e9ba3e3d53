-- Case 14 (docs/domain.md#cases): the carrier suspends the phone by remote
-- lock, then resumes it.  No certificate action: while locked the app
-- refuses to run (no check-in, no signature, no PIN try spent on the SE);
-- unlocked, everything works as before.
local app = require "app"
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-14", case = 14, title = "carrier remote lock and unlock: no action",
  tags = { "lifecycle", "no-action" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  run = function(w)
    lifecycle.no_action(w, function(ph, dev, pins)
      ph:remote_lock()
      lifecycle.unreached(w, ph, dev, "remote-locked", "remote-locked")
      expect(app.sign(ph, "auth", pins.auth, "while locked"), "the locked phone's app signs nothing").is(nil)
      expect(lifecycle.phone_retries(ph, "auth"), "SE: no PIN try spent while locked").is(3)
      ph:remote_unlock()
      return false                       -- no reboot
    end)
  end,
}
