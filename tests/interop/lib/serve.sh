# tests/interop/lib/serve.sh — sourced by the tests of the HTTP services
# (tsm_http.sh, tsm_crash.sh, wallet_http.sh; not a test).
#
# serve_enter: needs curl (exit 77, a skip, without it); makes T, a
# scratch directory, removed on exit with the server (SIGKILL: a test
# that reaches its end has stopped it itself); fail MSG prints the
# server's output and exits 1.  A test with more to clean up (tsm_crash.sh)
# sets T and its own trap and fail() instead.
#
# serve_start WHAT DB [PORT] (M: the mynahil binary; T and fail() set)
# runs `$M serve WHAT` on 127.0.0.1:PORT (0: a free port, no collision
# with a parallel test) over the database DB, its output in $T/srv.out,
# waits for its "listening on" line (polled, 10 s deadline: a server
# that exits or never says it fails the test), and sets PID (stop it by
# this PID) and URL.
#
# Usage:
#   M=$1 SRC=$2
#   . "$SRC/tests/interop/lib/serve.sh"
#   serve_enter
#   serve_start tsm "$T/tsm.db"          # then serve_start tsm "$T/tsm.db" "$PORT" after a stop
# shellcheck shell=sh

serve_start() {
	: > "$T/srv.out"
	"$M" serve "$1" --listen "127.0.0.1:${3:-0}" --db "$2" > "$T/srv.out" 2>&1 &
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
	command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
	T=$(mktemp -d) || exit 1
	PID=
	trap serve_cleanup EXIT
	fail() {
		echo "FAIL: $*"
		[ -f "$T/srv.out" ] && cat "$T/srv.out"
		exit 1
	}
}

serve_cleanup() {
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
	rm -rf "$T"
}
