-- Case 4 (docs/domain.md#cases): MNP between an MNO and an MVNO, with a new
-- phone: as case 1, the holder revokes on the old phone, then issues on the
-- new.
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-04", case = 4, title = "MNP MNO to MVNO with a new phone: revoke the old, issue the new",
  tags = { "lifecycle", "model-change" }, needs = { "se", "tsm" },
  operations = { "issue", "revoke" },
  run = function(w) lifecycle.model_change(w, true) end,
}
