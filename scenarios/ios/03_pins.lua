-- PIN reset and PIN change on an iPhone (operations 6 and 7 on iOS;
-- docs/ios.md): five wrong sign passwords lock it (6984); the holder
-- resets it in the Wallet app with the card (no reset without it), the
-- counter is full and the new password signs; the CA is untouched.  PIN
-- change stays on the iPhone: CHANGE REFERENCE DATA after VERIFY, the old
-- password refused after.
local app = require "app"
local rp = require "rp"
local wallet = require "wallet"

return scenario {
  id = "IOS-03", title = "PIN reset with the card and PIN change on an iPhone",
  tags = { "ios", "pin", "operation" }, needs = { "tsm" }, operations = { "pin_reset", "pin_change" },
  run = function(w)
    local bank = rp.new(w)
    local ph = wallet.iphone(w)
    local card = wallet.card(w)
    local r = wallet.issue(w, ph, card, { pins = { auth = "1111", sign = "FIRSTPW1" } })
    expect(r.ok, "issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local last
    for _ = 1, 5 do last = wallet.verify(ph, "sign", "WRONGPW9") end
    expect(last and last.sw, "the fifth wrong password").is(0x63C0)
    expect(wallet.verify(ph, "sign", "FIRSTPW1").sw, "locked: the right one refused").is(0x6984)
    expect(ph:inspect().slots.sign.pin.tries, "the oracle: locked").is(0)
    local bad = wallet.pin_reset(w, ph, nil, "sign", "RESETPW22")
    expect(bad.ok, "no reset without the card").is(false)
    local p = wallet.pin_reset(w, ph, card, "sign", "RESETPW22")
    expect(p.ok, "reset: " .. tostring(p.error)).is_true()
    expect(ph:inspect().slots.sign.pin.tries, "the counter full again").is(5)
    expect(wallet.sign(ph, "sign", "RESETPW22", "x") ~= nil, "the new password signs").is_true()
    expect(bank:says(r.result.sign_serial), "CA untouched").is "valid"

    local c = wallet.change_pin(ph, "sign", "RESETPW22", "CHANGED33")
    expect(c and c.sw, "PIN change on the iPhone").is(0x9000)
    expect(wallet.verify(ph, "sign", "RESETPW22").sw, "the old password refused").is(0x63C4)
    expect(wallet.sign(ph, "sign", "CHANGED33", "y") ~= nil, "the changed password signs").is_true()
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
