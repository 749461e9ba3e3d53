-- A run that raises after breaking invariant 4: the result stays an
-- error, and the violation is reported with it.
local issued = require "inv_setup"

return scenario {
  id = "INV-ERROR", title = "an error after a broken invariant",
  needs = { "se", "tsm", "sim" },
  run = function(w)
    local phone = issued(w)
    phone.se:_nvm("sejpki/slots", "\4\4")
    error("raised on purpose")
  end,
}
