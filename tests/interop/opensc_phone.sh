#!/bin/sh
# OpenSC uses the smartphone JPKI applet as it uses the card: a phone is
# issued in process by the TSM scenario TSM-00 (its SE saved with
# ?state=), the SE is served behind pcscd, and pkcs15-tool lists the JPKI
# objects, pkcs11-tool signs with the phone's auth key and PIN, and
# openssl verifies that signature with the phone certificate the SE holds
# (read with the phone's auth PIN: on the phone EF 000A is PIN-gated).
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/pcscd.sh"
interop_enter "$0" "$@"
command -v pkcs11-tool >/dev/null 2>&1 || { echo "SKIP: opensc not installed"; exit $SKIP; }
mod=$(ls /usr/lib/*/opensc-pkcs11.so 2>/dev/null | head -n 1)
[ -n "$mod" ] || { echo "SKIP: opensc-pkcs11.so not found"; exit $SKIP; }

(cd "$src" && "$bin" run scenarios/tsm/00_issue.lua --keep-devices --target "se=sim:se?state=$tmp/se.nvm" \
	--out "$tmp/r" >"$tmp/issue.log" 2>&1)
check "TSM-00 issues a phone (SE image saved)" sh -c "[ -s '$tmp/se.nvm' ] && grep -q '^1 passed, 0 failed' '$tmp/issue.log'"
cp "$tmp/se.nvm" "$tmp/read.nvm"

# The phone's auth certificate, read in process with the phone's PIN (1357).
{
	printf '00A4040C0AD392F000260100000001\n00A4020C020018\n002000800431333537\n00A4020C02000A\n'
	for o in 00 01 02 03 04 05 06 07; do printf '00B0%s0000\n' "$o"; done
} | "$bin" apdu --target "sim:se?state=$tmp/read.nvm" >"$tmp/read.out" 2>>"$tmp/apdu.log"
check "phone token: auth PIN accepted, then EF 000A readable" [ "$(sed -n 3p "$tmp/read.out")" = 9000 ]
sed -n '5,12p' "$tmp/read.out" | sed -n 's/9000$//p' | tr -d '\n' | perl -ne 'print pack "H*", $_' >"$tmp/ef000a"
openssl x509 -inform DER -in "$tmp/ef000a" -pubkey -noout >"$tmp/pub.pem" 2>>"$tmp/apdu.log"
check "EF 000A holds the phone certificate" [ -s "$tmp/pub.pem" ]

start_pcscd
"$bin" serve se --vpcd "127.0.0.1:$VPCD_PORT" --state "$tmp/se.nvm" >>"$tmp/serve.log" 2>&1 &
serve_pid=$!
check "the served SE appears" wait_card 10000
timeout 60 pkcs15-tool -D >"$tmp/p15.log" 2>&1
check "pkcs15-tool -D: the JPKI token" grep -q "Manufacturer ID: JPKI" "$tmp/p15.log"
check "pkcs15-tool -D: the phone's auth key" grep -q "Private RSA Key \[User Authentication Key\]" "$tmp/p15.log"
check "pkcs15-tool -D: the phone's sign key" grep -q "Private RSA Key \[Digital Signature Key\]" "$tmp/p15.log"
printf 'signed by the phone through OpenSC\n' >"$tmp/data"
timeout 60 pkcs11-tool --module "$mod" --login --pin 1357 --sign --mechanism SHA256-RSA-PKCS \
	--id 01 -i "$tmp/data" -o "$tmp/sig" >"$tmp/p11.log" 2>&1
check "pkcs11-tool signs with the phone's auth key" [ -s "$tmp/sig" ]
check "openssl verifies it with the phone certificate" \
	openssl dgst -sha256 -verify "$tmp/pub.pem" -signature "$tmp/sig" "$tmp/data"
finish
