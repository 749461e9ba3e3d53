#!/bin/sh
# The whole scenario suite passes on the in-process simulators, in
# parallel and in shards, and the same seed gives the same results.json
# (outside its "timing" part).
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1
comparable() { sed '/"timing"/,$d' "$1"; }

# Under --matrix: every scenario under each combination of the switches
# it declares (a superset of the plain run).
"$bin" run scenarios --matrix --out "$tmp/a" -j 2 --seed 42 >"$tmp/a.out" 2>&1
st=$?
cat "$tmp/a.out"
check "suite passes" [ "$st" = 0 ]
check "junit.xml" grep -q '<testsuite ' "$tmp/a/junit.xml"
check "results.json has the seed" grep -q '"seed": "42"' "$tmp/a/results.json"
# Every policy switch runs both ways somewhere (docs/domain.md#policy-switches),
# se_model too: every TSM and life-cycle scenario under shared_isd and ssd.
python3 - "$tmp/a/results.json" >"$tmp/both" 2>&1 <<'PY'
import json, sys
seen = {}
for s in json.load(open(sys.argv[1]))["scenarios"]:
    assert s["status"] == "pass", s["id"]
    for k, v in s["policy"].items():
        seen.setdefault(k, set()).add(v)
want = {"revoke_without_card", "delete_applet_on_revoke", "half_valid", "phone_sign_cert", "one_phone_scope",
        "se_model"}
missing = sorted(k for k in want if len(seen.get(k, ())) < 2)
print("one way only:", missing) if missing else print("ok")
PY
check "every switch both ways in results.json ($(cat "$tmp/both"))" has "^ok$" "$tmp/both"

"$bin" run scenarios --matrix --out "$tmp/b" --seed 42 >/dev/null 2>&1
comparable "$tmp/a/results.json" >"$tmp/a.cmp"
comparable "$tmp/b/results.json" >"$tmp/b.cmp"
check "same seed, same results.json (-j 2 and -j 1)" cmp -s "$tmp/a.cmp" "$tmp/b.cmp"
check "same seed, same APDU traces" diff -r "$tmp/a/traces" "$tmp/b/traces"
check "a torn command is traced with no response" grep -q '"rsp":null' "$tmp/a/traces/CARD-07.jsonl"
check "tears are traced" grep -q '"event":"tear at write 1"' "$tmp/a/traces/CARD-07.jsonl"

total=$("$bin" list scenarios | wc -l)
n1=$("$bin" list scenarios --shard 1/2 | wc -l)
n2=$("$bin" list scenarios --shard 2/2 | wc -l)
check "two shards cover the suite ($n1 + $n2 = $total)" [ $((n1 + n2)) = "$total" ]
check "shards are disjoint" sh -c "! { '$bin' list scenarios --shard 1/2; '$bin' list scenarios --shard 2/2; } | sort | uniq -d | grep -q ."
nt=$("$bin" list scenarios --tags tear | wc -l)
check "--tags selects (tear: $nt)" [ "$nt" = 1 ]
nf=$("$bin" list scenarios --filter 'CARD-0[12]' | wc -l)
check "--filter selects ($nf)" [ "$nf" = 2 ]

finish
