-- Invariant 4 broken for one step and repaired before the end: only
-- --paranoid sees it.
local issued = require "inv_setup"

return scenario {
  id = "INV-TRANSIENT", title = "a violation repaired before the end",
  needs = { "se", "tsm", "sim" },
  run = function(w)
    local phone = issued(w)
    phone.se:_nvm("sejpki/slots", "\4\4")
    step "break"
    phone.se:_nvm("sejpki/slots", "\2\2")
    step "repair"
  end,
}
