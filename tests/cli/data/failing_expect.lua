return scenario {
  id = "FAILING-EXPECT", title = "a failed expect names its line",
  run = function(w)
    expect(1 + 1).is(2)
    expect(0x6982).is(0x9000)
  end,
}
