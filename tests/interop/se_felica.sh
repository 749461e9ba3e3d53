#!/bin/sh
# libnfc's own tools reach the simulated FeliCa-SE through `mynahil serve
# pn532 --se-profile`: nfc-list finds one FeliCa target with the profile's
# IDm, PMm and system code, and nfc-read-forum-tag3 reads the NDEF message
# of its service 000B (system 12FC) with Check commands, checksum ok.
# Needs no root.  Usage: sh se_felica.sh <mynahil> <source-dir>
set -u
bin=$1 src=$2
command -v nfc-list >/dev/null 2>&1 || { echo "SKIP: nfc-list (libnfc-bin) not installed"; exit 77; }
command -v nfc-read-forum-tag3 >/dev/null 2>&1 || { echo "SKIP: nfc-read-forum-tag3 not installed"; exit 77; }

tmp=$(mktemp -d)
pid=
cleanup() {
	st=$?
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ "$st" != 0 ] && [ -s "$tmp/serve.log" ] && tail -n 20 "$tmp/serve.log"
	rm -rf "$tmp"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
pass=0 fail=0
check() {
	d=$1
	shift
	if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $d"; fi
}
export LIBNFC_AUTO_SCAN=false LIBNFC_INTRUSIVE_SCAN=false

# Ready is an event: the server prints its three lines (pty, card, SE)
# once the link exists.
mkfifo "$tmp/fifo"
"$bin" serve pn532 --pty "$tmp/pn532" --se-profile "$src/fixtures/se/default.lua" >"$tmp/fifo" 2>"$tmp/serve.log" &
pid=$!
timeout 10 head -n 3 "$tmp/fifo" >"$tmp/serve.out"
export LIBNFC_DEVICE="pn532_uart:$tmp/pn532"

timeout 30 nfc-list -t 4 >"$tmp/list" 2>&1
check "nfc-list: one FeliCa target" grep -q "1 Felica (424 kbps) passive target" "$tmp/list"
check "nfc-list: the profile's IDm" grep -q "01  2e  4c  61  7a  93  b5  d7" "$tmp/list"
check "nfc-list: the profile's PMm" grep -q "03  14  4b  02  4f  49  93  ff" "$tmp/list"
check "nfc-list: system code FE00" grep -q "System Code (SC): fe  00" "$tmp/list"

timeout 30 nfc-read-forum-tag3 -o "$tmp/ndef" >"$tmp/t3" 2>&1
check "nfc-read-forum-tag3: checksum ok" grep -q "Checksum: ok (0x0023)" "$tmp/t3"
check "nfc-read-forum-tag3: 16-byte NDEF message" grep -q "NDEF message length: 16 bytes" "$tmp/t3"
check "nfc-read-forum-tag3: the profile's message" \
	[ "$(od -An -tx1 "$tmp/ndef" | tr -d ' \n')" = d1020b5370d10107550361622e636f6d ]

echo "se_felica: $pass passed, $fail failed"
[ "$fail" = 0 ]
