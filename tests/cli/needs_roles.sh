#!/bin/sh
# needs for every role (issue 11 point 3): "sim:ROLE" asks that ROLE be a
# simulator, "se_keys" that the TSM can open SCP03 sessions on each bound
# SE the scenario uses (implied by needing the TSM and an SE).  A bench
# marks an SE whose keys it does not know (a real phone) with
# ?keys=unknown; here sim:se?keys=unknown stands in for one.  An unmet
# need is a skip with its reason, on run and on list, never a failure.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1
r=$tmp/out/results.json
st() { python3 -c "import json; print(next(s['status'] + ': ' + (s.get('reason') or '') for s in json.load(open('$r'))['scenarios'] if s['id'] == '$1'))"; }

# a phone without its keys: the TSM scenario skips, the card one runs
"$bin" run scenarios/tsm/00_issue.lua scenarios/card/01_certificates.lua --target 'se=sim:se?keys=unknown' \
	--out "$tmp/out" >"$tmp/log" 2>&1
check "keys unknown: the run passes (exit 0)" [ $? = 0 ]
check "keys unknown: TSM-00 skipped, the SE's keys named" \
	[ "$(st TSM-00)" = "skip: needs the SE's keys (a test SE with known SCP03 keys); se is bound to sim:se?keys=unknown" ]
check "keys unknown: CARD-01 passes" [ "$(st CARD-01)" = "pass: " ]
check "keys unknown: the skip in the summary" has "1 passed, 0 failed, 1 skipped" "$tmp/log"
# the same SE declared with the test keys: TSM-00 runs and passes
rm -rf "$tmp/out"
"$bin" run scenarios/tsm/00_issue.lua --target 'se=sim:se?keys=test' --out "$tmp/out" >"$tmp/log" 2>&1
check "keys test: the run passes" [ $? = 0 ]
check "keys test: TSM-00 ran and passed" [ "$(st TSM-00)" = "pass: " ]
# a value that is neither: refused before anything runs
"$bin" run scenarios/tsm/00_issue.lua --target 'se=sim:se?keys=maybe' --out "$tmp/out2" >"$tmp/log" 2>&1
check "keys=maybe: exit 2" [ $? = 2 ]
check "keys=maybe: says what it takes" has "?keys= takes test or unknown" "$tmp/log"

# each role's needs, as list shows them (a pcsc: target is not opened by list)
mkdir -p "$tmp/sc"
for spec in "SIMSE:sim\\:se" "KEYS:se\", \"se_keys" "SE2:se2\", \"tsm"; do
	id=${spec%%:*} needs=$(echo "${spec#*:}" | sed 's/\\//g')
	printf 'return scenario { id = "%s", title = "t", needs = { "%s" }, run = function(w) end }\n' "$id" "$needs" \
		>"$tmp/sc/$id.lua"
done
"$bin" list "$tmp/sc" --target 'se=pcsc:Nothing?keys=unknown' --target 'se2=sim:se?serial=0746C917&keys=unknown' \
	>"$tmp/list" 2>&1
check "list: exit 0" [ $? = 0 ]
check "sim:se with a pcsc: se: skipped, the role named" \
	has "SIMSE .*(skipped: needs a simulator's insides; se is bound to pcsc:Nothing?keys=unknown)" "$tmp/list"
check "se_keys without the TSM: skipped for the se" \
	has "KEYS .*(skipped: needs the SE's keys (a test SE with known SCP03 keys); se is bound to pcsc:Nothing?keys=unknown)" "$tmp/list"
check "se2 and the TSM: skipped for se2" \
	has "SE2 .*(skipped: needs the SE's keys (a test SE with known SCP03 keys); se2 is bound to sim:se?serial=0746C917&keys=unknown)" "$tmp/list"
"$bin" list "$tmp/sc" --target 'se=sim:se?serial=0746C916' >"$tmp/list2" 2>&1
check "the same on simulators: nothing skipped" sh -c "! grep -q skipped '$tmp/list2'"
check "  and all three listed" [ "$(grep -c '^[A-Z0-9]* ' "$tmp/list2")" = 3 ]
finish
