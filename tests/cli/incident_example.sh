#!/bin/sh
# The committed example incident (scenarios/incidents/inc_001_pin_power.lua,
# docs/incidents.md): it passes on the card; under the defect it was made
# from (mutation pin_power: PIN counters full again at power-up) it fails
# at the VERIFY after the power loss; and `incident minimise`, run again
# as its header says, writes the same scenario — 9 records, the wrong
# PINs that blocked the PIN kept.  Without the reference check (the
# simulator without the mutation must still answer a candidate as
# recorded) the minimiser kept 3 records, a VERIFY recorded 6984 on a
# fresh card: a scenario that failed on a card without the defect too.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1
inc=scenarios/incidents/inc_001_pin_power.lua

"$bin" run "$inc" --out "$tmp/ok" >"$tmp/ok.out" 2>&1
check "INC-001 passes on the card (exit $?)" has "^ok 1 - INC-001" "$tmp/ok.out"

if "$bin" run scenarios/card/00_session.lua --mutate pin_power --out "$tmp/m0" >/dev/null 2>"$tmp/m0.err"; then
	"$bin" run "$inc" --mutate pin_power --out "$tmp/bad" >"$tmp/bad.out" 2>&1
	check "INC-001 under pin_power: fails (exit $?)" has "^not ok 1 - INC-001" "$tmp/bad.out"
	check "INC-001 under pin_power: at the VERIFY after the power loss, unblocked" \
		has "inc_001_pin_power.lua:[0-9]*: got 9000, want 6984" "$tmp/bad.out"

	# made again as its header says: the same commands
	"$bin" run scenarios/card/03_lockout.lua --out "$tmp/c3" >/dev/null 2>&1
	"$bin" incident minimise "$tmp/c3/traces/CARD-03.jsonl" --target sim:card --mutate pin_power \
		--scenario "$tmp/again.lua" --id INC-001 >"$tmp/min.out" 2>&1
	check "minimise: exit 0" [ $? = 0 ]
	check "minimise: the reference check on" has "reference: sim:card without pin_power answers it as recorded" "$tmp/min.out"
	check "minimise: 9 of 37 records" has "minimal: 9 of 37 records" "$tmp/min.out"
	sed -n '/^return scenario {/,$p' "$inc" >"$tmp/committed.body"
	sed -n '/^return scenario {/,$p' "$tmp/again.lua" >"$tmp/again.body"
	check "minimise: the committed scenario's body, byte for byte" cmp -s "$tmp/committed.body" "$tmp/again.body"
	"$bin" run "$tmp/again.lua" --out "$tmp/ok2" >"$tmp/ok2.out" 2>&1
	check "the scenario made again passes on the card" has "^ok 1 - INC-001" "$tmp/ok2.out"
elif has "no mutation hooks" "$tmp/m0.err"; then
	echo "SKIP: this build has no mutation hooks (MYNAHIL_MUTANTS=OFF)"
	[ -z "${CI:-}" ] || fail=$((fail + 1))
else
	check "CARD-00 passes under pin_power" false
fi
finish
