-- Nothing broken: every invariant holds, with and without --paranoid.
local app = require "app"
local issued = require "inv_setup"

return scenario {
  id = "INV-CLEAN", title = "issue and revoke: every invariant holds",
  needs = { "se", "tsm" },
  run = function(w)
    local phone = issued(w)
    local card = app.card(w.card, w.profile.pins)
    expect(app.revoke(w, phone, card, {}).ok, "revoked").is_true()
  end,
}
