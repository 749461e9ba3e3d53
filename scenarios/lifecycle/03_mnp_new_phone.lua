-- Case 3 (docs/domain.md#cases): MNP between MNOs with a new phone, the old one
-- not revoked first: issuing on the new phone revokes the old (one phone per
-- holder), whose applet is deleted when it is next online
-- (docs/domain.md#flows).  The port cancelled the old phone's line: it is
-- offline, its app reaches no TSM and the deletion waits, until it joins a
-- Wi-Fi network.
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-03", case = 3, title = "MNP with a new phone, old not revoked: revoked by the new issuance, deleted once the offline old phone joins Wi-Fi",
  tags = { "lifecycle", "model-change" }, needs = { "se", "se2", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operations = { "issue", "revoke" },
  run = function(w) lifecycle.mnp(w, "MNO-B", false) end,
}
