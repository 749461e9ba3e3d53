-- Diversified keys (issue 16 point 4, docs/se.md#diversified-keys): every SE's
-- ISD key set is the master's diversified by the SE's KDD, its CPLC identity.
-- Phone A's keys, leaked (derived here from the fixture master and A's KDD, as
-- whoever read A's keys would hold them), open A's ISD and no other: against
-- phone B the card cryptogram does not verify at the host, and an EXTERNAL
-- AUTHENTICATE built with A's keys anyway is refused by B (6300).  B's own
-- keys open B.  The phones are this scenario's own simulated SEs.
local MASTER = "404142434445464748494A4B4C4D4E4F"  -- fixtures/se/default.lua's master
local HC = "0102030405060708"

-- SELECT the ISD, INITIALIZE UPDATE: the command and the answer (data ‖ SW).
local function iu(se)
  expect(se:transmit("00A4040008A000000151000000")).sw(0x9000)
  local cmd = mynahil.gp.iu(0x30, HC)
  local r = se:transmit(cmd)
  expect(r, "INITIALIZE UPDATE").sw(0x9000)
  return cmd, r.hex .. "9000", r.hex:sub(1, 20)
end

return scenario {
  id = "SE-01", title = "SE: one phone's leaked keys open no other (diversified keys)",
  tags = { "se", "keys" }, needs = {},
  run = function(w)
    local a = assert(w:open("sim:se?serial=0000D001"))
    local b = assert(w:open("sim:se?serial=0000D002"))

    -- A: its KDD is its CPLC identity (fabricator, type, batch, serial)
    local cplc = a:transmit("80CA9F7F00")
    expect(cplc).sw(0x9000)
    local c = cplc.hex:sub(7)  -- past 9F7F 2A
    local cmd, rsp, kdd_a = iu(a)
    expect(kdd_a, "A's KDD is its CPLC identity").is(c:sub(1, 8) .. c:sub(33, 36) .. c:sub(25, 32))
    local leaked = mynahil.gp.diversify(MASTER, kdd_a)
    leaked.kvn = 0x30
    local ea = mynahil.gp.open(leaked, cmd, rsp, 0x13)
    expect(ea ~= nil, "A's keys verify A's card cryptogram").is_true()
    expect(a:transmit(ea), "A's keys open A").sw(0x9000)

    -- B: another KDD, so other keys
    local cmd_b, rsp_b, kdd_b = iu(b)
    expect(kdd_b ~= kdd_a, "B answers its own KDD").is_true()
    local none, why = mynahil.gp.open(leaked, cmd_b, rsp_b, 0x13)
    expect(none, "A's keys do not verify B's card cryptogram").is(nil)
    expect(why or "", "the host says why").contains("card cryptogram")
    local forced = mynahil.gp.open(leaked, cmd_b, rsp_b, 0x13, true)
    expect(forced ~= nil, "an EXTERNAL AUTHENTICATE built with A's keys anyway").is_true()
    expect(b:transmit(forced), "B refuses A's keys: host cryptogram wrong").sw(0x6300)

    -- B's own keys (its KDD, the same master) open B
    local cmd_b2, rsp_b2, kdd_b2 = iu(b)
    local own = mynahil.gp.diversify(MASTER, kdd_b2)
    own.kvn = 0x30
    local ea_b = mynahil.gp.open(own, cmd_b2, rsp_b2, 0x13)
    expect(ea_b ~= nil, "B's keys verify B's card cryptogram").is_true()
    expect(b:transmit(ea_b), "B's own keys open B").sw(0x9000)
  end,
}
