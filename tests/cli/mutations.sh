#!/bin/sh
# The suite bites: for every mutation switch (sim/core/mutate.h,
# docs/mutations.md) the whole scenario suite, run with that one defect
# planted in the simulators, fails at least one scenario.  Prints the
# table "mutation -> the scenarios that caught it" and names every
# mutation that survived.  The same run without a mutation is all green.
# MUTATIONS="a b" limits the sweep (a quick look while working on one).
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

# The switches, as the binary lists them when refusing an unknown name.
"$bin" run scenarios --mutate no-such-mutation >"$tmp/list.out" 2>"$tmp/list"
st=$?
check "an unknown mutation is refused (exit 2)" [ "$st" = 2 ]
check "the refusal lists the mutations" has "the mutations are:" "$tmp/list"
check "nothing ran" [ ! -s "$tmp/list.out" ]
if has "no mutation hooks" "$tmp/list"; then
	# A build without MYNAHIL_MUTANTS refuses every name: nothing to sweep.
	echo "SKIP: this build has no mutation hooks (MYNAHIL_MUTANTS=OFF)"
	[ -z "${CI:-}" ] || fail=$((fail + 1))
	finish
	exit
fi
all=$(sed -n 's/^  \([a-z_][a-z_]*\) .*/\1/p' "$tmp/list")
check "at least ten mutations" [ "$(echo "$all" | wc -w)" -ge 10 ]

# Scenario ids of the "not ok" lines of a run's output.
failed() { sed -n 's/^not ok [0-9]* - \([^ ]*\).*/\1/p' "$1" | sort | tr '\n' ' '; }

"$bin" run scenarios --mutate none -j 2 --out "$tmp/none" >"$tmp/none.out" 2>&1
st=$?
check "unmutated: the suite is green (exit $st; failed: $(failed "$tmp/none.out"))" [ "$st" = 0 ]

survivors=""
printf '%-16s %s\n' "mutation" "caught by" >"$tmp/table"
for m in ${MUTATIONS:-$all}; do
	"$bin" run scenarios --mutate "$m" -j 2 --out "$tmp/$m" >"$tmp/$m.out" 2>"$tmp/$m.err"
	st=$?
	caught=$(failed "$tmp/$m.out")
	check "$m: announced on stderr" has "mutation $m in effect" "$tmp/$m.err"
	check "$m: results.json says so" has "\"mutation\": \"$m\"" "$tmp/$m/results.json"
	check "$m: a JUnit property" has "name=\"mutation\" value=\"$m\"" "$tmp/$m/junit.xml"
	check "$m: the TAP header" has "# mutation: $m" "$tmp/$m/results.tap"
	check "$m: the reproduce line" has "--mutate $m" "$tmp/$m/report.html"
	if [ "$st" = 1 ] && [ -n "$caught" ]; then
		printf '%-16s %s\n' "$m" "$caught" >>"$tmp/table"
	else
		printf '%-16s %s\n' "$m" "SURVIVED (exit $st)" >>"$tmp/table"
		survivors="$survivors $m"
	fi
done
cat "$tmp/table"
check "every mutation caught by a scenario (survivors:${survivors:- none})" [ -z "$survivors" ]
finish
