#!/bin/sh
# `mynahil apdu --target sim:card` answers a JPKI session as
# docs/card.md#commands documents it, and the signature verifies with openssl under the
# certificate read from EF 000A.
set -u
. "$2/tests/cli/lib/check.sh"
line() { sed -n "${1}p" "$tmp/out"; }

printf 'signed by the simulated card\n' >"$tmp/data"
# SHA-256 DigestInfo of the data
di=3031300d060960864801650304020105000420$(openssl dgst -sha256 -r "$tmp/data" | cut -c1-64)

cat >"$tmp/in" <<EOS
# JPKI session
00A4040C0AD392F000260100000001   # 1 select JPKI AP
00A4020C020006                   # 2 select token EF
00B0000020                       # 3 read 32 bytes
00A4020C020018                   # 4 select auth PIN
00200080                         # 5 retries left

0020008004 30303030              # 6 wrong PIN
0020008004 31323334              # 7 right PIN (1234)
00A4020C020017                   # 8 select auth key
802A008033 $di 00                # 9 sign
00A4020C02000A                   # 10 select auth cert
00B0000000                       # 11..18 read it
00B0010000
00B0020000
00B0030000
00B0040000
00B0050000
00B0060000
00B0070000
00B08000                         # 19 past the end of a 15-bit offset space
zz                               # not hex
EOS
"$bin" apdu --target sim:card "$tmp/in" >"$tmp/out" 2>"$tmp/err"
st=$?
check "bad line: exit status 1" [ "$st" = 1 ]
check "bad line named with its line number" grep -q "$tmp/in:22: not a hex APDU" "$tmp/err"
check "select AP" [ "$(line 1)" = 9000 ]
check "token" [ "$(line 3)" = "$(printf 'JPKIAPICCTOKEN2%17s' '' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)9000" ]
check "retries 63C3" [ "$(line 5)" = 63C3 ]
check "wrong PIN 63C2" [ "$(line 6)" = 63C2 ]
check "right PIN 9000" [ "$(line 7)" = 9000 ]
sig=$(line 9)
check "signature is 256 bytes + 9000" [ "${#sig}" = 516 ] && [ "${sig#"${sig%????}"}" = 9000 ]
: >"$tmp/cert.hex"
for n in 11 12 13 14 15 16 17 18; do
	l=$(line $n)
	case "$l" in *9000) printf '%s' "${l%9000}" >>"$tmp/cert.hex" ;; esac
done
unhex() { perl -ne 'chomp; print pack "H*", $_'; } # perl-base is essential in Debian
unhex <"$tmp/cert.hex" >"$tmp/ef000a"
printf '%s\n' "${sig%9000}" | unhex >"$tmp/sig"
openssl x509 -inform DER -in "$tmp/ef000a" -pubkey -noout >"$tmp/pub.pem" 2>"$tmp/x509err"
check "EF 000A holds a certificate openssl reads" [ -s "$tmp/pub.pem" ]
check "openssl verifies the card's signature" openssl dgst -sha256 -verify "$tmp/pub.pem" -signature "$tmp/sig" "$tmp/data"
check "same as the fixture's certificate" sh -c "openssl x509 -inform DER -in '$tmp/ef000a' -outform DER | cmp -s - '$src/fixtures/pki/alice-auth.der'"

# -v shows the command and the time
printf '00A4040C0AD392F000260100000001\n' | "$bin" apdu --target sim:card -v >"$tmp/v"
check "-v prints command, response and time" grep -Eq '^00A4040C0AD392F000260100000001 -> 9000 \([0-9.]+ ms\)$' "$tmp/v"
# a state file keeps the counters
printf '00A4040C0AD392F000260100000001\n00A4020C020018\n002000800430303030\n' | "$bin" apdu --target sim:card --state "$tmp/st" >/dev/null
printf '00A4040C0AD392F000260100000001\n00A4020C020018\n00200080\n' | "$bin" apdu --target sim:card --state "$tmp/st" >"$tmp/st.out"
check "--state keeps the retry counter" [ "$(sed -n 3p "$tmp/st.out")" = 63C2 ]
"$bin" apdu --target nosuch:thing </dev/null >/dev/null 2>"$tmp/bad"
check "unknown target: exit 2" [ $? = 2 ]
check "unknown target named" grep -q "nosuch:thing" "$tmp/bad"
"$bin" apdu --target 'sim:card?profile=/nonexistent.lua' </dev/null >/dev/null 2>"$tmp/bad"
check "missing profile named" grep -q "/nonexistent.lua" "$tmp/bad"

finish
