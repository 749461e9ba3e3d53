-- app.issue (a flow: the error crosses mynahil.flow's pcall) with a
-- string where the card table belongs; raised three helpers down.
local app = require "app"

return scenario {
  id = "HELPER-IN-FLOW", title = "app.issue with a bad card argument",
  needs = { "se" },
  run = function(w)
    local phone = app.phone(w)
    expect(phone ~= nil, "a phone").is_true()
    app.issue(w, phone, "alice", { pins = { auth = "1357", sign = "PHONE2026" } })
  end,
}
