#!/bin/sh
# The iPhone's fixtures (fixtures/ios/, docs/ios.md#fixtures) are exactly
# what fixtures/ios/gen-ios.sh writes from the committed key pool, and they
# fit together: each device certificate chains to the platform CA, names
# its profile's device id, and certifies the profile's attestation key;
# issuer-pub.der is pool 57's public key.  Needs the openssl command line.
set -u
. "$2/tests/cli/lib/check.sh"
fx=$src/fixtures
command -v openssl >/dev/null 2>&1 || { echo "FAIL: openssl not found"; exit 1; }

sh "$fx/ios/gen-ios.sh" "$tmp/ios" >"$tmp/gen.log" 2>&1
check "gen-ios.sh runs" [ $? = 0 ]
for f in "$fx"/ios/*.der "$fx"/ios/*.lua; do
	check "$(basename "$f") is what gen-ios.sh writes" cmp -s "$f" "$tmp/ios/$(basename "$f")"
done
openssl x509 -inform DER -in "$fx/ios/platform-ca.der" -out "$tmp/ca.pem" 2>/dev/null
for d in a b c; do
	openssl x509 -inform DER -in "$fx/ios/iphone-$d.der" -out "$tmp/$d.pem" 2>/dev/null
	check "iphone-$d chains to the platform CA" sh -c "openssl verify -CAfile '$tmp/ca.pem' -attime 1775001600 '$tmp/$d.pem' >/dev/null 2>&1"
	id=$(sed -n 's/^ *device_id *= *"\([0-9A-F]*\)".*/\1/p' "$fx/ios/iphone-$d.lua")
	sn=$(openssl x509 -in "$tmp/$d.pem" -noout -subject -nameopt sep_multiline 2>/dev/null | sed -n 's/^ *serialNumber=//p')
	check "iphone-$d names its device id ($id)" [ -n "$id" -a "$id" = "$sn" ]
	key=$(sed -n 's/^ *attest_key *= *"\.\.\/keys\/\(pool-[0-9]*\.pem\)".*/\1/p' "$fx/ios/iphone-$d.lua")
	check "iphone-$d certifies its attestation key ($key)" \
		[ "$(openssl x509 -in "$tmp/$d.pem" -noout -pubkey 2>/dev/null)" = "$(openssl pkey -in "$fx/keys/$key" -pubout 2>/dev/null)" ]
done
check "issuer-pub.der is pool 57's public key" \
	[ "$(openssl pkey -pubin -inform DER -in "$fx/ios/issuer-pub.der" 2>/dev/null)" = "$(openssl pkey -in "$fx/keys/pool-57.pem" -pubout 2>/dev/null)" ]
finish
