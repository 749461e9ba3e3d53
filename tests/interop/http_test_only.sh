#!/bin/sh
# serve ca and serve tsm are test simulators and behave so (docs/ca.md,
# "Test only"): they refuse a non-loopback address without --allow-remote
# (exit 2, naming it); a state-changing POST a web page could send (text/
# plain, a form, no Content-Type, or a rebound host name) is refused and
# changes nothing; with --token, and off loopback with the token printed
# at start, a POST without the token gets 401 and one with it 200, while
# CRL and OCSP stay open to openssl; serve tsm answers the CA's routes
# under /ca only; scenarios reach a TSM with a token through
# MYNAHIL_TOKEN.
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/ca.sh"
ca_enter

# status_of SERIAL: the certificate's status at the CA ($CA_URL, else $B).
status_of() { curl -fsS --max-time 10 "${CA_URL:-$B}/v1/certs/$1" | jget status; }

# post_as CTYPE PATH BODY [CURL OPTIONS...]: a POST as a browser could send
# it (CTYPE "" for none); the status in $code.
post_as() {
	_ct=$1 _p=$2 _b=$3
	shift 3
	code=$(curl -sS --max-time 10 -o "$tmp/api.body" -w '%{http_code}' -X POST \
		${_ct:+-H "Content-Type: $_ct"} ${_b:+--data-binary "$_b"} "$@" "$B$_p")
}

# ---- where they listen (a deadline: a server that accepts them serves
# until killed)
for what in ca tsm; do
	for addr in 0.0.0.0:0 '[::]:0'; do
		timeout 10 "$bin" serve "$what" --listen "$addr" >/dev/null 2>"$tmp/err.out"
		check "serve $what --listen $addr without --allow-remote: exit 2 naming the address" \
			sh -c "[ $? = 2 ] && grep -qF -- '--listen $addr: not a loopback address' '$tmp/err.out' &&
				grep -q -- '--allow-remote' '$tmp/err.out'"
	done
done
timeout 10 "$bin" serve ca --token short >/dev/null 2>"$tmp/err.out"
check "serve ca --token short: exit 2, says why" sh -c "[ $? = 2 ] && grep -q -- '--token: 16 to 128' '$tmp/err.out'"

# ---- loopback, no token: what a web page can send is refused
start_ca --listen 0
check "--listen PORT: loopback" has "$B" '^http://127\.0\.0\.1:'
check "loopback without --token: no token" sh -c "! grep -q token '$tmp/serve.out'"
post_as text/plain /v1/certs/0700A001/revoke '{"reason":"keyCompromise"}'
check "text/plain revoke: 415 naming content-type ($code)" sh -c "[ '$code' = 415 ] && grep -q 'application/json' '$tmp/api.body'"
check "text/plain revoke: the certificate still valid" [ "$(status_of 0700A001)" = valid ]
post_as application/x-www-form-urlencoded /v1/certs/0700A001/hold 'a=b'
check "a form's hold: 415 naming content-type ($code)" sh -c "[ '$code' = 415 ] && grep -q '\"field\":\"content-type\"' '$tmp/api.body'"
post_as "" /v1/certs/0700A001/hold ''
check "a hold with no Content-Type and no body: 415 ($code)" [ "$code" = 415 ]
post_as "text/plain" /v1/clock '{"advance":86400}'
check "text/plain clock: 415 ($code)" [ "$code" = 415 ]
check "after them: still valid, clock unchanged" \
	sh -c "[ '$(status_of 0700A001)' = valid ] && curl -fsS '$B/v1/clock' | grep -q '\"now\":\"20260105000000Z\"'"
post_as application/json /v1/certs/0700A001/hold '' -H 'Host: attacker.example'
check "a rebound host name (DNS rebinding): 421 naming host ($code)" sh -c "[ '$code' = 421 ] && grep -q '\"field\":\"host\"' '$tmp/api.body'"
check "after it: still valid" [ "$(status_of 0700A001)" = valid ]
post_as "application/json; charset=utf-8" /v1/certs/0700A001/hold ''
check "application/json (with a charset) hold: 200 ($code)" [ "$code" = 200 ]
post_as application/json /v1/certs/0700A001/lift '' -H "Host: localhost:${B##*:}"
check "Host localhost: answered, lift 200 ($code)" [ "$code" = 200 ]
stop_ca

# ---- a token on loopback
tok=bench-token-0123456789abcdef
start_ca --token "$tok"
check "--token: not echoed on the start-up lines" sh -c "! grep -qF '$tok' '$tmp/serve.out' && grep -q 'given with --token' '$tmp/serve.out'"
api POST /v1/certs/0700A001/hold >/dev/null
check "--token: a POST without it: 401 naming authorization ($code)" sh -c "[ '$code' = 401 ] && grep -q '\"field\":\"authorization\"' '$tmp/api.body'"
curl -sS -o /dev/null -D "$tmp/h" -X POST -H 'Content-Type: application/json' "$B/v1/certs/0700A001/hold"
check "401 says Bearer (WWW-Authenticate)" grep -qi '^WWW-Authenticate: Bearer' "$tmp/h"
TOKEN=${tok}x api POST /v1/certs/0700A001/hold >/dev/null
check "--token: a longer token: 401 ($code)" [ "$code" = 401 ]
TOKEN=bench-token-0123456789abcdeF api POST /v1/certs/0700A001/hold >/dev/null
check "--token: the last character wrong: 401 ($code)" [ "$code" = 401 ]
check "after them: still valid" [ "$(status_of 0700A001)" = valid ]
TOKEN=$tok api POST /v1/certs/0700A001/hold >/dev/null
check "--token: with it: 200 ($code)" [ "$code" = 200 ]
check "GET needs no token: on hold" [ "$(status_of 0700A001)" = hold ]
check "CRL without a token" sh -c "curl -fsS '$B/crl/auth.crl' -o '$tmp/auth.crl' && openssl crl -inform DER -in '$tmp/auth.crl' -noout"
out=$(ocsp_status "$tmp/auth-ca.pem" "$tmp/alice-auth.pem")
check "OCSP POST without a token: revoked, certificateHold" has "$out" 'Reason: certificateHold'
stop_ca

# ---- --allow-remote: a warning, and a token made for the run
start_ca --listen 0.0.0.0:0 --allow-remote
check "--allow-remote: warns on stderr that it is an unauthenticated test simulator" \
	grep -q 'warning: listening on http://0.0.0.0:.*unauthenticated test simulator' "$tmp/serve.log"
check "--allow-remote: a random token printed ($printed_token)" sh -c "printf '%s' '$printed_token' | grep -qx '[0-9a-f]\{32\}'"
first_token=$printed_token
api POST /v1/certs/0700A001/hold >/dev/null
check "--allow-remote: a POST without the token: 401 ($code)" [ "$code" = 401 ]
check "after it: still valid" [ "$(status_of 0700A001)" = valid ]
TOKEN=$printed_token api POST /v1/certs/0700A001/hold >/dev/null
check "--allow-remote: with the printed token: 200 ($code)" [ "$code" = 200 ]
api GET /v1/certs/0700A001 >/dev/null
check "--allow-remote: GET without the token: 200 ($code)" [ "$code" = 200 ]
post_as application/json /v1/certs/0700A001/lift '' -H 'Host: ca.bench.example' -H "Authorization: Bearer $printed_token"
check "--allow-remote: any Host name, with the token: 200 ($code)" [ "$code" = 200 ]
stop_ca
start_ca --listen 0.0.0.0:0 --allow-remote
check "--allow-remote: another run, another token" sh -c "[ -n '$printed_token' ] && [ '$printed_token' != '$first_token' ]"
stop_ca

# ---- serve tsm: the CA's routes under /ca only
start_http tsm
for p in /v1/clock /v1/certs/0700A001 /v1/holders/alice/certs /crl/auth.crl; do
	api GET "$p" >/dev/null
	check "serve tsm: GET $p at the root: 404 ($code)" [ "$code" = 404 ]
	api GET "/ca$p" >/dev/null
	check "serve tsm: GET /ca$p: 200 ($code)" [ "$code" = 200 ]
done
api POST /v1/certs/0700A001/revoke '{"reason":"keyCompromise"}' >/dev/null
check "serve tsm: POST a revocation at the root: 404 ($code)" [ "$code" = 404 ]
CA_URL=$B/ca
check "serve tsm: after it, still valid" [ "$(status_of 0700A001)" = valid ]
out=$(ocsp_status "$tmp/auth-ca.pem" "$tmp/alice-auth.pem")
check "serve tsm: OCSP at /ca/ocsp: good" has "$out" 'alice-auth.pem: good'
out=$(openssl ocsp -issuer "$tmp/auth-ca.pem" -cert "$tmp/alice-auth.pem" -url "$CA_URL" \
	-CAfile "$FX/pki/ca-chain.pem" -validity_period 1000000000 2>&1)
check "serve tsm: OCSP at /ca itself (openssl ocsp -url BASE/ca): good" has "$out" 'alice-auth.pem: good'
post_as application/ocsp-request /ocsp x
check "serve tsm: OCSP at the root: 404 ($code)" [ "$code" = 404 ]
post_as text/plain /v1/tsm/callcenter/hold '{"holder":"alice"}'
check "serve tsm: text/plain call-centre hold: 415 ($code)" [ "$code" = 415 ]
stop_ca

# ---- scenarios against a TSM with a token: it comes from MYNAHIL_TOKEN
# scenario FILE: run it against $B, the run's output in $tmp/run.log.
scenario() { (cd "$src" && "$bin" run "scenarios/tsm/$1" --target "tsm=$B" --out "$tmp/r" >"$tmp/run.log" 2>&1); }
start_http tsm --token "$tok"
(unset MYNAHIL_TOKEN; scenario 00_issue.lua)
check "a scenario without MYNAHIL_TOKEN: fails" sh -c "[ $? != 0 ] && grep -q '^not ok 1 - TSM-00' '$tmp/run.log'"
(MYNAHIL_TOKEN=$tok scenario 00_issue.lua)
check "a scenario with MYNAHIL_TOKEN: passes" [ $? = 0 ]
(MYNAHIL_TOKEN=$tok scenario 09_resume.lua)
check "a scenario reaching the TSM's CA as w.ca (under /ca): passes" [ $? = 0 ]
(cd "$src" && "$bin" run scenarios/tsm/00_issue.lua --target "tsm=$B?token=$tok" --out "$tmp/r" >"$tmp/run.log" 2>&1)
check "a token in the URI: refused, pointing at MYNAHIL_TOKEN" grep -q 'a token goes in MYNAHIL_TOKEN' "$tmp/run.log"
stop_ca
finish
