-- Power lost at every NVM write of a wrong VERIFY: after power-up the
-- try counter never comes back above what it was, and an answered miss
-- is always counted (DESIGN.md, NVM journal).
local jpki = require "jpki"

return scenario {
  id = "CARD-07", title = "tearing a PIN decrement never gives a try back",
  tags = { "card", "jpki", "pin", "tear" },
  needs = { "sim" },
  run = function(w)
    local card, pins = w.card, w.profile.pins
    expect(jpki.select(card)).sw(0x9000)
    -- How many writes does a wrong VERIFY make?
    local w0 = card:nvm_writes()
    expect(jpki.verify(card, "auth", "0000")).sw(0x63C2)
    local steps = card:nvm_writes() - w0
    expect(steps, "NVM write steps of a wrong VERIFY").gt(0)
    expect(jpki.verify(card, "auth", pins.auth)).sw(0x9000)

    for k = 1, steps do
      local before = jpki.retries(card, "auth")
      card:tear_at(k)
      local r = jpki.verify(card, "auth", "0000")
      expect(r, "VERIFY torn at write " .. k).is(nil)
      expect(card:power "cold").is_true()
      expect(jpki.select(card)).sw(0x9000)
      local after = jpki.retries(card, "auth")
      expect(after, "tries after a tear at write " .. k).le(before)
      expect(jpki.verify(card, "auth", pins.auth)).sw(0x9000)
    end
  end,
}
