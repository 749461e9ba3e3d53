-- Case 3 (docs/domain.md#cases): MNP between MNOs with a new phone, the old one
-- not revoked first: issuing on the new phone revokes the old (one phone per
-- holder), whose applet is deleted when it is next online (seed §5).
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-03", case = 3, title = "MNP with a new phone, old not revoked: revoked by the new issuance",
  tags = { "lifecycle", "model-change" }, needs = { "se", "tsm" },
  operations = { "issue", "revoke" },
  run = function(w) lifecycle.model_change(w, false) end,
}
