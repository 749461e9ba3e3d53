#!/bin/sh
# serve tsm killed with -9 in the middle of sessions, several times (after
# N steps, N = 12, 40, 75, 130), restarted on the same --db each time.
# After every restart, with no client retrying anything:
#  - /v1/tsm/check is clean with nothing in flight: every phone certificate
#    the CA holds valid or on hold is in a device record and every device
#    record agrees with the CA (the TSM finished the interrupted step from
#    its write-ahead intent);
#  - every open session answers the same step POST with the answer it
#    recorded (resumable);
#  - both databases pass PRAGMA integrity_check.
# usage: tsm_crash.sh MYNAHIL SRCDIR
M=$1 SRC=$2
. "$SRC/tests/interop/lib/serve.sh"
serve_enter sqlite3
serve_more() {
	# what the TSM did last (recoveries, reconciles) and what is left
	[ -n "$PID" ] && [ -n "$URL" ] && echo "events:" && curl -s "$URL/v1/tsm/events" | tr '{' '\n' | tail -n 30
	[ -f "$T/tsm.db" ] && echo "intents:" && sqlite3 "$T/tsm.db" 'SELECT id, kind, step FROM intents' 2>/dev/null
}
start() { serve_start tsm "$T/tsm.db" "$@"; }

verify() {
	curl -s "$URL/v1/tsm/check" > "$T/check.json"
	grep -q '"ok":true' "$T/check.json" || fail "$1: registry and CA disagree: $(cat "$T/check.json")"
	grep -q '"in_flight":\[\]' "$T/check.json" || fail "$1: left in flight: $(cat "$T/check.json")"
	serve_db_clean "$T/tsm.db" "$1"
	# Every open session: the step it last answered, posted again, gets
	# the recorded answer again.
	for s in $(sqlite3 "$T/tsm.db" "SELECT id FROM sessions WHERE key = 'open'"); do
		cur=$(sqlite3 "$T/tsm.db" "SELECT json_extract(doc, '\$.step') FROM sessions WHERE id = '$s'")
		want=$(sqlite3 "$T/tsm.db" "SELECT json_extract(doc, '\$.action.action') FROM sessions WHERE id = '$s'")
		code=$(curl -s -o "$T/a.json" -w '%{http_code}' -X POST "$URL/v1/tsm/sessions/$s/steps" \
			-H 'Content-Type: application/json' -d "{\"step\":$((cur - 1)),\"responses\":[]}")
		[ "$code" = 200 ] || fail "$1: session $s at step $cur: repeated step answered $code $(cat "$T/a.json")"
		grep -q "\"action\":\"$want\"" "$T/a.json" || fail "$1: session $s: not the recorded answer: $(cat "$T/a.json")"
		grep -q "\"step\":$cur[,}]" "$T/a.json" || fail "$1: session $s: step moved: $(cat "$T/a.json")"
	done
}

start
PORT=${URL##*:}
round=0
for N in 12 40 75 130; do
	round=$((round + 1))
	serve_kill_after "$N" v1/tsm/stats "$SRC/scenarios/tsm" --target "tsm=$URL" --seed $((round + 20)) -j 2 \
		--out "$T/run$round"
	start "$PORT"
	verify "round $round (kill -9 after $N steps)"
done
rec=$(curl -s "$URL/v1/tsm/events" | grep -o 'recovered: ' | wc -l)
kill -TERM "$PID"; wait "$PID"; rc=$?; PID=
[ "$rc" = 0 ] || fail "SIGTERM: exit status $rc"
echo "ok: tsm kill -9 x$round, $rec step(s) finished from intents"
