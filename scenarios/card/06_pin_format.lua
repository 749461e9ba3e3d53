-- Badly formed PINs never reach the card, and a card that is sent one
-- anyway does not spend a try on an over-long one (docs/card.md#pins).
local jpki = require "jpki"

return scenario {
  id = "CARD-06", title = "bad PIN formats refused",
  tags = { "card", "jpki", "pin" },
  run = function(w)
    local card = w.card
    expect(jpki.select(card)).sw(0x9000)
    local auth0, sign0 = jpki.retries(card, "auth"), jpki.retries(card, "sign")
    local sent = card:apdus()

    for _, bad in ipairs { "123", "12345", "12a4", "", "１２３４" } do
      expect(select(2, jpki.verify(card, "auth", bad)), "auth PIN " .. string.format("%q", bad)).is "format"
    end
    for _, bad in ipairs { "ABC12", "mynahil1", "MYNAHIL-1", "ABCDEFGHIJKLMNOPQ", "" } do
      expect(select(2, jpki.verify(card, "sign", bad)), "sign PIN " .. string.format("%q", bad)).is "format"
    end
    expect(card:apdus(), "APDUs sent for refused PINs").is(sent)

    -- Sent anyway: more than 16 bytes is a wrong length, not a wrong PIN.
    expect(jpki.verify_raw(card, "sign", string.rep("A", 17))).sw(0x6700)
    expect(jpki.retries(card, "auth"), "auth tries unchanged").is(auth0)
    expect(jpki.retries(card, "sign"), "sign tries unchanged").is(sign0)
  end,
}
