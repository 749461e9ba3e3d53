#!/bin/sh
# serve wallet: the iPhone's provisioning service over HTTP.  Started on
# a free port (polled for its line, 10 s deadline), it answers bad
# requests naming the field; the iOS scenarios run against it unchanged
# (--target tsm=URL: the wallet, the registry it shares and the CA on one
# port), two at a time; the registry and the CA agree after; the registry survives a
# SIGTERM (exit 0) and a restart with --db; stopped by its PID.
# usage: wallet_http.sh MYNAHIL SRCDIR
M=$1 SRC=$2
. "$SRC/tests/interop/lib/serve.sh"
serve_enter
start() { serve_start wallet "$T/w.db" "$@"; }

# usage errors: exit 2
"$M" serve wallet --bogus > /dev/null 2>&1; [ $? = 2 ] || fail "unknown option: not exit 2"
"$M" serve wallet --fixtures "$T" > "$T/nofx" 2>&1; [ $? = 1 ] || fail "no fixtures: not exit 1"

start
PORT=${URL##*:}
grep -q 'mynahil serve wallet: listening on http://127.0.0.1:' "$T/srv.out" || fail "banner"
grep -q 'the wallet under /v1/wallet' "$T/srv.out" || fail "banner: no wallet"

JSON='Content-Type: application/json'
post() { curl -s -m 10 -o "$T/e" -w '%{http_code}' -X POST -H "$JSON" "$URL$1" -d "$2"; }
DEV=4D594E4148494C2D494F532D30303031
code=$(post /v1/wallet/sessions '{"op":"fly","device":"'$DEV'"}')
[ "$code" = 400 ] && grep -q '"field":"op"' "$T/e" || fail "bad op: $code $(cat "$T/e")"
code=$(post /v1/wallet/sessions '{"op":"issue","device":"00","card_serial":"01","liveness":"pass"}')
[ "$code" = 400 ] && grep -q '"field":"device"' "$T/e" || fail "bad device: $code $(cat "$T/e")"
code=$(post /v1/wallet/sessions '{"op":"issue","device":"'$DEV'","card_serial":"01"}')
[ "$code" = 400 ] && grep -q '"field":"liveness"' "$T/e" || fail "no liveness: $code $(cat "$T/e")"
code=$(post /v1/wallet/sessions 'not json')
[ "$code" = 400 ] && grep -q '"field":"body"' "$T/e" || fail "not json: $code"
code=$(post /v1/wallet/sessions/W1/steps '{"step":1}')
[ "$code" = 404 ] && grep -q '"field":"session"' "$T/e" || fail "no session: $code"
code=$(curl -s -m 10 -o "$T/e" -w '%{http_code}' -X POST -H 'Content-Type: text/plain' "$URL/v1/wallet/sessions" -d '{}')
[ "$code" = 415 ] || fail "a POST not JSON: $code"

# the iOS scenarios over HTTP, two at a time (each on iPhones and a
# holder of its own, scenarios/lib/wallet.lua), twice: the second run
# finds the same derived iPhones in the registry
n_ios=$(ls "$SRC"/scenarios/ios/*.lua | wc -l)
for r in 1 2; do
	"$M" run "$SRC/scenarios/ios" --target "tsm=$URL" -j 2 --out "$T/run$r" > "$T/run$r.log" 2>&1 ||
		{ cat "$T/run$r.log"; fail "iOS scenarios over HTTP, -j 2, run $r"; }
	grep -q "^$n_ios passed, 0 failed, 0 skipped" "$T/run$r.log" ||
		{ cat "$T/run$r.log"; fail "run $r: not every iOS scenario passed"; }
done
curl -s -m 10 "$URL/v1/tsm/check" | grep -q '"ok":true' || fail "registry and CA disagree"
n=$(curl -s -m 10 "$URL/v1/tsm/devices" | grep -o '"platform":"ios"' | wc -l)
[ "$n" -ge 1 ] || fail "no iPhone in the registry"
curl -s -m 10 "$URL/v1/wallet/stats" | grep -q '"done":[1-9]' || fail "no session done"

# SIGTERM: clean exit; the registry's iPhones survive the restart
kill -TERM "$PID"; wait "$PID"; rc=$?; PID=
[ "$rc" = 0 ] || fail "SIGTERM: exit status $rc"
start "$PORT"
again=$(curl -s -m 10 "$URL/v1/tsm/devices" | grep -o '"platform":"ios"' | wc -l)
[ "$again" = "$n" ] || fail "registry across restart: $n then $again"
curl -s -m 10 "$URL/v1/tsm/check" | grep -q '"ok":true' || fail "check after restart"
kill -TERM "$PID"; wait "$PID"; PID=
echo "ok: serve wallet over HTTP"
