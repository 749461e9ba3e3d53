#!/bin/sh
# On a T=0 card the pcsc: link hides the T=0 procedure: a 6Cxx answer
# is followed by the same command with the right Le, 61xx by GET
# RESPONSE until the data is all there, and the caller gets what a T=1
# card would have answered.  The card is a scripted one
# (lib/t0card.pl) behind the same vpcd driver; pcscd picks T=0 from its
# ATR.
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/pcscd.sh"
interop_enter "$0" "$@"

start_pcscd
perl "$src/tests/interop/lib/t0card.pl" "$VPCD_PORT" >>"$tmp/t0card.log" 2>&1 &
serve_pid=$!
check "the T=0 card appears" wait_card 10000

printf '80CA000000\n80CB00000201020\n80CB0000020102\n00A4040C0AD392F000260100000001\n' | apdus -v >"$tmp/out" 2>"$tmp/err"
check "80CA, Le 00: 6C10, resent with Le 10, then 61 08, GET RESPONSE: 24 bytes and 9000" \
	grep -qx '80CA000000 -> 000102030405060708090A0B0C0D0E0F10111213141516179000 ([0-9.]* ms)' "$tmp/out"
check "80CB (case 3): 61 04, GET RESPONSE: AABBCCDD 9000" \
	grep -qx '80CB0000020102 -> AABBCCDD9000 ([0-9.]* ms)' "$tmp/out"
check "other answers pass through (6D00)" grep -qx '00A4040C0AD392F000260100000001 -> 6D00 ([0-9.]* ms)' "$tmp/out"
check "an odd-length hex line is refused before it reaches the card" grep -q 'not a hex APDU' "$tmp/err"

finish
