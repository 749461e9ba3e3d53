# tests/interop/lib/serve.sh — sourced by the tests of the HTTP services
# (tsm_http.sh, tsm_crash.sh, wallet_http.sh; not a test).
#
# serve_enter [TOOL...]: needs curl and the TOOLs (exit 77, a skip,
# without one); makes T, a scratch directory, removed on exit with the
# server (SIGKILL: a test that reaches its end has stopped it itself) and
# the client group CL; fail MSG prints the server's output, then what the
# test's serve_more() adds, and exits 1.
#
# serve_kill_after N STATS [--when FUNC] RUN-ARGS...: `$M run RUN-ARGS` in its own
# process group (setsid: the client and its workers stop together),
# output in $T/client.log; once the service's $URL/STATS counts N steps
# (polled, 30 s deadline; at once if the client ends first) the server
# is killed with -9 and the client stopped.  CL is the client's group
# (the caller's cleanup kills it).  serve_db_clean DB WHAT: DB and DB.ca
# pass PRAGMA integrity_check and DB has no intent left (needs sqlite3).
#
# serve_start WHAT DB [PORT] (M: the mynahil binary; T and fail() set)
# runs `$M serve WHAT` on 127.0.0.1:PORT (0: a free port, no collision
# with a parallel test) over the database DB, its output in $T/srv.out,
# waits for its "listening on" line (polled, 10 s deadline: a server
# that exits or never says it fails the test), and sets PID (stop it by
# this PID) and URL.  SERVE_ARGS: more options for the server.
#
# Usage:
#   M=$1 SRC=$2
#   . "$SRC/tests/interop/lib/serve.sh"
#   serve_enter sqlite3
#   serve_start tsm "$T/tsm.db"          # then serve_start tsm "$T/tsm.db" "$PORT" after a stop
# shellcheck shell=sh

serve_start() {
	: > "$T/srv.out"
	# shellcheck disable=SC2086 # SERVE_ARGS: more options, split into words
	"$M" serve "$1" --listen "127.0.0.1:${3:-0}" --db "$2" ${SERVE_ARGS:-} > "$T/srv.out" 2>&1 &
	PID=$!
	end=$(( $(date +%s) + 10 ))
	until grep -q 'listening on' "$T/srv.out"; do
		kill -0 "$PID" 2>/dev/null || fail "serve $1 exited"
		[ "$(date +%s)" -lt "$end" ] || fail "serve $1 did not start in 10 s"
		sleep 0.05
	done
	URL=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$T/srv.out")
}

serve_enter() {
	for tool in curl "$@"; do
		command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
	done
	T=$(mktemp -d) || exit 1
	PID= CL=
	trap serve_cleanup EXIT
	fail() {
		echo "FAIL: $*"
		[ -f "$T/srv.out" ] && cat "$T/srv.out"
		serve_more
		exit 1
	}
	serve_more() { :; }
}

serve_cleanup() {
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
	[ -n "$CL" ] && kill -- -"$CL" 2>/dev/null
	rm -rf "$T"
}

serve_kill_after() {
	n=$1 stats=$2 when=
	shift 2
	[ "$1" = --when ] && { when=$2; shift 2; }
	setsid "$M" run "$@" > "$T/client.log" 2>&1 &
	CL=$!
	end=$(( $(date +%s) + 30 ))
	until [ "$(curl -s -m 5 "$URL/$stats" | sed -n 's/.*"steps":\([0-9]*\).*/\1/p')" -ge "$n" ] 2>/dev/null; do
		kill -0 "$CL" 2>/dev/null || break # the client finished first: kill anyway
		[ "$(date +%s)" -lt "$end" ] || fail "not $n steps within 30 s"
	done
	# --when FUNC: then the moment FUNC says (polled; at the client's end
	# or after 20 s, kill anyway)
	end=$(( $(date +%s) + 20 ))
	while [ -n "$when" ] && ! "$when"; do
		kill -0 "$CL" 2>/dev/null && [ "$(date +%s)" -lt "$end" ] || break
	done
	kill -9 "$PID"; wait "$PID" 2>/dev/null; PID=
	kill -- -"$CL" 2>/dev/null; wait "$CL" 2>/dev/null; CL=
}

serve_db_clean() {
	for db in "$1" "$1.ca"; do
		r=$(sqlite3 "$db" 'PRAGMA integrity_check') || fail "$2: sqlite3 $db"
		[ "$r" = ok ] || fail "$2: integrity_check $db: $r"
	done
	[ "$(sqlite3 "$1" 'SELECT count(*) FROM intents')" = 0 ] || fail "$2: intents left"
}
