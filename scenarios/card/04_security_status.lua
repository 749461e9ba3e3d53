-- A verified PIN lasts until the AP is selected again or the card is
-- reset (docs/card.md#security-status).
local jpki = require "jpki"

local function sign_cert_readable(card)
  jpki.select_ef(card, jpki.EF.sign_cert)
  return jpki.read_binary(card, 0, 4)
end

return scenario {
  id = "CARD-04", title = "security status cleared by re-SELECT and by reset",
  tags = { "card", "jpki", "pin" },
  run = function(w)
    local card, pins = w.card, w.profile.pins
    expect(jpki.select(card)).sw(0x9000)
    expect(sign_cert_readable(card), "before VERIFY").sw(0x6982)
    expect(jpki.verify(card, "sign", pins.sign)).sw(0x9000)
    expect(sign_cert_readable(card), "after VERIFY").sw(0x9000)

    expect(jpki.select(card), "re-SELECT").sw(0x9000)
    expect(sign_cert_readable(card), "after re-SELECT").sw(0x6982)

    expect(jpki.verify(card, "sign", pins.sign)).sw(0x9000)
    expect(jpki.select_text(card), "another AP").sw(0x9000)
    expect(jpki.select(card)).sw(0x9000)
    expect(sign_cert_readable(card), "after selecting another AP").sw(0x6982)

    expect(jpki.verify(card, "sign", pins.sign)).sw(0x9000)
    expect(card:power "warm", "warm reset").is_true()
    expect(jpki.select(card)).sw(0x9000)
    expect(sign_cert_readable(card), "after reset").sw(0x6982)
    -- Nothing is selected after a reset.
    expect(card:power "warm").is_true()
    expect(jpki.read_binary(card, 0, 1), "READ BINARY with nothing selected").fails()
  end,
}
