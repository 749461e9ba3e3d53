-- Case 1 (docs/domain.md#cases): model change Android -> Android.  The holder
-- revokes on the old device (the applet is deleted there), then issues on the
-- new one.
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-01", case = 1, title = "model change, Android to Android: revoke the old, issue the new",
  tags = { "lifecycle", "model-change" }, needs = { "se", "se2", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operations = { "issue", "revoke" },
  run = function(w) lifecycle.model_change(w) end,
}
