-- PIN reset (operation 6): the phone's sign PIN is blocked after 5 wrong
-- tries; the holder resets it in the app with the card (its signature
-- authorises the TSM), the TSM writes the new PIN under SCP03
-- C-DECRYPTION, and the counter is full again.  PIN change (operation 7)
-- stays on the device: CHANGE REFERENCE DATA, no TSM.
local app = require "app"
local rp = require "rp"
local jpki = require "jpki"

return scenario {
  id = "TSM-06", title = "PIN reset with the card; PIN change on the device",
  tags = { "tsm", "pin", "operation" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operations = { "pin_reset", "pin_change" },
  run = function(w)
    local bank = rp.new(w)
    local phone = app.phone(w)
    local card = app.card(w.card, w.profile.pins)
    local r = app.issue(w, phone, card, { pins = { auth = "1234", sign = "FIRSTPIN1" } })
    expect(r.ok, "issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local last
    for _ = 1, 5 do
      local _, rr = app.sign(phone, "sign", "WRONGPIN9", "x")
      last = rr
    end
    expect(last and last.sw, "the fifth wrong PIN blocks").is(0x63C0)
    expect(app.sign(phone, "sign", "FIRSTPIN1", "x"), "blocked: even the right PIN fails").is(nil)

    local bad = app.pin_reset(w, phone, nil, "sign", "NEWPIN22")
    expect(bad.ok, "no reset without the card").is(false)
    local p = app.pin_reset(w, phone, card, "sign", "NEWPIN22")
    expect(p.ok, "reset: " .. tostring(p.error)).is_true()
    expect(app.sign(phone, "sign", "NEWPIN22", "x") ~= nil, "the new PIN signs").is_true()
    expect(bank:says(r.result.sign_serial), "CA untouched").is "valid"

    -- PIN change on the device (the auth PIN), no TSM session.
    local ch = phone.se:transmit("0070000001")
    local c = tonumber(ch.hex, 16)
    local link = { transmit = function(_, a)
      return phone.se:transmit(string.format("%02X", tonumber(a:sub(1, 2), 16) | c) .. a:sub(3)) end }
    jpki.select(link)
    expect(jpki.change_pin(link, "auth", "1234", "5678")).sw(0x9000)
    phone.se:transmit(string.format("0070800%X", c))
    expect(app.sign(phone, "auth", "5678", "x") ~= nil, "the changed auth PIN signs").is_true()
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
