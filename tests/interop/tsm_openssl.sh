#!/bin/sh
# Every state change the TSM makes is visible to openssl through the CA it
# serves: a phone issued over HTTP (TSM-00) is good in OCSP; put on hold
# by the call centre it is revoked with reason certificateHold in OCSP and
# listed in a CRL that `openssl crl -verify` accepts; issuing a new phone
# with hold and lift (TSM-05) revokes the old phone's certificates
# (superseded, one phone per holder) and leaves the new phone's auth
# certificate good after the lift.
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/ca.sh"
ca_enter

start_http tsm --db "$tmp/tsm.db"
CA_URL=$B/ca # the TSM's CA, under /ca (docs/tsm.md)

scenario() { (cd "$src" && "$bin" run "scenarios/tsm/$1" --target "tsm=$B" --keep-devices --out "$tmp/r" >"$tmp/run.log" 2>&1); }
# cert SERIAL NAME: the certificate from the CA, as NAME.pem
cert() { curl -fsS --max-time 10 "$CA_URL/v1/certs/$1/der" | openssl x509 -inform DER -out "$tmp/$2.pem"; }
crl() {
	curl -fsS --max-time 10 "$CA_URL/crl/$1.crl" -o "$tmp/$1.crl" &&
		openssl crl -inform DER -in "$tmp/$1.crl" -CAfile "$FX/pki/ca-chain.pem" -verify -noout 2>&1 | grep -q 'verify OK' &&
		openssl crl -inform DER -in "$tmp/$1.crl" -noout -text >"$tmp/$1.txt"
}
listed() { grep -A4 "Serial Number: $1" "$tmp/$2.txt" | grep -q "$3"; }

check "TSM-00 over HTTP: a phone issued" scenario 00_issue.lua
api GET /v1/tsm/holders/alice/devices >"$tmp/d1.json"
d1=$(jget id <"$tmp/d1.json") a1=$(jget auth_serial <"$tmp/d1.json") s1=$(jget sign_serial <"$tmp/d1.json")
check "registry: the device and its serials" sh -c "[ -n '$d1' ] && [ -n '$a1' ] && [ -n '$s1' ]"
cert "$a1" pa && cert "$s1" ps
check "the phone certificate's OCSP location: the TSM's CA, under /ca" \
	sh -c "openssl x509 -in '$tmp/pa.pem' -noout -ocsp_uri | grep -qx '$CA_URL/ocsp'"
out=$(ocsp_status "$tmp/auth-ca.pem" "$tmp/pa.pem")
check "ocsp: phone auth certificate good, response verifies" sh -c "printf '%s' '$out' | grep -q 'pa.pem: good' && printf '%s' '$out' | grep -q 'Response verify OK'"
out=$(ocsp_status "$tmp/sign-ca.pem" "$tmp/ps.pem")
check "ocsp: phone sign certificate good" has "$out" "ps.pem: good"

api POST /v1/tsm/callcenter/hold '{"holder":"alice"}' >/dev/null
check "call centre hold: 200" [ "$code" = 200 ]
out=$(ocsp_status "$tmp/auth-ca.pem" "$tmp/pa.pem")
check "ocsp after hold: revoked, certificateHold" sh -c "printf '%s' '$out' | grep -q 'pa.pem: revoked' && printf '%s' '$out' | grep -q 'Reason: certificateHold'"
crl auth
check "auth CRL: openssl crl -verify, the held serial with Certificate Hold" listed "$a1" auth "Certificate Hold"
check "registry: the device on hold" sh -c "curl -fsS '$B/v1/tsm/devices/$d1' | grep -q '\"status\":\"hold\"'"

check "TSM-05 over HTTP: a new phone, hold, lift" scenario 05_hold_lift.lua
out=$(ocsp_status "$tmp/auth-ca.pem" "$tmp/pa.pem")
check "ocsp: the old phone's auth certificate revoked, superseded" sh -c "printf '%s' '$out' | grep -q 'pa.pem: revoked' && printf '%s' '$out' | grep -q 'Reason: superseded'"
out=$(ocsp_status "$tmp/sign-ca.pem" "$tmp/ps.pem")
check "ocsp: the old phone's sign certificate revoked" has "$out" "ps.pem: revoked"
crl sign
check "sign CRL: openssl crl -verify, the old phone's sign serial superseded" listed "$s1" sign "Superseded"
api GET /v1/tsm/holders/alice/devices >"$tmp/d2.json"
a2=$(tr '{' '\n' <"$tmp/d2.json" | grep '"status":"active"' | jget auth_serial)
check "registry: the new phone active" [ -n "$a2" ]
cert "$a2" pa2
out=$(ocsp_status "$tmp/auth-ca.pem" "$tmp/pa2.pem")
check "ocsp: the new phone's auth certificate good after the lift" has "$out" "pa2.pem: good"
check "registry and CA agree" sh -c "curl -fsS '$B/v1/tsm/check' | grep -q '\"ok\":true'"
finish
