-- Invariant 4 broken on purpose: the SE's slots erased behind the TSM's
-- back; the registry and the CA still have both certificates valid.
local issued = require "inv_setup"

return scenario {
  id = "INV-4", title = "slots erased behind the TSM",
  needs = { "se", "tsm", "sim" },
  run = function(w)
    local phone = issued(w)
    phone.se:_nvm("sejpki/slots", "\4\4")
    step "slots erased"
  end,
}
