#!/bin/sh
# `mynahil serve ca` and OpenSSL agree: `openssl ocsp` reads good, on
# hold (revoked, certificateHold), lifted (good again) and revoked (with
# the reason) for the fixture card certificates and for a phone
# certificate issued over the JSON API on the strength of alice's card
# signature; the phone certificate chains to the fixture root; revoking
# the card certificate revokes it (linkage, a modelled assumption);
# `openssl crl -verify` accepts both CRLs and they list what they must;
# OCSP over GET (RFC 6960 A.1) answers too; SIGTERM exits 0.
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/ca.sh"
ca_enter

start_ca --db "$tmp/ca.db"

# The fixture card certificates: imported at start, good.
out=$(ocsp_status "$tmp/auth-ca.pem" "$tmp/alice-auth.pem")
check "ocsp: response verifies under the fixture root" has "$out" "Response verify OK"
check "ocsp: alice's auth certificate is good" has "$out" "alice-auth.pem: good"

# On hold: revoked, certificateHold.
api POST /v1/certs/0700A001/hold >/dev/null
check "hold: 200" [ "$code" = 200 ]
out=$(ocsp_status "$tmp/auth-ca.pem" "$tmp/alice-auth.pem")
check "ocsp on hold: revoked" has "$out" "alice-auth.pem: revoked"
check "ocsp on hold: reason certificateHold" has "$out" "Reason: certificateHold"
check "ocsp on hold: still verifies" has "$out" "Response verify OK"

# Lifted: good again.
api POST /v1/certs/0700A001/lift >/dev/null
check "lift: 200" [ "$code" = 200 ]
out=$(ocsp_status "$tmp/auth-ca.pem" "$tmp/alice-auth.pem")
check "ocsp after lift: good" has "$out" "alice-auth.pem: good"

# A phone auth and a phone sign certificate, authorised by alice's card
# sign key (pool-04) over the request bytes.
req=$(phone_req auth 0700A002 11 "ca-openssl-1" 04)
api POST /v1/phone-certs "$req" >"$tmp/pa.json"
check "phone auth certificate: 201" [ "$code" = 201 ]
jget der <"$tmp/pa.json" | b64der_to_pem >"$tmp/pa.pem"
pa=$(jget serial <"$tmp/pa.json")
check "phone auth: linked to the card sign certificate" grep -q '"card_serial":"0700A002"' "$tmp/pa.json"
now=$(curl -fsS "$B/v1/clock" | grep -o '"epoch":[0-9]*' | cut -d: -f2)
check "phone auth: chains to the fixture root at the virtual now" \
	openssl verify -attime "$now" -CAfile "$FX/pki/ca-chain.pem" "$tmp/pa.pem"
check "phone auth: notAfter is the card's" \
	[ "$(openssl x509 -in "$tmp/pa.pem" -noout -enddate)" = "$(openssl x509 -in "$tmp/alice-sign.pem" -noout -enddate)" ]
check "phone auth: the SE's key (pool-11)" \
	[ "$(openssl x509 -in "$tmp/pa.pem" -noout -pubkey)" = "$(openssl pkey -in "$FX/keys/pool-11.pem" -pubout)" ]
api POST /v1/phone-certs "$req" >/dev/null
check "the same request again: 200, the same serial" sh -c "[ '$code' = 200 ] && grep -q '\"serial\":\"$pa\"' '$tmp/api.body'"
req=$(phone_req sign 0700A002 12 "ca-openssl-2" 04)
api POST /v1/phone-certs "$req" >"$tmp/ps.json"
check "phone sign certificate: 201" [ "$code" = 201 ]
jget der <"$tmp/ps.json" | b64der_to_pem >"$tmp/ps.pem"
check "phone sign: carries the card's SAN (the 4 attributes)" \
	[ "$(openssl x509 -in "$tmp/ps.pem" -noout -ext subjectAltName)" = "$(openssl x509 -in "$tmp/alice-sign.pem" -noout -ext subjectAltName)" ]
check "phone sign: chains to the fixture root" \
	openssl verify -attime "$now" -CAfile "$FX/pki/ca-chain.pem" "$tmp/ps.pem"
out=$(ocsp_status "$tmp/auth-ca.pem" "$tmp/pa.pem")
check "ocsp: the phone auth certificate is good" has "$out" "pa.pem: good"

# A signature by bob's card key is refused.
req=$(phone_req auth 0700A002 13 "ca-openssl-3" 07)
api POST /v1/phone-certs "$req" >/dev/null
check "bob's signature for alice's card: 403 naming signature" \
	sh -c "[ '$code' = 403 ] && grep -q '\"field\":\"signature\"' '$tmp/api.body'"

# Revoking the card sign certificate revokes both phone certificates.
api POST /v1/certs/0700A002/revoke '{"reason":"keyCompromise"}' >"$tmp/rev.json"
check "revoke the card: 200, linked listed" sh -c "[ '$code' = 200 ] && grep -q '\"linked\"' '$tmp/rev.json'"
out=$(ocsp_status "$tmp/auth-ca.pem" "$tmp/pa.pem")
check "ocsp linked: phone auth revoked" has "$out" "pa.pem: revoked"
check "ocsp linked: reason keyCompromise" has "$out" "Reason: keyCompromise"
out=$(ocsp_status "$tmp/sign-ca.pem" "$tmp/ps.pem")
check "ocsp linked: phone sign revoked" has "$out" "ps.pem: revoked"
out=$(ocsp_status "$tmp/sign-ca.pem" "$tmp/alice-sign.pem")
check "ocsp: the card sign certificate revoked" has "$out" "alice-sign.pem: revoked"
req=$(phone_req auth 0700A002 13 "ca-openssl-4" 04)
api POST /v1/phone-certs "$req" >/dev/null
check "revoked card: a new phone certificate is refused (409, card_serial)" \
	sh -c "[ '$code' = 409 ] && grep -q '\"field\":\"card_serial\"' '$tmp/api.body'"

# Hold on bob's auth certificate, for the CRL.
api POST /v1/certs/0700B001/hold >/dev/null

# The CRLs: openssl verifies them and they list what they must.
curl -fsS "$B/crl/auth.crl" -o "$tmp/auth.crl"
curl -fsS "$B/crl/sign.crl" -o "$tmp/sign.crl"
check "auth CRL: openssl crl -verify" sh -c "openssl crl -inform DER -in '$tmp/auth.crl' -CAfile '$FX/pki/ca-chain.pem' -verify -noout 2>&1 | grep -q 'verify OK'"
check "sign CRL: openssl crl -verify" sh -c "openssl crl -inform DER -in '$tmp/sign.crl' -CAfile '$FX/pki/ca-chain.pem' -verify -noout 2>&1 | grep -q 'verify OK'"
openssl crl -inform DER -in "$tmp/auth.crl" -noout -text >"$tmp/auth.txt"
openssl crl -inform DER -in "$tmp/sign.crl" -noout -text >"$tmp/sign.txt"
check "auth CRL: version 2" grep -q "Version 2" "$tmp/auth.txt"
check "auth CRL: a CRL number" grep -q "X509v3 CRL Number" "$tmp/auth.txt"
check "auth CRL: the phone auth certificate, key compromise" sh -c "grep -A4 'Serial Number: $pa' '$tmp/auth.txt' | grep -q 'Key Compromise'"
check "auth CRL: bob's held certificate, certificate hold" sh -c "grep -A4 'Serial Number: 0700B001' '$tmp/auth.txt' | grep -q 'Certificate Hold'"
check "auth CRL: alice's lifted auth certificate is not listed" sh -c "! grep -q 'Serial Number: 0700A001' '$tmp/auth.txt'"
check "sign CRL: the card sign certificate" grep -q "Serial Number: 0700A002" "$tmp/sign.txt"
check "sign CRL: thisUpdate is the virtual clock" grep -q "Last Update: Jan  5 00:00:00 2026 GMT" "$tmp/sign.txt"

# OCSP over GET, RFC 6960 A.1: base64 of the DER request, URL-encoded.
openssl ocsp -issuer "$tmp/auth-ca.pem" -cert "$tmp/bob-auth.pem" -no_nonce -reqout "$tmp/q.der" >/dev/null 2>&1
q=$(b64 <"$tmp/q.der" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
curl -fsS "$B/ocsp/$q" -o "$tmp/r.der"
check "ocsp GET: bob's held certificate" sh -c "openssl ocsp -respin '$tmp/r.der' -issuer '$tmp/auth-ca.pem' -cert '$tmp/bob-auth.pem' -CAfile '$FX/pki/ca-chain.pem' -validity_period 1000000000 2>&1 | grep -q 'Reason: certificateHold'"

stop_ca TERM
check "SIGTERM: exit status 0" [ "$serve_status" = 0 ]
finish
