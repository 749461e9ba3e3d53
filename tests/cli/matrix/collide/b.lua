-- Its id is the file name of MX-01[revoke_without_card=false,half_valid=block]
-- (tests/cli/matrix/ok/policies.lua): the two would share a run directory.
return scenario {
  id = "MX-01_revoke_without_card_false_half_valid_block_", title = "a colliding file name",
  run = function(w) expect(true).is_true() end,
}
