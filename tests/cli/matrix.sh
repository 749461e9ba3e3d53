#!/bin/sh
# The policy matrix (docs/domain.md#policy-switches): --policy pins a switch and
# refuses unknown names and values naming the choices; --matrix runs a
# scenario once per combination of the switches it declares, each a
# result of its own whose policy the scenario sees and every report
# carries; unknown switches, values, operations and cases fail to load at
# file:line; the same seed gives the same results.json outside "timing".
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1
comparable() { sed '/"timing"/,$d' "$1"; }
ok=tests/cli/matrix/ok bad=tests/cli/matrix/bad

# --policy: usage errors, exit 2, naming the valid choices.
"$bin" run "$ok" --out "$tmp/u" --policy no_such=1 >"$tmp/u1" 2>&1
check "unknown switch: exit 2" [ $? = 2 ]
check "unknown switch: the switches named" has "unknown switch 'no_such'; the switches are revoke_without_card, delete_applet_on_revoke, half_valid, phone_sign_cert, one_phone_scope, se_model" "$tmp/u1"
"$bin" run "$ok" --out "$tmp/u" --policy half_valid=erase >"$tmp/u2" 2>&1
check "bad value: exit 2" [ $? = 2 ]
check "bad value: the values named" has "half_valid takes block or erase_revoked, not 'erase'" "$tmp/u2"
"$bin" run "$ok" --out "$tmp/u" --policy revoke_without_card >"$tmp/u3" 2>&1
check "no value: exit 2" [ $? = 2 ]
check "no value: the values named" has "revoke_without_card takes false or true" "$tmp/u3"
"$bin" list "$ok" --policy phone_sign_cert=maybe >"$tmp/u4" 2>&1
check "list checks --policy too" [ $? = 2 ]
check "nothing ran on a usage error" [ ! -e "$tmp/u/results.json" ]

# --matrix: 2 x 2 combinations of MX-01, and MX-02 once.
"$bin" run "$ok" --matrix --seed 7 --out "$tmp/a" >"$tmp/a.out" 2>&1
st=$?
cat "$tmp/a.out"
check "matrix run passes" [ "$st" = 0 ]
check "five results" has "^5 passed, 0 failed, 0 skipped$" "$tmp/a.out"
n=1 # MX-02 is the first
for c in "false,half_valid=block" "false,half_valid=erase_revoked" "true,half_valid=block" "true,half_valid=erase_revoked"; do
	id="MX-01[revoke_without_card=$c]"
	check "$id passed" grep -qF -- "ok $((n = n + 1)) - $id sees" "$tmp/a.out"
	check "$id in results.json" grep -qF "\"id\": \"$id\"" "$tmp/a/results.json"
	check "$id in junit.xml" grep -qF "name=\"$id: sees the policy in effect\"" "$tmp/a/junit.xml"
	check "$id in results.tap" grep -qF " - $id sees the policy in effect" "$tmp/a/results.tap"
	check "$id saw it (system-out)" grep -qF "seen: revoke_without_card=$c" "$tmp/a/junit.xml"
done
check "deterministic order" sh -c "grep -o 'MX-01\[[^]]*\]' '$tmp/a.out' | tr '\n' ' ' | grep -qF 'MX-01[revoke_without_card=false,half_valid=block] MX-01[revoke_without_card=false,half_valid=erase_revoked] MX-01[revoke_without_card=true,half_valid=block] MX-01[revoke_without_card=true,half_valid=erase_revoked]'"
# File names from the ids: [ = , ] become _; the scenario wrote into its run dir.
check "run directory named safely" [ -f "$tmp/a/run/MX-01_revoke_without_card_true_half_valid_block_/here.txt" ]
check "trace named safely" [ -f "$tmp/a/traces/MX-01_revoke_without_card_false_half_valid_erase_revoked_.jsonl" ]
check "no file name with [ or =" sh -c "! find '$tmp/a' -name '*[[=,]*' | grep -q ."
# The policy in effect, the cases and operations, in every report.
python3 - "$tmp/a/results.json" >"$tmp/py" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
sc = {s["id"]: s for s in d["scenarios"]}
s = sc["MX-01[revoke_without_card=true,half_valid=erase_revoked]"]
assert s["cases"] == [6], s["cases"]
assert s["operations"] == ["revoke", "suspend_resume"], s["operations"]
assert list(s["policy"].items()) == [("revoke_without_card", "true"), ("delete_applet_on_revoke", "warn"),
                                     ("half_valid", "erase_revoked")], s["policy"]
p = sc["MX-02"]
assert p["cases"] == [] and p["operations"] == ["issue"] and p["policy"] == {}, p
assert set(d["timing"]["scenarios"]) == set(sc), d["timing"]
print("ok")
PY
check "results.json: cases, operations, policy (in the order of docs/domain.md#policy-switches)" has "^ok$" "$tmp/py"
check "junit: case property" grep -qF '<property name="case" value="6"/>' "$tmp/a/junit.xml"
check "junit: operation property" grep -qF '<property name="operation" value="suspend_resume"/>' "$tmp/a/junit.xml"
check "junit: policy property" grep -qF '<property name="policy.half_valid" value="erase_revoked"/>' "$tmp/a/junit.xml"
check "junit: four policy.half_valid properties" [ "$(grep -c 'name="policy.half_valid"' "$tmp/a/junit.xml")" = 4 ]
check "tap: the meta line" grep -qF '# meta: {cases: [6], operations: ["revoke", "suspend_resume"], policy: {"revoke_without_card": "true", "delete_applet_on_revoke": "warn", "half_valid": "block"}}' "$tmp/a/results.tap"

# Same seed, same results.json outside "timing" (-j 2 against -j 1).
"$bin" run "$ok" --matrix --seed 7 -j 2 --out "$tmp/b" >/dev/null 2>&1
comparable "$tmp/a/results.json" >"$tmp/a.cmp"
comparable "$tmp/b/results.json" >"$tmp/b.cmp"
check "results.json byte-identical outside timing" cmp -s "$tmp/a.cmp" "$tmp/b.cmp"
sed 's/ time="[^"]*"//' "$tmp/a/junit.xml" >"$tmp/a.j"
sed 's/ time="[^"]*"//' "$tmp/b/junit.xml" >"$tmp/b.j"
check "junit.xml identical but for its times" cmp -s "$tmp/a.j" "$tmp/b.j"
check "results.tap identical" cmp -s "$tmp/a/results.tap" "$tmp/b/results.tap"

# Without --matrix: one run each, under the defaults of what it supports.
"$bin" run "$ok" --out "$tmp/c" >"$tmp/c.out" 2>&1
check "without --matrix: two results" has "^2 passed, 0 failed, 0 skipped$" "$tmp/c.out"
check "without --matrix: plain id" grep -qF '"id": "MX-01"' "$tmp/c/results.json"
check "without --matrix: the defaults" has "seen: revoke_without_card=false,half_valid=block" "$tmp/c/junit.xml"

# A pin fixes a switch in the matrix, reaches undeclaring scenarios, and
# skips one that declares other values only.
"$bin" run "$ok" --matrix --policy half_valid=erase_revoked --policy se_model=ssd --out "$tmp/d" >"$tmp/d.out" 2>&1
check "pinned: two combinations + MX-02" has "^3 passed, 0 failed, 0 skipped$" "$tmp/d.out"
check "pinned: fixed in the id" grep -qF 'MX-01[revoke_without_card=true,half_valid=erase_revoked]' "$tmp/d.out"
check "pinned: seen by a scenario that does not declare it" has "pinned: se_model=ssd" "$tmp/d/junit.xml"
"$bin" run "$ok" --matrix --policy delete_applet_on_revoke=force --out "$tmp/e" >"$tmp/e.out" 2>&1
check "pin against a fixed value: a skip" has "MX-01 sees the policy in effect # SKIP runs under delete_applet_on_revoke=warn only (--policy delete_applet_on_revoke=force)" "$tmp/e.out"

# Unknown switches, values, operations, cases: load errors at file:line.
"$bin" run "$bad" --matrix --out "$tmp/f" >"$tmp/f.out" 2>&1
check "bad declarations: exit 1" [ $? = 1 ]
check "unknown switch at file:line" has "tests/cli/matrix/bad/unknown_switch.lua:2: scenario: policies: unknown policy switch 'delete_applet'; the switches (docs/domain.md#policy-switches) are revoke_without_card, " "$tmp/f.out"
check "unknown operation at file:line" has "tests/cli/matrix/bad/unknown_op.lua:2: scenario: unknown operation 'rekey' (operations\[2\]); the operations (docs/domain.md#operations) are issue, revoke, renew, reissue, suspend_resume, pin_reset, pin_change" "$tmp/f.out"
check "bad value at file:line" has "tests/cli/matrix/bad/bad_value.lua:2: scenario: policy: half_valid = \"erase\" is not a value of the switch; choose \"block\" or \"erase_revoked\"" "$tmp/f.out"
check "bad case at file:line" has "tests/cli/matrix/bad/bad_case.lua:2: scenario: field 'case' must be a life-cycle case number from 1 to 15" "$tmp/f.out"
check "a boolean switch takes booleans" has "tests/cli/matrix/bad/string_bool.lua:2: scenario: policies: phone_sign_cert = \"true\" is not a value of the switch; choose true or false" "$tmp/f.out"
check "all five refused" has "^0 passed, 5 failed, 0 skipped$" "$tmp/f.out"

# Two ids that make one file name: the later (in run order) refused.
"$bin" run "$ok/policies.lua" tests/cli/matrix/collide --matrix --out "$tmp/g" >"$tmp/g.out" 2>&1
check "colliding file names: one refused" has "^4 passed, 1 failed, 0 skipped$" "$tmp/g.out"
check "colliding file names: named" grep -qF "ok/policies.lua:1: scenario id 'MX-01[revoke_without_card=false,half_valid=block]' makes the same file name as 'MX-01_revoke_without_card_false_half_valid_block_'" "$tmp/g.out"

finish
