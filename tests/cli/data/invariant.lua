-- An invariant that does not hold fails the scenario after its run, even
-- when every expect of the run passed.
mynahil.invariant(9, "an invariant broken on purpose", function(w) return false, "broken on purpose" end)
mynahil.invariant(8, "an invariant that does not apply", function(w) return nil end)

return scenario {
  id = "INVARIANT", title = "invariants are checked after the run",
  run = function(w)
    expect(true, "the run itself").is_true()
  end,
}
