#!/bin/sh
# `mynahil serve se --vpcd` puts the FeliCa-SE behind pcscd as
# `serve card` does the card: over PC/SC the ISD answers byte for byte
# what the in-process sim:se answers (SELECT with FCI, GET DATA CPLC,
# INITIALIZE UPDATE with the pseudo-random card challenge, MANAGE
# CHANNEL), and the JPKI smartphone token is absent until a TSM installs
# the applet.
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/pcscd.sh"
interop_enter "$0" "$@"

cat >"$tmp/in" <<EOS
00A4040008A000000151000000
80CA9F7F00
8050300008000102030405060700
0070000001
00A4040C0AD392F000260100000001
EOS
start_pcscd
"$bin" serve se --vpcd "127.0.0.1:$VPCD_PORT" --state "$tmp/se.nvm" >>"$tmp/serve.log" 2>&1 &
serve_pid=$!
check "the served SE appears" wait_card 10000
"$bin" apdu --target "pcsc:$READER" "$tmp/in" >"$tmp/pcsc.out" 2>>"$tmp/apdu.log"
check "apdu over pcsc: exit 0" [ $? = 0 ]
"$bin" apdu --target sim:se "$tmp/in" >"$tmp/sim.out" 2>>"$tmp/apdu.log"
check "the same session in process: exit 0" [ $? = 0 ]
check "pcsc answers byte for byte what sim:se answers" cmp -s "$tmp/pcsc.out" "$tmp/sim.out"
check "CPLC read (9F7F ... 9000)" sh -c "sed -n 2p '$tmp/pcsc.out' | grep -q '^9F7F2A.*9000$'"
check "INITIALIZE UPDATE: key information KVN 30, SCP03, i=70" sh -c "sed -n 3p '$tmp/pcsc.out' | grep -Eq '^.{20}300370.*9000$'"
check "MANAGE CHANNEL opened channel 1" [ "$(sed -n 4p "$tmp/pcsc.out")" = 019000 ]
check "no JPKI applet before the TSM installs it (6A82)" [ "$(sed -n 5p "$tmp/pcsc.out")" = 6A82 ]
stop_serve
check "SIGTERM: exit 0 and --state written" sh -c "[ $serve_status = 0 ] && [ -s '$tmp/se.nvm' ]"
finish
