#!/bin/sh
# The tear sweep of the TSM's flows (issue 13, docs/faults.md, docs/tsm.md
# "Torn after certification"): issuance (TSM-00) at every NVM write of
# the SE and the card, revocation (TSM-01) and PIN reset and change
# (TSM-06) at points spread over every write; every point holds every
# invariant, and each sweep tears at least as many points as the floor
# below (a sweep that silently tears nothing fails).  The point that
# used to strand the certificates (SE write 40 of TSM-00: the SE reset
# while the TSM wrote them) passes alone, and its trace shows the tear.
# A simulator a scenario opens with w:open and no role is swept as its
# kind's role (SE-01's own SEs).
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

# points: "ID: N tear points in" of the sweep's output, or 0
points() { sed -n "s/^$1: \([0-9]*\) tear points in .*/\1/p" "$2" | head -n 1 | grep . || echo 0; }
# writes: "  ROLE: N writes" of ID's counting run, or 0
writes() { sed -n "/^$1: NVM writes/,/^$1: [0-9]* tear points in/s/^  $2: \([0-9]*\) writes\$/\1/p" "$3" | head -n 1 | grep . || echo 0; }

# ---- the failing point of the bug report, alone ----
"$bin" run scenarios/tsm/00_issue.lua --seed 0 --fault se:nvm=40:tear --fault-strict --out "$tmp/p40" >"$tmp/p40.out" 2>&1
check "TSM-00 under se:nvm=40:tear passes (exit 0)" [ $? = 0 ]
check "se:nvm=40:tear: the tear in the trace" has '"event":"fault se:nvm=40:tear fired: NVM write 40 of se' "$tmp/p40/traces/TSM-00.jsonl"
check "se:nvm=40:tear: the SE powered up again" has '"event":"power cold (after the fault' "$tmp/p40/traces/TSM-00.jsonl"

# ---- issuance: every write ----
"$bin" run scenarios/tsm/00_issue.lua --tear-sweep -j 2 --out "$tmp/t0" >"$tmp/t0.out" 2>&1
st=$?
check "sweep of TSM-00: no invariant broken (exit $st)" [ "$st" = 0 ]
check "TSM-00: 0 broke an invariant, 0 other failures" has "^TSM-00: [0-9]* tear points in .*: 0 broke an invariant, 0 other failures" "$tmp/t0.out"
check "TSM-00: the SE's writes counted (at least 60)" [ "$(writes TSM-00 se "$tmp/t0.out")" -ge 60 ]
check "TSM-00: the card's writes counted (at least 30)" [ "$(writes TSM-00 card "$tmp/t0.out")" -ge 30 ]
check "TSM-00: every write a point (at least 90)" [ "$(points TSM-00 "$tmp/t0.out")" -ge 90 ]
check "TSM-00: no flow left unfinished while the TSM writes the certificates (SE 30-53)" \
	sh -c "! grep -E '^  se:nvm=(3[0-9]|4[0-9]|5[0-3]):tear' '$tmp/t0.out'"

# ---- revocation, PIN reset and change: 24 points per device, spread ----
"$bin" run scenarios/tsm/01_revoke.lua scenarios/tsm/06_pin_reset.lua --tear-sweep --tear-sample 24 -j 2 \
	--out "$tmp/t1" >"$tmp/t1.out" 2>&1
st=$?
check "sweep of TSM-01 and TSM-06: no invariant broken (exit $st)" [ "$st" = 0 ]
for id in TSM-01 TSM-06; do
	check "$id: 0 broke an invariant, 0 other failures" has "^$id: [0-9]* tear points in .*: 0 broke an invariant, 0 other failures" "$tmp/t1.out"
	check "$id: 24 points of the SE and 24 of the card" [ "$(points "$id" "$tmp/t1.out")" -ge 48 ]
	check "$id: the SE's writes counted (at least 100)" [ "$(writes "$id" se "$tmp/t1.out")" -ge 100 ]
done
check "the summary: no invariant broken" has "^tear sweep: [0-9]* points in .* no invariant broken" "$tmp/t1.out"

# ---- compensation, end to end: the certificates' script answered with a
# bad R-MAC after the CA issued (a w:fault armed mid-flow, on a link
# opened before it), the session fails, the TSM revokes what it issued,
# the retry issues anew; the relying party (OCSP, CRL, JSON) agrees ----
"$bin" run tests/cli/tear_tsm/compensate.lua --out "$tmp/comp" >"$tmp/comp.out" 2>&1
check "compensation: TEAR-COMP passes (exit $?)" has "^ok 1 - TEAR-COMP" "$tmp/comp.out"
check "compensation: its fault fired" has '"event":"fault se:apdu=1:flip=0 fired' "$tmp/comp/traces/TEAR-COMP.jsonl"

# ---- a simulator opened with w:open and no role stands for its kind's
# role: SE-01's two SEs (needs = {}, no se bound) are swept as se ----
"$bin" run scenarios/se/01_leaked_keys.lua --tear-sweep -j 2 --out "$tmp/t2" >"$tmp/t2.out" 2>&1
st=$?
check "sweep of SE-01: no invariant broken (exit $st)" [ "$st" = 0 ]
check "SE-01: its own SEs' writes counted as se (at least 5)" [ "$(writes SE-01 se "$tmp/t2.out")" -ge 5 ]
check "SE-01: every write a point" [ "$(points SE-01 "$tmp/t2.out")" = "$(writes SE-01 se "$tmp/t2.out")" ]
"$bin" run scenarios/se/01_leaked_keys.lua --fault se:nvm=1:tear --fault-strict --out "$tmp/s1" >"$tmp/s1.out" 2>&1
check "SE-01 under se:nvm=1:tear: the tear fires on its first SE" has '"event":"fault se:nvm=1:tear fired: NVM write 1 of se' "$tmp/s1/traces/SE-01.jsonl"
[ "$fail" = 0 ] || { cat "$tmp/t0.out" "$tmp/t1.out" "$tmp/comp.out" "$tmp/t2.out"; }
finish
