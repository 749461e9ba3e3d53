-- scenarios/incidents/inc_001_pin_power.lua: an example incident (issue 13),
-- written by `mynahil incident minimise` from a real run, below as made:
--   mynahil run scenarios/card/03_lockout.lua --out /tmp/c3
--   mynahil incident minimise /tmp/c3/traces/CARD-03.jsonl --target sim:card \
--       --mutate pin_power --scenario scenarios/incidents/inc_001_pin_power.lua --id INC-001
-- The defect, planted on purpose: pin_power (docs/mutations.md), every PIN
-- counter full again at power-up, so a PIN that three wrong tries blocked
-- is unblocked by a power loss.  The scenario is the regression it guards:
-- it passes on the card, and fails at the last VERIFY under pin_power.
-- tests/cli/incident_example.sh checks both, and that the minimiser
-- still writes the same commands.
-- INC-001: an incident, minimised by `mynahil incident minimise` from
-- /tmp/c3/traces/CARD-03.jsonl
-- (9 of its 37 records kept).  Checked against sim:card, the first answer
-- that differs from the recording is at line 33: recorded 6984, the target 9000.
-- Every command expects the recorded status word: the scenario passes on a
-- card that answers as the recorded one did, and fails at that command on
-- one that answers as the target did.
return scenario {
  id = "INC-001", title = "incident: 9 commands from CARD-03.jsonl",
  tags = { "card", "incident" },
  run = function(w)
    local l = w.card
    local r
    r = l:transmit("00A4040C0AD392F000260100000001")
    expect(r, "line 1").sw(0x9000)
    r = l:transmit("00A4020C020018")
    expect(r, "line 2").sw(0x9000)
    r = l:transmit("002000800439393939")
    expect(r, "line 3").sw(0x63C2)
    r = l:transmit("002000800439393939")
    expect(r, "line 5").sw(0x63C1)
    r = l:transmit("002000800439393939")
    expect(r, "line 7").sw(0x63C0)
    expect(l:power("cold"), "line 30").is_true()
    r = l:transmit("00A4040C0AD392F000260100000001")
    expect(r, "line 31").sw(0x9000)
    r = l:transmit("00A4020C020018")
    expect(r, "line 32").sw(0x9000)
    r = l:transmit("002000800431323334")
    expect(r, "line 33, where the target differed").sw(0x6984)
  end,
}
