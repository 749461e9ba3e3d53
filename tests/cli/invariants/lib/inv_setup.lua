-- inv_setup.lua — what the invariant tests share: alice's phone issued
-- through the TSM.  Returns phone, the issue's answer.
local app = require "app"
return function(w, se)
  local phone = app.phone(w, se)
  local r = app.issue(w, phone, app.card(w.card, w.profile.pins), { pins = { auth = "1357", sign = "PHONE123" } })
  expect(r.ok, "alice's phone issued: " .. tostring(r.error)).is_true()
  return phone, r
end
