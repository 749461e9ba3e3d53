#!/bin/sh
# A second `mynahil serve` on what one already serves refuses to start:
# `serve card|se --vpcd` on a port a live server has (it would otherwise
# connect, wait unseen in the driver's queue and take the reader over
# when the first goes), `serve pn532 --pty` on a path a live server has
# linked (it would otherwise re-link it under the first one's clients).
# The refusal is one line naming the port or path and "in use", exit 2,
# at once; the first server still serves.  A server killed with -9
# leaves nothing behind: the next one starts.
# Usage: sh serve_in_use.sh <mynahil> <source-dir>
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/pcscd.sh"
interop_enter "$0" "$@"

# second OUT CMD...: run a second server, bounded (a server that does not
# refuse would serve on, and `timeout` ends it with 124); its exit status
# in $st, its stderr in OUT.
second() {
	_out=$1
	shift
	timeout 10 "$@" >/dev/null 2>"$_out"
	st=$?
}

# --- vpcd
start_pcscd
start_serve --state "$tmp/card.nvm"
check "the first serve card is in the reader" wait_card
first=$serve_pid

for kind in card se; do
	second "$tmp/$kind.err" "$bin" serve "$kind" --vpcd "127.0.0.1:$VPCD_PORT"
	check "a second serve $kind on the port: exit 2 (got $st)" [ "$st" = 2 ]
	check "  in one line" [ "$(wc -l <"$tmp/$kind.err")" = 1 ]
	check "  naming the port and that it is in use, and the first server's pid" \
		grep -q "vpcd port 127.0.0.1:$VPCD_PORT is in use: another mynahil serve (pid $first) serves it" "$tmp/$kind.err"
	[ "$st" = 2 ] || cat "$tmp/$kind.err"
done
second "$tmp/name.err" "$bin" serve card --vpcd "localhost:$VPCD_PORT"
check "the port by a name that resolves to it: refused too (exit $st)" [ "$st" = 2 ]

printf '00A4040C0AD392F000260100000001\n' | apdus >"$tmp/after.out" 2>>"$tmp/apdu.log"
check "the first server still answers through pcscd" [ "$(cat "$tmp/after.out")" = 9000 ]
check "the first server never lost pcscd's connection" [ "$(grep -c 'connected to vpcd' "$tmp/serve.log")" = 1 ]

# Another port is another reader: the second slot is free.
"$bin" serve se --vpcd "127.0.0.1:$((VPCD_PORT + 1))" >>"$tmp/se2.log" 2>&1 &
extra_pids=$!
check "serve se on the second slot starts" wait_log "$tmp/se2.log" "connected to vpcd at 127.0.0.1:$((VPCD_PORT + 1))"

# A server killed with -9 leaves no claim behind.
kill -KILL "$serve_pid"
wait "$serve_pid" 2>/dev/null
serve_pid=
start_serve --state "$tmp/card.nvm"
check "after kill -9, a new serve card takes the port" wait_card

# --- pty
if command -v nfc-list >/dev/null 2>&1; then
	export LIBNFC_AUTO_SCAN=false LIBNFC_INTRUSIVE_SCAN=false
	mkfifo "$tmp/pn.fifo"
	"$bin" serve pn532 --pty "$tmp/pn532" >"$tmp/pn.fifo" 2>"$tmp/pn.log" &
	pn_pid=$!
	extra_pids="$extra_pids $pn_pid"
	timeout 10 head -n 2 "$tmp/pn.fifo" >"$tmp/pn.out"
	check "serve pn532 linked its pty" [ -L "$tmp/pn532" ]
	slave=$(readlink "$tmp/pn532")

	second "$tmp/pn2.err" "$bin" serve pn532 --pty "$tmp/pn532"
	check "a second serve pn532 on the path: exit 2 (got $st)" [ "$st" = 2 ]
	check "  in one line" [ "$(wc -l <"$tmp/pn2.err")" = 1 ]
	check "  naming the path and that it is in use" \
		grep -q "serve pn532: $tmp/pn532 is in use: another mynahil serve (pid $pn_pid) serves it" "$tmp/pn2.err"
	second "$tmp/pn3.err" "$bin" serve pn532 --pty "$tmp/../${tmp##*/}/pn532"
	check "the same path written otherwise (DIR/../DIR/pn532): refused (exit $st)" grep -q "in use" "$tmp/pn3.err"
	check "the link still points at the first server's pty" [ "$(readlink "$tmp/pn532")" = "$slave" ]
	LIBNFC_DEVICE=pn532_uart:$tmp/pn532 timeout 20 nfc-list >"$tmp/list.out" 2>>"$tmp/nfc.log"
	check "nfc-list still finds the card on the first server" \
		grep -q "^1 ISO14443B passive target(s) found:" "$tmp/list.out"

	kill -KILL "$pn_pid"
	wait "$pn_pid" 2>/dev/null
	"$bin" serve pn532 --pty "$tmp/pn532" >"$tmp/pn4.out" 2>"$tmp/pn4.log" &
	extra_pids="$extra_pids $!"
	check "after kill -9, a new serve pn532 re-links the stale path" wait_log "$tmp/pn4.out" "at $tmp/pn532"
else
	skip_part "nfc-list (libnfc-bin) not installed: the pty half"
fi

finish
