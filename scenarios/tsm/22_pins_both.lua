-- PINs of both certificates (issue 10 point 6; operations 6 and 7,
-- invariant 5: docs/domain.md): PIN reset through the TSM with the card and PIN
-- change on the device, for the auth PIN and for the sign password; each time
-- the old PIN fails afterwards and the new one signs.  A phone PIN
-- blocked by wrong tries stays blocked across power loss (the SE powered
-- off and on), until a PIN reset; the certificates stay valid for a
-- relying party (OCSP, CRL) throughout.
local app = require "app"
local rp = require "rp"
local jpki = require "jpki"

-- A logical channel to the phone's JPKI applet, selected.
local function channel(phone)
  local ch = phone.se:transmit("0070000001")
  local c = tonumber(ch.hex, 16)
  local link = { transmit = function(_, a)
    return phone.se:transmit(string.format("%02X", tonumber(a:sub(1, 2), 16) | c) .. a:sub(3)) end }
  jpki.select(link)
  return link, function() phone.se:transmit(string.format("0070800%X", c)) end
end

return scenario {
  id = "TSM-22", title = "PIN reset and change for the auth PIN and the sign password; a blocked PIN across power loss",
  tags = { "tsm", "pin", "operation" }, needs = { "se", "tsm" },
  policies = { se_model = { "shared_isd", "ssd" } },
  operations = { "pin_reset", "pin_change" },
  run = function(w)
    local bank = rp.new(w)
    local phone = app.phone(w)
    local card = app.card(w.card, w.profile.pins)
    local pin = { auth = "2580", sign = "BOTHPINS1" }
    local r = app.issue(w, phone, card, { pins = pin })
    expect(r.ok, "issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local tries = { auth = 3, sign = 5 }
    local new = { auth = { "1593", "7410" }, sign = { "RESETPIN2", "CHANGED3" } }

    for _, which in ipairs { "auth", "sign" } do
      -- Block it: every try wrong.
      local bad = which == "auth" and "0000" or "WRONGWRONG"
      for _ = 1, tries[which] do app.sign(phone, which, bad, "x") end
      local link, close = channel(phone)
      expect(jpki.retries(link, which), which .. ": blocked").is(0)
      close()
      -- Power loss: still blocked, the right PIN refused.
      phone.se:power("off")
      phone.se:power("cold")
      link, close = channel(phone)
      expect(jpki.retries(link, which), which .. ": still blocked after power loss").is(0)
      close()
      expect(app.sign(phone, which, pin[which], "x"), which .. ": the right PIN refused while blocked").is(nil)

      -- PIN reset through the TSM, authorised by the card.
      local p = app.pin_reset(w, phone, card, which, new[which][1])
      expect(p.ok, which .. ": reset: " .. tostring(p.error)).is_true()
      link, close = channel(phone)
      expect(jpki.retries(link, which), which .. ": the counter full again").is(tries[which])
      close()
      expect(app.sign(phone, which, pin[which], "x"), which .. ": the old PIN fails after the reset").is(nil)
      expect(app.sign(phone, which, new[which][1], "x") ~= nil, which .. ": the reset PIN signs").is_true()

      -- PIN change on the device: CHANGE REFERENCE DATA after the current PIN.
      link, close = channel(phone)
      expect(jpki.change_pin(link, which, new[which][1], new[which][2])).sw(0x9000)
      close()
      expect(app.sign(phone, which, new[which][1], "x"), which .. ": the old PIN fails after the change").is(nil)
      local der = app.phone_cert(phone, which, new[which][2])
      local sig = app.sign(phone, which, new[which][2], "changed")
      expect(sig ~= nil and der ~= nil, which .. ": the changed PIN signs").is_true()
      if sig and der then
        expect(bank:verify(der, "changed", sig).ok, which .. ": a relying party accepts it (OCSP, CRL)").is_true()
      end
    end
    expect(bank:says(r.result.auth_serial), "RP: auth certificate valid throughout").is "valid"
    expect(bank:says(r.result.sign_serial), "RP: sign certificate valid throughout").is "valid"
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
