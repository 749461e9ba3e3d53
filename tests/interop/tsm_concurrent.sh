#!/bin/sh
# Many phones of the same holders issued at once over HTTP (8 clients,
# interleaved sessions): the one-phone-per-holder rule holds — at most one
# active device per holder — and the registry agrees with the CA, even for
# a phone superseded by another session while its own was still running.
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/ca.sh"
ca_enter
bench=$(dirname "$bin")/bench_tsm
[ -x "$bench" ] || { echo "SKIP: $bench not built"; exit $SKIP; }

start_http tsm --db "$tmp/tsm.db"

timeout 120 "$bench" --http "$B" --clients 8 --seconds 1 --base $((0x32000000)) >"$tmp/bench.log" 2>&1
check "8 clients: every flow completed" sh -c "grep -q '^http_c8_failed 0$' '$tmp/bench.log' && ! grep -q '^http_c8_flows 0$' '$tmp/bench.log'"
for h in alice bob; do
	n=$(curl -fsS --max-time 10 "$B/v1/tsm/holders/$h/devices" | grep -o '"status":"active"' | wc -l)
	check "one phone per holder: $h has one active device ($n)" [ "$n" = 1 ]
done
check "registry and CA agree" sh -c "curl -fsS --max-time 10 '$B/v1/tsm/check' | grep -q '\"ok\":true'"
finish
