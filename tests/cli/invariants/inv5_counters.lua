-- Invariant 5 broken on purpose: a spent try given back, and a blocked
-- PIN unblocked after a power cycle, both through the card's back door.
local jpki = require "jpki"

return scenario {
  id = "INV-5", title = "PIN counters set back behind the card's back",
  needs = { "sim" },
  run = function(w)
    jpki.select(w.card)
    expect(jpki.verify(w.card, "auth", "0000")).sw(0x63C2)
    step "a wrong auth PIN"
    w.card:_nvm("jpki/pin/0018/ctr", "\3")
    step "auth try given back"
    jpki.select(w.card)
    for _ = 1, 5 do jpki.verify(w.card, "sign", "WRONG1") end
    expect(jpki.retries(w.card, "sign"), "sign PIN blocked").is(0)
    step "sign PIN blocked"
    w.card:power("off")
    w.card:_nvm("jpki/pin/001B/ctr", "\5")
    w.card:power("cold")
    step "power loss"
  end,
}
