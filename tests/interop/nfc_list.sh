#!/bin/sh
# nfc-list — libnfc's own tool, through its pn532_uart driver — finds the
# simulated My Number card behind `mynahil serve pn532`: one ISO/IEC
# 14443-4B target whose PUPI is the one the server announced, with the
# application data and protocol info of the card's ATR set, and
# nothing else.  The PUPI follows the seed (same seed, same PUPI; another
# seed, another); the server outlives clients that close, that die with
# half a frame sent, and many opens in a row; SIGTERM stops it cleanly
# and removes its link; it refuses to replace a file that is not a link.
# Needs no root.  Usage: sh nfc_list.sh <mynahil> <source-dir>
set -u
bin=$1 src=$2
command -v nfc-list >/dev/null 2>&1 || { echo "SKIP: nfc-list (libnfc-bin) not installed"; exit 77; }

tmp=$(mktemp -d)
pids=
cleanup() {
	st=$?
	for p in $pids; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	if [ "$st" != 0 ]; then
		for f in "$tmp"/*.log; do [ -s "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }; done
	fi
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
# Only the device named here: no USB or PC/SC scan of this machine.
export LIBNFC_AUTO_SCAN=false LIBNFC_INTRUSIVE_SCAN=false

# start_serve NAME [OPTIONS...]: serve pn532 at $tmp/NAME; its PID in
# $serve_pid, its start-up lines in $tmp/NAME.out.  Ready is an event:
# the server prints its lines after the link exists; a fifo hands them
# over as they come, `timeout` is the deadline.
start_serve() {
	name=$1
	shift
	mkfifo "$tmp/$name.fifo"
	"$bin" serve pn532 --pty "$tmp/$name" "$@" >"$tmp/$name.fifo" 2>"$tmp/$name.log" &
	serve_pid=$!
	pids="$pids $serve_pid"
	timeout 10 head -n 2 "$tmp/$name.fifo" >"$tmp/$name.out"
}
pupi_of() { sed -n 's/.*PUPI \([0-9A-F]\{8\}\).*/\1/p' "$tmp/$1.out"; }
# "FC92E902" -> "fc  92  e9  02", as nfc-list prints it
spaced() { printf '%s' "$1" | tr 'A-F' 'a-f' | sed 's/../&  /g; s/  $//'; }
list() { LIBNFC_DEVICE=pn532_uart:$tmp/$1 timeout 20 nfc-list; }

start_serve a
pupi_a=$(pupi_of a)
check "serve announces a PUPI" [ -n "$pupi_a" ]
check "the link points at a pty slave" sh -c "readlink '$tmp/a' | grep -q '^/dev/pts/'"

list a >"$tmp/list.out" 2>"$tmp/list.log"
check "nfc-list exits 0" [ $? = 0 ]
check "nfc-list opened the device" grep -q "^NFC device: .* opened" "$tmp/list.out"
check "one ISO14443B target" grep -q "^1 ISO14443B passive target(s) found:" "$tmp/list.out"
check "an ISO/IEC 14443-4B target" grep -q "ISO/IEC 14443-4B (106 kbps) target:" "$tmp/list.out"
check "its PUPI is the announced one ($pupi_a)" grep -qF "PUPI: $(spaced "$pupi_a")" "$tmp/list.out"
check "application data of an opensc-3021 card (the default)" grep -qF "Application Data: 00  00  41  e0" "$tmp/list.out"
check "protocol info: 256-byte frames, ISO/IEC 14443-4" grep -qF "Protocol Info: b3  81  a1" "$tmp/list.out"
check "no other target (no SE served)" \
	[ "$(grep -c 'passive target(s) found' "$tmp/list.out")" = 1 ]

# Reopened again and again: every client finds the card.
ok=0
for i in 1 2 3 4 5; do
	list a 2>/dev/null | grep -qF "PUPI: $(spaced "$pupi_a")" && ok=$((ok + 1))
done
check "five more nfc-list runs in a row find the card ($ok of 5)" [ "$ok" = 5 ]

# A client dies with half a frame sent and odd terminal settings.
sh -c 'stty -F "$1" icanon echo 2>/dev/null; printf "\000\000\377\011\367\324" >"$1"; kill -9 $$' sh "$tmp/a" 2>/dev/null
list a 2>/dev/null | grep -qF "PUPI: $(spaced "$pupi_a")"
check "after a client died mid-frame, nfc-list finds the card" [ $? = 0 ]

# The PUPI comes from the seed.
start_serve b --seed 7
pupi_b=$(pupi_of b)
check "another seed, another PUPI ($pupi_b)" [ -n "$pupi_b" ] && [ "$pupi_b" != "$pupi_a" ]
list b 2>/dev/null | grep -qF "PUPI: $(spaced "$pupi_b")"
check "nfc-list shows the seed-7 PUPI on the seed-7 server" [ $? = 0 ]
b_pid=$serve_pid

# SIGTERM: exit 0, link gone.
kill "$b_pid"
wait "$b_pid"
check "SIGTERM: serve exits 0" [ $? = 0 ]
check "SIGTERM: the link is removed" [ ! -e "$tmp/b" ] && [ ! -L "$tmp/b" ]
start_serve c
check "seed 0 again: the same PUPI ($pupi_a)" [ "$(pupi_of c)" = "$pupi_a" ]

# A path that is not a symlink is not replaced.
printf 'keep me\n' >"$tmp/file"
"$bin" serve pn532 --pty "$tmp/file" >/dev/null 2>"$tmp/refuse.log"
check "serve refuses a path that is a regular file" [ $? != 0 ]
check "the refusal names the path" grep -qF "$tmp/file" "$tmp/refuse.log"
check "the file is untouched" [ "$(cat "$tmp/file")" = "keep me" ]

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
