#!/bin/sh
# `mynahil serve ca --db FILE` keeps its records across restarts: status,
# reasons, linkage, the virtual clock and the serial stream survive a
# SIGTERM; and a `kill -9` in the middle of a burst of concurrent
# issuances loses no certificate a client was told about and leaves no
# half-applied one (every phone certificate is there with its linkage,
# or absent), so retrying every request afterwards ends with exactly one
# certificate per request.
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/ca.sh"
ca_enter

# ---- restart after SIGTERM
start_ca --db "$tmp/ca.db" --seed 5
api POST /v1/certs/0700A001/hold >/dev/null
api POST /v1/clock '{"advance":3600}' >/dev/null
check "clock advanced: 200" [ "$code" = 200 ]
req=$(phone_req auth 0700A002 11 "restart-1" 04)
api POST /v1/phone-certs "$req" >"$tmp/p1.json"
p1=$(jget serial <"$tmp/p1.json")
api POST "/v1/certs/$p1/revoke" '{"reason":"cessationOfOperation"}' >/dev/null
stop_ca TERM
check "SIGTERM: exit status 0" [ "$serve_status" = 0 ]

start_ca --db "$tmp/ca.db" --seed 5
check "after restart: the clock saved (+1 h)" sh -c "curl -fsS '$B/v1/clock' | grep -q '\"now\":\"20260105010000Z\"'"
api GET /v1/certs/0700A001 >"$tmp/a.json"
check "after restart: alice's auth certificate still on hold" grep -q '"status":"hold"' "$tmp/a.json"
api GET "/v1/certs/$p1" >"$tmp/p.json"
check "after restart: the phone certificate still revoked" grep -q '"status":"revoked"' "$tmp/p.json"
check "after restart: with its reason" grep -q '"reason":"cessationOfOperation"' "$tmp/p.json"
check "after restart: with its linkage" grep -q '"card_serial":"0700A002"' "$tmp/p.json"
out=$(ocsp_status "$tmp/auth-ca.pem" "$tmp/alice-auth.pem")
check "after restart: ocsp says certificateHold" has "$out" "Reason: certificateHold"
req=$(phone_req auth 0700A002 12 "restart-2" 04)
api POST /v1/phone-certs "$req" >"$tmp/p2.json"
p2=$(jget serial <"$tmp/p2.json")
check "after restart: a new certificate, a new serial (the stream continued)" \
	sh -c "[ '$code' = 201 ] && [ -n '$p2' ] && [ '$p2' != '$p1' ]"
stop_ca TERM

# ---- kill -9 in the middle of a burst
# 4 clients, 16 requests each, all signed beforehand by alice's card
# key over request bytes built here (lib/ca.sh tbs); the SE keys cycle
# through 8 of the pool.
start_ca --db "$tmp/burst.db"
for k in 0 1 2 3 4 5 6 7; do
	openssl pkey -in "$FX/keys/pool-$((20 + k)).pem" -pubout -outform DER -out "$tmp/spki.$k"
	b64 <"$tmp/spki.$k" >"$tmp/spki64.$k"
done
n=0
for c in 1 2 3 4; do
	i=0
	while [ "$i" -lt 16 ]; do
		i=$((i + 1)) n=$((n + 1))
		if [ $((n % 2)) = 0 ]; then purpose=sign; else purpose=auth; fi
		tbs "$purpose" 0700A002 "burst-$c-$i" "$tmp/spki.$((n % 8))" >"$tmp/tbs.der"
		sig=$(openssl dgst -sha256 -sign "$FX/keys/pool-04.pem" "$tmp/tbs.der" | b64)
		printf '{"card_serial":"0700A002","purpose":"%s","spki":"%s","nonce":"%s","signature":"%s"}' \
			"$purpose" "$(cat "$tmp/spki64.$((n % 8))")" "$(printf 'burst-%s-%s' "$c" "$i" | b64)" "$sig" \
			>"$tmp/req.$c.$i"
	done
done
total=$n
client() { # N: post each request of client N, one "CODE SERIAL" line each
	for f in "$tmp"/req."$1".*; do
		code=$(curl -sS --max-time 10 -o "$tmp/out.$1" -w '%{http_code}' \
			-H 'Content-Type: application/json' --data-binary "@$f" "$B/v1/phone-certs" 2>/dev/null)
		echo "$code $(jget serial <"$tmp/out.$1" 2>/dev/null)" >>"$tmp/res.$1"
	done
}
pids=
for c in 1 2 3 4; do
	: >"$tmp/res.$c"
	client "$c" &
	pids="$pids $!"
done
extra_pids=$pids
# Kill the server once a few answers are in (a deadline, no sleep guess).
waited=0
until [ "$(cat "$tmp"/res.* | grep -c '^201 ')" -ge 6 ]; do
	[ "$waited" -ge 20000 ] && break
	sleep 0.02
	waited=$((waited + 20))
done
stop_ca KILL
told=$(cat "$tmp"/res.* | grep -c '^201 ')
check "kill -9 arrived mid-burst ($told of $total answered before it)" \
	sh -c "[ \$(cat '$tmp'/res.* | grep -c '^201 ') -ge 6 ] && [ \$(cat '$tmp'/res.* | grep -c '^201 ') -lt $total ]"
for p in $pids; do wait "$p"; done
extra_pids=
grep -h '^201 ' "$tmp"/res.* | cut -d' ' -f2 >"$tmp/told"

if command -v sqlite3 >/dev/null 2>&1; then
	check "after kill -9: the database is intact" [ "$(sqlite3 "$tmp/burst.db" 'PRAGMA integrity_check')" = ok ]
	check "after kill -9: no phone certificate without its linkage" \
		[ "$(sqlite3 "$tmp/burst.db" "SELECT count(*) FROM certs WHERE kind='phone' AND serial NOT IN (SELECT phone_serial FROM linkage)")" = 0 ]
	check "after kill -9: no linkage without its certificate" \
		[ "$(sqlite3 "$tmp/burst.db" "SELECT count(*) FROM linkage WHERE phone_serial NOT IN (SELECT serial FROM certs)")" = 0 ]
else
	skip_part "sqlite3 not installed: the database checks after kill -9 skipped"
fi

start_ca --db "$tmp/burst.db"
lost=0
while read -r s; do
	api GET "/v1/certs/$s" >/dev/null
	grep -q '"card_serial":"0700A002"' "$tmp/api.body" || lost=$((lost + 1))
done <"$tmp/told"
check "after kill -9: every certificate a client was told about is there, linked" [ "$lost" = 0 ]
api GET /v1/holders/alice/certs >"$tmp/h.json"
phones=$(grep -o '"kind":"phone"' "$tmp/h.json" | wc -l)
api GET /v1/linkage/0700A002 >"$tmp/l.json"
linked=$(grep -o '"kind":"phone"' "$tmp/l.json" | wc -l)
# (one linkage row per phone serial: as many linked as phones = all linked)
check "after kill -9: every phone certificate is linked ($phones phones, $linked linked)" \
	[ "$phones" = "$linked" ]
# Retry everything: a committed request answers 200 (the same
# certificate), the others 201; in the end one certificate per request.
# (one curl for all of them, one connection)
: >"$tmp/retry.cfg"
for f in "$tmp"/req.*; do
	[ -s "$tmp/retry.cfg" ] && echo next >>"$tmp/retry.cfg"
	printf 'url = "%s/v1/phone-certs"\nheader = "Content-Type: application/json"\ndata-binary = "@%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
		"$B" "$f" >>"$tmp/retry.cfg"
done
curl -sS --max-time 60 -K "$tmp/retry.cfg" >"$tmp/retry.codes"
check "retry after the crash: every request answered 200 or 201" \
	sh -c "[ \$(grep -c '^20[01]$' '$tmp/retry.codes') = $total ]"
api GET /v1/linkage/0700A002 >"$tmp/l.json"
check "retry after the crash: exactly one certificate per request ($total)" \
	[ "$(grep -o '"kind":"phone"' "$tmp/l.json" | wc -l)" = "$total" ]
while read -r s; do
	grep -q "\"serial\":\"$s\"" "$tmp/l.json" || lost=$((lost + 1))
done <"$tmp/told"
check "retry after the crash: the certificates told before it are the ones kept" [ "$lost" = 0 ]
stop_ca TERM
check "SIGTERM after the burst: exit status 0" [ "$serve_status" = 0 ]
finish
