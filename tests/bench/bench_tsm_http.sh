#!/bin/sh
# bench_tsm_http.sh BUILD SRC — `mynahil serve tsm` (file databases) over
# HTTP with 1, 8 and 64 concurrent clients: bench_tsm --http runs one
# thread per client, each running whole issuance flows (session POST, the
# steps, a fresh simulated SE per flow, the card's signatures), and
# reports requests per second, flows per second and p99 latency of a
# request.  Loopback only; each level runs SECONDS (default 3).  Prints
# "key value" lines for run.sh.  Not a test.
set -eu
build=$1 src=$2
: "$src"
secs=${BENCH_SECONDS:-3}
tmp=$(mktemp -d)
pid=
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi; rm -rf "$tmp"' EXIT

"$build/mynahil" serve tsm --listen 127.0.0.1:0 --db "$tmp/tsm.db" >"$tmp/srv.out" 2>&1 &
pid=$!
end=$(($(date +%s) + 10))
until grep -q 'listening on' "$tmp/srv.out"; do
	kill -0 "$pid" 2>/dev/null || { cat "$tmp/srv.out" >&2; echo "serve tsm exited" >&2; exit 1; }
	[ "$(date +%s)" -lt "$end" ] || { echo "serve tsm did not start in 10 s" >&2; exit 1; }
	sleep 0.05
done
url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$tmp/srv.out")

# Each level its own range of SE serials: no phone is issued twice.
for c in 1 8 64; do
	"$build/bench_tsm" --http "$url" --clients "$c" --seconds "$secs" --base $((0x30000000 + c * 0x01000000))
done
curl -s --max-time 30 "$url/v1/tsm/check" | grep -q '"ok":true' && echo "http_check_ok 1" || echo "http_check_ok 0"
