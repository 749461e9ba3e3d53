#!/bin/sh
# The invariants of docs/domain.md#invariants (docs/invariants.md): each broken
# on purpose through a back door of the simulators (tests/cli/invariants/*.lua)
# is reported naming the step's scenario line; a run that raised still
# reports them; --paranoid sees a violation repaired before the end;
# `mynahil check` against a clean and a broken `serve tsm` (exit 0, 1, 2).
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1
D=tests/cli/invariants

run() { # NAME FILE [ARGS]: run one scenario, its output in $tmp/NAME
	_n=$1 _f=$2
	shift 2
	"$bin" run "$D/$_f" --out "$tmp/r-$_n" "$@" >"$tmp/$_n" 2>&1
}

run clean clean.lua
check "clean: passes" has "^1 passed, 0 failed" "$tmp/clean"
check "clean: the five invariants reported" [ "$(grep -o '"file": *"docs/domain.md#invariants"' "$tmp/r-clean/results.json" | wc -l)" -ge 5 ]
run cleanp clean.lua --paranoid
check "clean --paranoid: passes" has "^1 passed, 0 failed" "$tmp/cleanp"

run inv1 inv1_lift_behind.lua
check "1: fails" has "^0 passed, 1 failed" "$tmp/inv1"
check "1: named, with the step's line" has "invariant 1 (docs/domain.md#invariants): .*registry says hold, yet OCSP answers good (after step 4, ca POST /v1/certs/[0-9A-F]*/lift at $D/inv1_lift_behind.lua:15)" "$tmp/inv1"
check "1: junit.xml names it the same way" has "invariant 1 (docs/domain.md#invariants): .*registry says hold" "$tmp/r-inv1/junit.xml"
check "1: report.html names it, and counts it failed" has '<tr class="bad"><td>1\. no revoked' "$tmp/r-inv1/report.html"
check "1: report.html's expect cell" has "<code>invariant 1 (docs/domain.md#invariants)</code>" "$tmp/r-inv1/report.html"
run inv2 inv2_clone.lua
check "2: named, with the step's line" has "invariant 2 (docs/domain.md#invariants): alice's live certificates are on .*(after step 2, step \"the clone\" at $D/inv2_clone.lua:17)" "$tmp/inv2"
run inv3 inv3_transfer.lua
check "3: named, with the step's line" has "invariant 3 (docs/domain.md#invariants): .*now bob's) still holds alice's sign certificate .*(after step 3, step \"alice's key put back\" at $D/inv3_transfer.lua:19)" "$tmp/inv3"
run inv4 inv4_erased.lua
check "4: named, with the step's line" has "invariant 4 (docs/domain.md#invariants): .*not in an active slot of the SE (slot erased).*(after step 2, step \"slots erased\" at $D/inv4_erased.lua:11)" "$tmp/inv4"
run inv5 inv5_counters.lua
check "5: a try given back" has "invariant 5 (docs/domain.md#invariants): card: the auth PIN's counter went from 2 to 3 .*(after step 2, step \"auth try given back\" at $D/inv5_counters.lua:13)" "$tmp/inv5"
check "5: unblocked across power loss" has "invariant 5 (docs/domain.md#invariants): card: the sign PIN's counter went from 0 to 5 .*(after step 4, step \"power loss\" at $D/inv5_counters.lua:21)" "$tmp/inv5"

run error error_after_break.lua
check "error: still an error" has "^not ok 1 - INV-ERROR" "$tmp/error"
check "error: its reason, and the violation" has "error_after_break.lua:11: raised on purpose; invariant 4 (docs/domain.md#invariants): .*(after step 1, app issue at $D/error_after_break.lua:9)" "$tmp/error"
check "error: results.json says error" has '"status": *"error"' "$tmp/r-error/results.json"

run trans transient.lua
check "transient, at the end only: passes" has "^1 passed, 0 failed" "$tmp/trans"
run transp transient.lua --paranoid
check "transient --paranoid: fails" has "^0 passed, 1 failed" "$tmp/transp"
check "transient --paranoid: the step that broke it" has "invariant 4 (docs/domain.md#invariants): .*(after step 2, step \"break\" at $D/transient.lua:11)" "$tmp/transp"
check "transient --paranoid: not the repair" sh -c "! grep -q 'step \"repair\"' '$tmp/transp'"

# mynahil check against a served TSM: clean, then broken behind its back
mkfifo "$tmp/srv"
"$bin" serve tsm --listen 127.0.0.1:0 >"$tmp/srv" 2>&1 &
pid=$!
exec 3<"$tmp/srv"
url=
while read -r line <&3; do
	case $line in *"listening on "*) url=$(echo "$line" | sed -n 's/.*listening on \(http[^ ]*\).*/\1/p'); break ;; esac
done
cat <&3 >/dev/null &
check "serve tsm started" [ -n "$url" ]
run bclean clean.lua --target "tsm=$url"
check "served: a clean issue and revoke" has "^1 passed, 0 failed" "$tmp/bclean"
"$bin" check --target "tsm=$url" --out "$tmp/c1" >"$tmp/check1" 2>&1
check "check: clean bench, exit 0" [ $? = 0 ]
run bbroken inv1_lift_behind.lua --target "tsm=$url"
"$bin" check --target "tsm=$url" --out "$tmp/c2" >"$tmp/check2" 2>&1
check "check: broken bench, exit 1" [ $? = 1 ]
check "check: invariant 1 named" has "invariant 1 (docs/domain.md#invariants): .*registry says hold, yet OCSP answers good" "$tmp/check2"
check "check: invariant 4 named" has "invariant 4 (docs/domain.md#invariants): .*registry says hold, CA says valid" "$tmp/check2"
kill "$pid"
wait "$pid" 2>/dev/null
"$bin" check --nonsense >"$tmp/check3" 2>&1
check "check: unknown option, exit 2" [ $? = 2 ]
"$bin" check --target tsm >"$tmp/check4" 2>&1
check "check: --target without ROLE=URI, exit 2" [ $? = 2 ]
"$bin" check some/path.lua >"$tmp/check5" 2>&1
check "check: no paths, exit 2" [ $? = 2 ]
finish
