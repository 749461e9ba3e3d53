#!/bin/sh
# `mynahil serve ios --vpcd` puts the simulated iPhone behind pcscd as a
# contactless card: an iPhone provisioned in process (test_hil_ios
# --provision: iphone-a, auth PIN 2468, biometrics "match") answers over
# PC/SC byte for byte what sim:ios answers in process — the token
# JPKIAPIOSTOKEN, 80 FC 00 00 accepted, EF 000A refused (6982) until the
# auth PIN's VERIFY is answered (by the biometric match), then the auth
# certificate; and OpenSC, through pcscd, lists the JPKI token and signs
# with the phone's auth key, which openssl verifies with that
# certificate.  A blank iPhone has no JPKI AP (6A82).
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/pcscd.sh"
interop_enter "$0" "$@"
prov=$(dirname "$bin")/test_hil_ios
[ -x "$prov" ] || { echo "SKIP: $prov not built"; exit $SKIP; }

"$prov" --provision "$tmp/ios.nvm" >"$tmp/prov.log" 2>&1
check "an iPhone provisioned in process (state saved)" [ -s "$tmp/ios.nvm" ]
cp "$tmp/ios.nvm" "$tmp/read.nvm"
{
	printf '00A4040C0AD392F000260100000001\n00A4020C020006\n00B0000020\n80FC0000\n'
	printf '00A4020C02000A\n00B0000004\n00A4020C020018\n002000800430303030\n00A4020C02000A\n'
	for o in 00 01 02 03 04 05 06 07; do printf '00B0%s0000\n' "$o"; done
} >"$tmp/in"
"$bin" apdu --target "sim:ios?state=$tmp/read.nvm" "$tmp/in" >"$tmp/sim.out" 2>>"$tmp/apdu.log"
check "in process: exit 0" [ $? = 0 ]
check "token JPKIAPIOSTOKEN, padded to 32" [ "$(sed -n 3p "$tmp/sim.out")" = 4A504B494150494F53544F4B454E2020202020202020202020202020202020209000 ]
check "80 FC 00 00: 9000" [ "$(sed -n 4p "$tmp/sim.out")" = 9000 ]
check "EF 000A before the auth PIN: 6982" [ "$(sed -n 6p "$tmp/sim.out")" = 6982 ]
check "VERIFY of the auth PIN answered by the biometric match: 9000" [ "$(sed -n 8p "$tmp/sim.out")" = 9000 ]
sed -n '10,17p' "$tmp/sim.out" | sed -n 's/9000$//p' | tr -d '\n' | perl -ne 'print pack "H*", $_' >"$tmp/ef000a"
openssl x509 -inform DER -in "$tmp/ef000a" -pubkey -noout >"$tmp/pub.pem" 2>>"$tmp/apdu.log"
check "EF 000A holds the iPhone's auth certificate" [ -s "$tmp/pub.pem" ]

start_pcscd
"$bin" serve ios --vpcd "127.0.0.1:$VPCD_PORT" --state "$tmp/ios.nvm" >>"$tmp/serve.log" 2>&1 &
serve_pid=$!
check "the served iPhone appears" wait_card 10000
"$bin" apdu --target "pcsc:$READER" "$tmp/in" >"$tmp/pcsc.out" 2>>"$tmp/apdu.log"
check "over pcsc: exit 0" [ $? = 0 ]
check "pcsc answers byte for byte what sim:ios answers" cmp -s "$tmp/pcsc.out" "$tmp/sim.out"
if command -v pkcs15-tool >/dev/null 2>&1 && mod=$(ls /usr/lib/*/opensc-pkcs11.so 2>/dev/null | head -n 1) && [ -n "$mod" ]; then
	timeout 60 pkcs15-tool -D >"$tmp/p15.log" 2>&1
	check "pkcs15-tool -D: the JPKI token" grep -q "Manufacturer ID: JPKI" "$tmp/p15.log"
	check "pkcs15-tool -D: the iPhone's auth key" grep -q "Private RSA Key \[User Authentication Key\]" "$tmp/p15.log"
	printf 'signed by the iPhone through OpenSC\n' >"$tmp/data"
	# The PIN OpenSC sends does not matter: the biometric match answers.
	timeout 60 pkcs11-tool --module "$mod" --login --pin 0000 --sign --mechanism SHA256-RSA-PKCS \
		--id 01 -i "$tmp/data" -o "$tmp/sig" >"$tmp/p11.log" 2>&1
	check "pkcs11-tool signs with the iPhone's auth key" [ -s "$tmp/sig" ]
	check "openssl verifies it with the iPhone's auth certificate" \
		openssl dgst -sha256 -verify "$tmp/pub.pem" -signature "$tmp/sig" "$tmp/data"
else
	skip_part "OpenSC (pkcs15-tool, opensc-pkcs11.so) not installed"
fi
stop_serve
check "SIGTERM: exit 0 and --state written" sh -c "[ $serve_status = 0 ] && [ -s '$tmp/ios.nvm' ]"

# A blank iPhone: no credential, no JPKI AP.
printf '00A4040C0AD392F000260100000001\n' >"$tmp/in1"
"$bin" apdu --target "sim:ios" "$tmp/in1" >"$tmp/blank.out" 2>>"$tmp/apdu.log"
check "a blank iPhone: SELECT of the JPKI AP 6A82" [ "$(cat "$tmp/blank.out")" = 6A82 ]
finish
