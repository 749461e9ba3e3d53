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
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 not installed"; exit 77; }
T=$(mktemp -d) || exit 1
PID= CL=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; [ -n "$CL" ] && kill -- -"$CL" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$T/srv.out" ] && cat "$T/srv.out"
	# what the TSM did last (recoveries, reconciles) and what is left
	[ -n "$PID" ] && [ -n "$URL" ] && echo "events:" && curl -s "$URL/v1/tsm/events" | tr '{' '\n' | tail -n 30
	[ -f "$T/tsm.db" ] && echo "intents:" && sqlite3 "$T/tsm.db" 'SELECT id, kind, step FROM intents' 2>/dev/null
	exit 1
}

. "$SRC/tests/interop/lib/serve.sh"
start() { serve_start tsm "$T/tsm.db" "$@"; }

steps() { curl -s "$URL/v1/tsm/stats" | sed -n 's/.*"steps":\([0-9]*\).*/\1/p'; }

verify() {
	curl -s "$URL/v1/tsm/check" > "$T/check.json"
	grep -q '"ok":true' "$T/check.json" || fail "$1: registry and CA disagree: $(cat "$T/check.json")"
	grep -q '"in_flight":\[\]' "$T/check.json" || fail "$1: left in flight: $(cat "$T/check.json")"
	for db in "$T/tsm.db" "$T/tsm.db.ca"; do
		r=$(sqlite3 "$db" 'PRAGMA integrity_check') || fail "$1: sqlite3 $db"
		[ "$r" = ok ] || fail "$1: integrity_check $db: $r"
	done
	[ "$(sqlite3 "$T/tsm.db" 'SELECT count(*) FROM intents')" = 0 ] || fail "$1: intents left"
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
	# its own process group (setsid): the client and its workers stop together
	setsid "$M" run "$SRC/scenarios/tsm" --target "tsm=$URL" --seed $((round + 20)) -j 2 --out "$T/run$round" \
		> "$T/run$round.log" 2>&1 &
	CL=$!
	end=$(( $(date +%s) + 30 ))
	until [ "$(steps)" -ge "$N" ] 2>/dev/null; do
		kill -0 "$CL" 2>/dev/null || break # the client finished first: kill anyway
		[ "$(date +%s)" -lt "$end" ] || fail "round $round: not $N steps within 30 s"
	done
	kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=
	kill -- -"$CL" 2>/dev/null; wait "$CL" 2>/dev/null; CL=
	start "$PORT"
	verify "round $round (kill -9 after $N steps)"
done
rec=$(curl -s "$URL/v1/tsm/events" | grep -o 'recovered: ' | wc -l)
kill -TERM "$PID"; wait "$PID"; rc=$?; PID=
[ "$rc" = 0 ] || fail "SIGTERM: exit status $rc"
echo "ok: tsm kill -9 x$round, $rec step(s) finished from intents"
