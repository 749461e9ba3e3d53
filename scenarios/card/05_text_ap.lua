-- 券面事項入力補助AP: the individual number and the four attributes, with
-- the PIN, with 照合番号A (the number) and with 照合番号B (docs/card.md#text-ap).
local jpki = require "jpki"

-- 照合番号B: birth date in Japanese-era YYMMDD, card expiry year, the
-- security code printed on the card.
local ERAS = { { "20190501", 2019 }, { "19890108", 1989 }, { "19261225", 1926 }, { "19120730", 1912 } }
local function check_b(h)
  for _, e in ipairs(ERAS) do
    if h.birth >= e[1] then
      local year = tonumber(h.birth:sub(1, 4)) - e[2] + 1
      return string.format("%02d%s%04d%s", year, h.birth:sub(5, 8), h.expiry_year, h.security_code)
    end
  end
end

local function read(card, fid)
  expect(jpki.select_ef(card, fid)).sw(0x9000)
  return jpki.read_all(card)
end

return scenario {
  id = "CARD-05", title = "入力補助AP read with the PIN, 照合番号A and 照合番号B",
  tags = { "card", "textap" },
  run = function(w)
    local card, p = w.card, w.profile
    local h = p.holder

    expect(jpki.select_text(card)).sw(0x9000)
    expect(jpki.select_ef(card, "0001")).sw(0x9000)
    expect(jpki.read_binary(card, 0, 0), "number without a PIN").sw(0x6982)

    expect(jpki.verify(card, "text", p.pins.text)).sw(0x9000)
    expect(jpki.parse_number(read(card, "0001")), "individual number").is(h.number)
    local a = jpki.parse_attrs(read(card, "0002"))
    expect(a.name, "name").is(h.name)
    expect(a.address, "address").is(h.address)
    expect(a.birth, "birth date").is(h.birth)
    expect(a.sex, "sex").is(h.sex)
    expect(#a.offsets, "DF21 offsets").is(8)

    -- 照合番号A opens the number.
    expect(jpki.select_text(card)).sw(0x9000)
    expect(jpki.verify(card, "number", h.number)).sw(0x9000)
    expect(jpki.parse_number(read(card, "0001")), "number with 照合番号A").is(h.number)

    -- 照合番号B opens the attributes, not the number.
    expect(jpki.select_text(card)).sw(0x9000)
    local b = check_b(h)
    expect(b, "照合番号B").len(14)
    expect(jpki.verify(card, "check_b", b)).sw(0x9000)
    expect(jpki.parse_attrs(read(card, "0002")).name, "name with 照合番号B").is(h.name)
    expect(jpki.select_ef(card, "0001")).sw(0x9000)
    expect(jpki.read_binary(card, 0, 0), "number with 照合番号B only").sw(0x6982)

    -- A wrong 照合番号B counts down; the right one restores the count.
    local before = jpki.retries(card, "check_b")
    local wrong = (b:sub(1, 13) .. (b:sub(14) == "0" and "1" or "0"))
    expect(jpki.verify(card, "check_b", wrong)).sw(0x63C0 | (before - 1))
    expect(jpki.verify(card, "check_b", b)).sw(0x9000)
    expect(jpki.retries(card, "check_b"), "照合番号B tries restored").is(before)
  end,
}
