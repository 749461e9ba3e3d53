#!/bin/sh
# serve wallet killed with -9 in the middle of the iOS scenarios (run two
# at a time), after N provisioning steps (N = 6, 20, 45) at a moment a
# provisioning is in flight (its intent listed by /v1/tsm/check: the CA
# has issued, the iPhone not yet installed), restarted on the
# same --db each time.  The service keeps its sessions in memory: a
# provisioning it never finished has no client left, so the TSM undoes it
# from its write-ahead intent at the restart (docs/ios.md#crash-recovery).
# After every restart, with no client retrying anything:
#  - /v1/tsm/check is clean with nothing in flight, and no intent is left;
#  - no phone certificate is left valid for a credential no iPhone was
#    seen to install: no live record with credential "issued";
#  - both databases pass PRAGMA integrity_check;
# and at the end the iOS scenarios pass again against the restarted
# service (they find their iPhones' records and clear them first).
# usage: wallet_crash.sh MYNAHIL SRCDIR
M=$1 SRC=$2
. "$SRC/tests/interop/lib/serve.sh"
serve_enter sqlite3
serve_more() {
	[ -f "$T/w.db" ] && echo "intents:" && sqlite3 "$T/w.db" 'SELECT id, kind FROM intents' 2>/dev/null
}
start() { serve_start wallet "$T/w.db" "$@"; }

# a provisioning between the CA's issuance and the iPhone's install: its
# intent in flight
provisioning() { curl -s -m 5 "$URL/v1/tsm/check" | grep -q '"in_flight":\["wallet:'; }

verify() {
	curl -s -m 10 "$URL/v1/tsm/check" > "$T/check.json"
	grep -q '"ok":true' "$T/check.json" || fail "$1: registry and CA disagree: $(cat "$T/check.json")"
	grep -q '"in_flight":\[\]' "$T/check.json" || fail "$1: left in flight: $(cat "$T/check.json")"
	serve_db_clean "$T/w.db" "$1"
	n=$(sqlite3 "$T/w.db" "SELECT count(*) FROM devices WHERE json_extract(doc, '\$.credential') = 'issued'
		AND json_extract(doc, '\$.status') IN ('active', 'hold', 'half')")
	[ "$n" = 0 ] || fail "$1: $n live record(s) of a credential never installed: $(sqlite3 "$T/w.db" "SELECT doc FROM devices
		WHERE json_extract(doc, '\$.credential') = 'issued'")"
}

start
PORT=${URL##*:}
round=0 undone=0
for N in 6 20 45; do
	round=$((round + 1))
	serve_kill_after "$N" v1/wallet/stats --when provisioning "$SRC/scenarios/ios" --target "tsm=$URL" --seed $((round + 40)) -j 2 \
		--out "$T/run$round"
	start "$PORT"
	verify "round $round (kill -9 after $N steps)"
done
undone=$(curl -s -m 10 "$URL/v1/tsm/events" | grep -o 'platform request undone' | wc -l)
[ "$undone" -ge 1 ] || fail "no kill caught a provisioning in flight: nothing was undone"
# the scenarios again, on the restarted service: they clear what the
# killed runs left on their iPhones' records and pass
"$M" run "$SRC/scenarios/ios" --target "tsm=$URL" --seed 41 -j 2 --out "$T/again" > "$T/again.log" 2>&1 ||
	{ cat "$T/again.log"; fail "iOS scenarios after the restarts"; }
verify "after the scenarios again"
kill -TERM "$PID"; wait "$PID"; rc=$?; PID=
[ "$rc" = 0 ] || fail "SIGTERM: exit status $rc"
echo "ok: serve wallet kill -9 x$round, $undone platform request(s) undone from intents"
