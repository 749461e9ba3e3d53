-- Both PINs to lockout: 63Cx counts down, the exhausting attempt answers
-- 63C0, every later one 6984, even with the right PIN and after a power
-- cycle (docs/card.md#pins).  Destroys the card's PINs: simulated cards only.
local jpki = require "jpki"

local function lock(card, which, right, wrong, tries)
  for left = tries - 1, 0, -1 do
    expect(jpki.verify(card, which, wrong), which .. " wrong PIN").sw(0x63C0 | left)
  end
  expect(jpki.verify(card, which, wrong), which .. " after lockout").sw(0x6984)
  expect(jpki.verify(card, which, right), which .. " right PIN after lockout").sw(0x6984)
  expect(jpki.retries(card, which), which .. " tries left").is(0)
end

return scenario {
  id = "CARD-03", title = "both PINs to lockout, still locked after a power cycle",
  tags = { "card", "jpki", "pin", "destructive" },
  needs = { "sim" },
  run = function(w)
    local card, pins = w.card, w.profile.pins
    expect(jpki.select(card)).sw(0x9000)
    lock(card, "auth", pins.auth, pins.auth == "9999" and "9998" or "9999", 3)
    lock(card, "sign", pins.sign, "WRONG000", 5)

    expect(card:power "cold", "power cycle").is_true()
    expect(jpki.select(card)).sw(0x9000)
    expect(jpki.verify(card, "auth", pins.auth), "auth after power cycle").sw(0x6984)
    expect(jpki.verify(card, "sign", pins.sign), "sign after power cycle").sw(0x6984)
    expect(jpki.select_ef(card, jpki.EF.auth_key)).sw(0x9000)
    expect(card:transmit(jpki.apdu(0x80, 0x2A, 0x00, 0x80, "blocked", 0)), "sign while blocked").sw(0x6982)
  end,
}
