-- Invariant 3 broken on purpose: alice's phone resold to bob without a
-- revocation (case 8); bob's issuance removes alice's applet — then her
-- sign key and certificate are put back into bob's sign slot.
local app = require "app"
local issued = require "inv_setup"

return scenario {
  id = "INV-3", title = "the previous holder's sign key put back after a transfer",
  needs = { "se", "tsm", "sim" },
  run = function(w)
    local phone = issued(w)
    local cert, key = phone.se:_nvm("sejpki/ef/0001"), phone.se:_nvm("sejpki/key/001A")
    local bob = app.card(w:open("sim:card?profile=" .. w:fixture("profiles/bob.lua")),
      { auth = "5678", sign = "BOBSIGN2026" })
    local r = app.issue(w, phone, bob, { pins = { auth = "2468", sign = "BOBPHONE1" } })
    expect(r.ok, "bob's issuance on alice's old phone: " .. tostring(r.error)).is_true()
    phone.se:_nvm("sejpki/ef/0001", cert)
    phone.se:_nvm("sejpki/key/001A", key)
    step "alice's key put back"
  end,
}
