#!/bin/sh
# OpenSC uses the served card as it would a real My Number card:
# pkcs15-tool lists the JPKI PINs, keys and certificates under their
# labels and ids and reads out the auth certificate (the fixture's);
# pkcs11-tool (opensc-pkcs11) logs in with the auth PIN and signs with
# SHA256-RSA-PKCS, openssl verifies that signature with the certificate
# OpenSC read; the sign key signs under its PIN too; a wrong PIN is
# refused and OpenSC then reports the tries left.
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/pcscd.sh"
interop_enter "$0" "$@"

for tool in pkcs15-tool pkcs11-tool; do
	command -v $tool >/dev/null 2>&1 || { echo "SKIP: $tool not installed (opensc)"; exit $SKIP; }
done
module=
for m in /usr/lib/*/opensc-pkcs11.so /usr/lib/*/pkcs11/opensc-pkcs11.so /usr/lib/opensc-pkcs11.so; do
	[ -f "$m" ] && { module=$m; break; }
done
[ -n "$module" ] || { echo "SKIP: opensc-pkcs11.so not found (opensc-pkcs11)"; exit $SKIP; }

# OpenSC's own configuration only; no file cache, no user state.
export HOME="$tmp/home" OPENSC_CONF=/etc/opensc/opensc.conf
mkdir -p "$HOME"
p11() { pkcs11-tool --module "$module" "$@"; }

start_pcscd
start_serve
check "the served card appears" wait_card 10000

pkcs15-tool -D >"$tmp/dump" 2>&1
check "pkcs15-tool -D: exit 0" [ $? = 0 ]
check "the JPKI driver took the card" grep -q 'PKCS#15 Card \[JPKI\]' "$tmp/dump"
# Each object: its label, then its ID within the same block.
obj_id() { awk -v hdr="$1" 'index($0, hdr) == 1 { on = 1; next } on && /^[[:space:]]*ID[[:space:]]*:/ { print $3; exit } /^$/ { on = 0 }' "$tmp/dump"; }
check "auth PIN, id 01" [ "$(obj_id 'PIN [User Authentication PIN]')" = 01 ]
check "sign PIN, id 02" [ "$(obj_id 'PIN [Digital Signature PIN]')" = 02 ]
check "auth private key, id 01" [ "$(obj_id 'Private RSA Key [User Authentication Key]')" = 01 ]
check "sign private key, id 02" [ "$(obj_id 'Private RSA Key [Digital Signature Key]')" = 02 ]
check "auth certificate, id 01" [ "$(obj_id 'X.509 Certificate [User Authentication Certificate]')" = 01 ]
check "sign certificate, id 02" [ "$(obj_id 'X.509 Certificate [Digital Signature Certificate]')" = 02 ]
check "auth CA certificate, id 03" [ "$(obj_id 'X.509 Certificate [User Authentication Certificate CA]')" = 03 ]
check "sign CA certificate, id 04" [ "$(obj_id 'X.509 Certificate [Digital Signature Certificate CA]')" = 04 ]
check "2048-bit keys" [ "$(grep -c 'ModLength *: 2048' "$tmp/dump")" = 2 ]
check "auth PIN: 3 tries left" [ "$(awk '/PIN \[User Authentication PIN\]/ { on = 1 } on && /Tries left/ { print $4; exit }' "$tmp/dump")" = 3 ]
check "sign PIN: 5 tries left" [ "$(awk '/PIN \[Digital Signature PIN\]/ { on = 1 } on && /Tries left/ { print $4; exit }' "$tmp/dump")" = 5 ]

pkcs15-tool --read-certificate 01 >"$tmp/auth.pem" 2>>"$tmp/opensc.log"
check "pkcs15-tool reads the auth certificate" [ -s "$tmp/auth.pem" ]
check "it is the fixture's certificate" sh -c "openssl x509 -in '$tmp/auth.pem' -outform DER | cmp -s - '$src/fixtures/pki/alice-auth.der'"

# Sign with the auth key through PKCS#11; verify with the certificate
# OpenSC read out.
printf 'a document signed through opensc-pkcs11\n' >"$tmp/data"
p11 --slot-index 0 --login --pin 1234 --sign --mechanism SHA256-RSA-PKCS --id 01 \
	--input-file "$tmp/data" --output-file "$tmp/sig" >>"$tmp/opensc.log" 2>&1
check "pkcs11-tool: login with the auth PIN and sign (exit 0)" [ $? = 0 ]
check "a 256-byte signature" [ "$(wc -c <"$tmp/sig")" = 256 ]
openssl x509 -in "$tmp/auth.pem" -pubkey -noout >"$tmp/auth.pub"
check "openssl verifies it with OpenSC's certificate" \
	openssl dgst -sha256 -verify "$tmp/auth.pub" -signature "$tmp/sig" "$tmp/data"
printf 'another document\n' >"$tmp/other"
check "and not for another document" sh -c "! openssl dgst -sha256 -verify '$tmp/auth.pub' -signature '$tmp/sig' '$tmp/other' >/dev/null 2>&1"

# The sign key, behind the second PIN (OpenSC's second slot).
p11 --slot-index 1 --login --pin MYNAHIL1 --sign --mechanism SHA256-RSA-PKCS --id 02 \
	--input-file "$tmp/data" --output-file "$tmp/sig2" >>"$tmp/opensc.log" 2>&1
check "pkcs11-tool: the sign key signs under the sign PIN" [ $? = 0 ]
openssl x509 -inform DER -in "$src/fixtures/pki/alice-sign.der" -pubkey -noout >"$tmp/sign.pub"
check "openssl verifies the sign-key signature" \
	openssl dgst -sha256 -verify "$tmp/sign.pub" -signature "$tmp/sig2" "$tmp/data"

# A wrong auth PIN: refused, and OpenSC reports the tries left.
p11 --slot-index 0 --login --pin 0000 --sign --mechanism SHA256-RSA-PKCS --id 01 \
	--input-file "$tmp/data" --output-file "$tmp/sig3" >"$tmp/wrong" 2>&1
check "pkcs11-tool: wrong PIN fails" [ $? != 0 ]
check "with CKR_PIN_INCORRECT" grep -q CKR_PIN_INCORRECT "$tmp/wrong"
pkcs15-tool --list-pins >"$tmp/pins" 2>&1
check "pkcs15-tool --list-pins: auth PIN has 2 tries left" \
	[ "$(awk '/User Authentication PIN/ { on = 1 } on && /Tries left/ { print $4; exit }' "$tmp/pins")" = 2 ]
p11 -L >"$tmp/slots" 2>&1
check "pkcs11-tool -L: the token says its user PIN count is low" grep -q 'user PIN count low' "$tmp/slots"
p11 --slot-index 0 --login --pin 1234 --list-objects >>"$tmp/opensc.log" 2>&1
check "the right PIN still logs in" [ $? = 0 ]
pkcs15-tool --list-pins >"$tmp/pins" 2>&1
check "and restores 3 tries" \
	[ "$(awk '/User Authentication PIN/ { on = 1 } on && /Tries left/ { print $4; exit }' "$tmp/pins")" = 3 ]

# OpenSC 0.23's jpki driver knows one ATR, set pcsc-tools-e0's; other
# cards it finds by selecting the JPKI AP (above: the default profile's
# set is opensc-3021).  A pcsc-tools-e0 card, served in the second slot
# from a copy of the default profile, is matched by its ATR.
sed -e 's/^\( *atr_set *= *\)"[^"]*"/\1"pcsc-tools-e0"/' -e "s|\"\.\./|\"$src/fixtures/|g" \
	"$src/fixtures/profiles/default.lua" >"$tmp/e0.lua"
"$bin" serve card --vpcd 127.0.0.1:35964 --profile "$tmp/e0.lua" >>"$tmp/serve_e0.log" 2>&1 &
extra_pids=$!
check "the pcsc-tools-e0 card appears in the second slot" \
	sh -c "MYNAHIL_PCSC_WAIT=10000 '$bin' apdu --target 'pcsc:Virtual PCD 00 01' </dev/null"
check "pcsc-tools-e0 card: its contact ATR" [ "$(opensc-tool -r 'Virtual PCD 00 01' -a 2>/dev/null)" = "3b:e0:00:ff:81:31:fe:45:14" ]
check "pcsc-tools-e0 card: OpenSC's jpki driver" [ "$(opensc-tool -r 'Virtual PCD 00 01' -n 2>/dev/null)" = jpki ]
pkcs15-tool --reader 'Virtual PCD 00 01' --list-certificates >"$tmp/certs_e0" 2>&1
check "pcsc-tools-e0 card: pkcs15-tool lists the auth certificate" grep -q 'X.509 Certificate \[User Authentication Certificate\]' "$tmp/certs_e0"

finish
