-- Backtracking in C: no hook runs inside string.find.
return scenario {
  id = "H-PATTERN", title = "a pattern that backtracks for ever",
  run = function(w)
    string.find(string.rep("a", 30000), ".-.-.-.-.-b")
  end,
}
