-- Invariant 2 broken on purpose: alice's applet, keys and certificates
-- copied into a second SE through the simulator's back door (a cloned
-- chip): two phones hold her valid certificates.
local app = require "app"
local issued = require "inv_setup"

return scenario {
  id = "INV-2", title = "alice's applet cloned into a second SE",
  needs = { "se", "tsm", "sim" },
  run = function(w)
    local phone = issued(w)
    local other = app.new_se(w, 2)
    for k, v in pairs(phone.se:_nvm()) do
      if k:match("^sejpki/") or k == "gp/reg/0001" or k == "gp/reg/0002" then other:_nvm(k, v) end
    end
    other:power("cold")
    step "the clone"
    expect(app.applet_present({ se = other }), "the clone has the applet").is_true()
  end,
}
