-- Case 4 (docs/domain.md#cases): MNP from an MNO to an MVNO on another
-- network, with a new phone.  The holder means to revoke on the old phone
-- first, but the port cancelled its line: the app is offline and nothing
-- changes at the CA until the old phone joins Wi-Fi; revoked there (the
-- applet deleted at once), then the new phone on the MVNO is issued.
local lifecycle = require "lifecycle"

return scenario {
  id = "LC-04", case = 4, title = "MNP MNO to MVNO with a new phone: the offline old phone revokes over Wi-Fi, then the new is issued",
  tags = { "lifecycle", "model-change" }, needs = { "se", "se2", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operations = { "issue", "revoke" },
  run = function(w) lifecycle.mnp(w, "MVNO-C", true) end,
}
