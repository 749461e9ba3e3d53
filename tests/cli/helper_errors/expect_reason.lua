-- A helper's nil, why handed straight to expect: why is the reason of a
-- failure, never the expect's label.
local jpki = require "jpki"
local lab = require "lab"

return scenario {
  id = "EXPECT-REASON", title = "nil, why from a helper into expect",
  run = function(w)
    expect(jpki.select(w.card)).sw(0x9000)
    expect(jpki.verify(w.card, "auth", "12a")).sw(0x9000)
    expect(lab.holder("nobody")).is "alice"
    expect(jpki.verify(w.card, "auth", "12a")).fails()
    expect(lab.holder("alice"), "a label after a value").is "alice"
  end,
}
