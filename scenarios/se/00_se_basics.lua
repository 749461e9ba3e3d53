-- The FeliCa-SE as a phone's OMAPI and a reader see it before any TSM work
-- (docs/se.md): the ISD answers SELECT with its FCI and GET DATA with
-- its CPLC and key information; a logical channel opens and closes; the JPKI
-- applet is not there yet; the FeliCa side answers Polling with its IDm.
-- Needs the se role: mynahil run scenarios/se --target se=sim:se
return scenario {
  id = "SE-00", title = "SE: ISD, logical channel, no applet yet, FeliCa polling",
  tags = { "se", "smoke" },
  needs = { "se" },
  run = function(w)
    local se = w.se
    local fci = se:transmit("00A4040000")
    expect(fci).sw(0x9000)
    expect(fci.hex, "ISD FCI carries the ISD AID").contains("8408A000000151000000")
    expect(se:transmit("80CA9F7F00")).sw(0x9000)
    local kit = se:transmit("80CA00E000")
    expect(kit).sw(0x9000)
    expect(kit.hex, "key information: KVN 30, AES-128").contains("C00401308810")

    -- OMAPI openLogicalChannel: MANAGE CHANNEL, then SELECT on the channel.
    local open = se:transmit("0070000001")
    expect(open).sw(0x9000)
    expect(open.hex, "channel 1").is "01"
    expect(se:transmit("01A4040C0AD392F000260100000001"), "no JPKI applet before the TSM")
      .sw(0x6A82)
    expect(se:transmit("00708001")).sw(0x9000)
    expect(se:transmit("01CA00CF00"), "closed channel").sw(0x6881)

    -- Secure-channel commands need a session.
    expect(se:transmit("80F24002024F0000"), "GET STATUS without SCP03").sw(0x6982)

    -- FeliCa Polling with a system-code request, through the same link (the
    -- answer is a frame, not an APDU: its last two bytes land in .sw).
    local poll = se:transmit("0600FFFF0100")
    local frame = poll.hex .. string.format("%04X", poll.sw)
    expect(frame:sub(1, 4), "Polling response, LEN 14").is "1401"
    expect(#frame, "LEN 01 IDm PMm SC").is(40)
    expect(frame:sub(37), "the first system code").is "FE00"
  end,
}
