return scenario {
  id = "FAILING-EXPECT", title = "a failed expect names its line and the APDUs before it",
  run = function(w)
    expect(1 + 1).is(2)
    expect(w.card:transmit("00A4040C0AD392F000260100000001").sw).is(0x6982)
  end,
}
