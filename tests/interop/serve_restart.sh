#!/bin/sh
# `mynahil serve card --vpcd` survives what happens to it in the field:
# started before pcscd, it connects when pcscd comes; when pcscd
# restarts it reconnects and the card, with its state, is back; SIGTERM
# saves --state, so a PIN counter survives a restart of the server.
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/pcscd.sh"
interop_enter "$0" "$@"

retries() {
	printf '00A4040C0AD392F000260100000001\n00A4020C020018\n00200080\n' | apdus 2>>"$tmp/apdu.log" | sed -n 3p
}
miss() {
	printf '00A4040C0AD392F000260100000001\n00A4020C020018\n002000800430303030\n' | apdus 2>>"$tmp/apdu.log" | sed -n 3p
}

# The server first: nothing listens on the vpcd port yet.
start_serve --state "$tmp/card.nvm"
check "server started before pcscd: it waits for vpcd" wait_log "$tmp/serve.log" "waiting for vpcd at 127.0.0.1:$VPCD_PORT"
start_pcscd
check "server started before pcscd: the card appears" wait_card 10000
check "fresh card: 63C3" [ "$(retries)" = 63C3 ]
check "a wrong PIN: 63C2" [ "$(miss)" = 63C2 ]

# pcscd restarts: the server notices, reconnects, the card is back
# with the same state.
stop_pcscd
start_pcscd
check "after a pcscd restart the card appears again" wait_card 10000
# (A dying pcscd may still accept once before it closes its port: two
# connections or more.)
check "server reconnected (a second connection in its log)" [ "$(grep -c 'connected to vpcd' "$tmp/serve.log")" -ge 2 ]
check "same card after the pcscd restart: 63C2" [ "$(retries)" = 63C2 ]

# SIGTERM saves the state; a new server with it has the counter.
stop_serve
check "SIGTERM: exit status 0" [ "$serve_status" = 0 ]
check "SIGTERM: --state written" [ -s "$tmp/card.nvm" ]
check "server gone: pcscd sees the reader empty" wait_no_card 5000
start_serve --state "$tmp/card.nvm"
check "restarted server: the card appears" wait_card 10000
check "restarted server: the counter survived (63C2)" [ "$(retries)" = 63C2 ]
check "and a right PIN restores it" sh -c "printf '00A4040C0AD392F000260100000001\n00A4020C020018\n002000800431323334\n00200080\n' | '$bin' apdu --target 'pcsc:$READER' | sed -n 4p | grep -qx 63C3"

# A server without --state forgets: the counter is back to 3.
stop_serve
check "server gone again: reader empty" wait_no_card 5000
start_serve
check "server without --state: the card appears" wait_card 10000
check "server without --state: a fresh card (63C3)" [ "$(retries)" = 63C3 ]

# Usage errors.
"$bin" serve card >/dev/null 2>"$tmp/u1"
check "serve card without --vpcd: exit 2" [ $? = 2 ]
"$bin" serve card --vpcd nosuchhost.invalid:1 >/dev/null 2>"$tmp/u2"
check "unresolvable host: exit 2, named" sh -c "[ $? = 2 ] && grep -q nosuchhost.invalid '$tmp/u2'"

finish
