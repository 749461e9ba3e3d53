-- A scenario calling helpers with bad arguments: jpki's (the built-in
-- lib) with a number for an AID; the error is raised inside jpki.lua.
local jpki = require "jpki"

return scenario {
  id = "HELPER-BAD-ARGS", title = "a built-in helper called with a bad argument",
  run = function(w)
    expect(jpki.select(w.card)).sw(0x9000)
    jpki.select_ap(w.card, 42)
  end,
}
