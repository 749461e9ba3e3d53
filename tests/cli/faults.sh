#!/bin/sh
# Faults and the tear sweep (docs/faults.md): a bad spec is a usage error
# naming the valid choices; a fault fires where its spec says, changes
# what the scenario sees, and is in the trace; one that never fires is a
# warning, and a failure under --fault-strict; a dropped or failed TSM
# request is retried by the app; the tear sweep of card flows passes
# with the invariants checked at every point, and finds the points a
# non-atomic NVM (mutation nvm_torn) breaks, with a command that
# reproduces each alone.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

# ---- usage errors: exit 2, one line naming the valid choices ----
"$bin" run scenarios/card/00_session.lua --out "$tmp/u" --fault sd:apdu=1:power 2>"$tmp/u1"
check "unknown role: exit 2" [ $? = 2 ]
check "unknown role: the roles named" has "roles: card, card2, se, se2 (links), tsm, ca (services)" "$tmp/u1"
"$bin" run scenarios/card/00_session.lua --out "$tmp/u" --fault se:apdu=1:bang 2>"$tmp/u2"
check "unknown action: exit 2" [ $? = 2 ]
check "unknown action: the actions named" has "actions: power, remove, unplug, delay=V, sw=V" "$tmp/u2"
"$bin" run scenarios/card/00_session.lua --out "$tmp/u" --fault tsm:req=1:http=404 2>"$tmp/u3"
check "http=404: exit 2" [ $? = 2 ]
check "http=404: 500 to 599" has "500 to 599" "$tmp/u3"
"$bin" run scenarios/card/00_session.lua --out "$tmp/u" --tear-sweep --fault card:nvm=1:tear 2>"$tmp/u4"
check "--tear-sweep with --fault: exit 2" [ $? = 2 ]
check "--tear-sample alone: exit 2" sh -c "'$bin' run scenarios/card/00_session.lua --tear-sample 3 2>/dev/null; [ \$? = 2 ]"

# ---- a fault fires where it says, and is in the trace ----
"$bin" run scenarios/card/00_session.lua --out "$tmp/sw" --fault card:apdu=3:sw=6A80 >"$tmp/sw.out" 2>&1
check "sw=6A80 at the token's READ BINARY: the scenario fails (exit 1)" [ $? = 1 ]
check "sw: the trace's event" has '"event":"fault card:apdu=3:sw=6A80 fired: APDU 3 of card (00B0000020); status word now 6A80"' "$tmp/sw/traces/CARD-00.jsonl"
check "sw: the answer the scenario saw ends in 6A80" has '"cmd":"00B0000020","rsp":"4A504B4941504943[0-9A-F]*6A80"' "$tmp/sw/traces/CARD-00.jsonl"

"$bin" run scenarios/card/00_session.lua --out "$tmp/pw" --fault card:apdu=2:power >"$tmp/pw.out" 2>&1
check "power at APDU 2: the scenario fails" [ $? = 1 ]
check "power: the command unanswered" has '"cmd":"00A4020C020006","rsp":null' "$tmp/pw/traces/CARD-00.jsonl"
check "power: the card powered up before the next" has '"event":"power cold (after the fault' "$tmp/pw/traces/CARD-00.jsonl"

# a seeded bit: the same seed flips the same bit, another seed may not
for s in 1 1 2; do
	"$bin" run scenarios/card/00_session.lua --out "$tmp/f$s" --seed $s --fault card:apdu=3:flip >/dev/null 2>&1
	grep -o 'bit [0-9]* flipped' "$tmp/f$s/traces/CARD-00.jsonl" >>"$tmp/flips"
done
check "flip: seeded, the same seed the same bit" [ "$(sed -n 1p "$tmp/flips")" = "$(sed -n 2p "$tmp/flips")" ]
check "flip: a bit of the data (READ BINARY's 32 bytes: bits 0-255)" sh -c "sed 's/[^0-9]//g' '$tmp/flips' | awk '\$1 > 255 { exit 1 }'"

# ---- a fault that never fired ----
"$bin" run scenarios/card/00_session.lua --out "$tmp/nf" --fault card:apdu=9999:power >"$tmp/nf.out" 2>&1
check "never fired: a warning, the scenario passes" [ $? = 0 ]
check "never fired: said" has "card:apdu=9999:power (--fault) never fired" "$tmp/nf.out"
"$bin" run scenarios/card/00_session.lua --out "$tmp/nfs" --fault card:apdu=9999:power --fault-strict >"$tmp/nfs.out" 2>&1
check "never fired, --fault-strict: the scenario fails" [ $? = 1 ]
check "never fired, --fault-strict: in results.json" has "never fired" "$tmp/nfs/results.json"

# ---- the TSM's connection: dropped after the server acted, a 503 ----
"$bin" run scenarios/tsm/00_issue.lua --out "$tmp/da" --fault tsm:req=2:drop-after >"$tmp/da.out" 2>&1
check "tsm drop-after: the app retries, the issuance passes" [ $? = 0 ]
check "tsm drop-after: in the trace" has '"event":"fault tsm:req=2:drop-after fired: request 2 to tsm (POST /v1/tsm/sessions/' "$tmp/da/traces/TSM-00.jsonl"
"$bin" run scenarios/tsm/00_issue.lua --out "$tmp/h5" --fault tsm:req=1:http=503 >"$tmp/h5.out" 2>&1
check "tsm 503: the app tries the flow again, the issuance passes" [ $? = 0 ]
check "tsm 503: fired" has 'fault tsm:req=1:http=503 fired' "$tmp/h5/traces/TSM-00.jsonl"

# ---- the tear sweep ----
"$bin" run scenarios/card/00_session.lua scenarios/card/05_text_ap.lua --tear-sweep -j 2 --out "$tmp/ts" >"$tmp/ts.out" 2>&1
st=$?
check "sweep of CARD-00 and CARD-05: no invariant broken (exit $st)" [ "$st" = 0 ]
check "sweep: CARD-00's points counted" has "CARD-00: 9 tear points in" "$tmp/ts.out"
check "sweep: every point of CARD-05 run" has "CARD-05: 27 tear points in .*: 0 broke an invariant, 0 other failures" "$tmp/ts.out"
check "sweep: the summary" has "tear sweep: 36 points in .* no invariant broken" "$tmp/ts.out"

# the sweep can fail: a non-atomic NVM (test builds only)
if "$bin" run scenarios/card/00_session.lua --mutate nvm_torn --out "$tmp/m0" >/dev/null 2>"$tmp/m0.err"; then
	"$bin" run scenarios/card/00_session.lua --tear-sweep -j 2 --mutate nvm_torn --out "$tmp/tm" >"$tmp/tm.out" 2>&1
	check "sweep under nvm_torn: fails (exit 1)" [ $? = 1 ]
	check "sweep under nvm_torn: the broken point named" has "card:nvm=2:tear: broke invariant 5" "$tmp/tm.out"
	check "sweep under nvm_torn: 3 of 9 points broke" has "CARD-00: 9 tear points in .*: 3 broke an invariant" "$tmp/tm.out"
	cmd=$(sed -n 's/^ *reproduce: //p' "$tmp/tm.out" | head -n 1)
	check "sweep: a reproducing command" has "reproduce: mynahil run scenarios/card/00_session.lua --seed 0 --target card=sim:card --mutate nvm_torn --fault card:nvm=2:tear --fault-strict" "$tmp/tm.out"
	# shellcheck disable=SC2086
	"$bin" ${cmd#mynahil } --out "$tmp/rep" >"$tmp/rep.out" 2>&1
	check "the reproducing command fails alone (exit 1)" [ $? = 1 ]
	check "the reproducing command: the same invariant" has "invariant 5" "$tmp/rep.out"
elif has "no mutation hooks" "$tmp/m0.err"; then
	echo "SKIP: this build has no mutation hooks (MYNAHIL_MUTANTS=OFF)"
	[ -z "${CI:-}" ] || fail=$((fail + 1))
else
	check "CARD-00 passes under nvm_torn without a tear" false
fi
finish
