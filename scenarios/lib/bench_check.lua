-- bench_check.lua — the scenario `mynahil check` runs: it asks the TSM for
-- its registry check (so that the invariants over the TSM and the CA
-- apply) and leaves the rest to the invariants (docs/domain.md#invariants),
-- which run at its end over every bound party (scenarios/lib/invariants.lua,
-- docs/invariants.md).  Not a scenario of the suite: lib/ is never
-- searched for scenarios.
return scenario {
  id = "CHECK", title = "the five invariants of docs/domain.md on the bench",
  run = function(w)
    local s = w.tsm:call("GET", "/v1/tsm/check")
    expect(s, "the TSM answers its registry check").is(200)
  end,
}
