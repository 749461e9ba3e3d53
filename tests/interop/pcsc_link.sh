#!/bin/sh
# The pcsc: link through a real pcscd to `mynahil serve card --vpcd`:
# pcscd sees the served card, a JPKI session over pcsc: answers
# byte-for-byte what sim:card answers (signature included), the card's
# state lives in the server across PC/SC connections, and the link's
# errors name the reader: no matching reader, an empty reader, a card
# that goes away.
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/pcscd.sh"
interop_enter "$0" "$@"

start_pcscd
start_serve
check "the served card appears in '$READER'" wait_card 10000
check "serve says it is connected" grep -q "connected to vpcd at 127.0.0.1:$VPCD_PORT" "$tmp/serve.log"

printf 'signed through pcscd\n' >"$tmp/data"
di=3031300d060960864801650304020105000420$(openssl dgst -sha256 -r "$tmp/data" | cut -c1-64)
cat >"$tmp/session" <<EOS
00A4040C0AD392F000260100000001   # select JPKI AP
00A4020C020006                   # token EF
00B0000020
00A4020C020018                   # auth PIN
00200080                         # tries left
0020008004 31323334              # right PIN
00A4020C020017                   # auth key
802A008033 $di 00                # sign (256-byte answer)
00A4020C02000A                   # auth certificate
00B0000000                       # Le=00: 256 bytes a go
00B0010000
00A4040C0AD3921000310001010408   # 入力補助AP
00B0000000                       # nothing selected: an error SW
EOS
"$bin" apdu --target sim:card "$tmp/session" >"$tmp/sim.out" 2>"$tmp/sim.err"
apdus "$tmp/session" >"$tmp/pcsc.out" 2>"$tmp/pcsc.err"
check "apdu over pcsc: exit 0" [ $? = 0 ]
check "13 answers" [ "$(wc -l <"$tmp/pcsc.out")" = 13 ]
check "byte-for-byte what sim:card answers" cmp -s "$tmp/sim.out" "$tmp/pcsc.out"
check "token JPKIAPICCTOKEN2" [ "$(sed -n 3p "$tmp/pcsc.out")" = "$(printf 'JPKIAPICCTOKEN2%17s' '' | hex_of)9000" ]
sig=$(sed -n 8p "$tmp/pcsc.out")
check "signature: 256 bytes + 9000" [ "${#sig}" = 516 ]
printf '%s\n' "${sig%9000}" | unhex >"$tmp/sig"
openssl x509 -inform DER -in "$src/fixtures/pki/alice-auth.der" -pubkey -noout >"$tmp/pub.pem"
check "openssl verifies the signature made through pcscd" \
	openssl dgst -sha256 -verify "$tmp/pub.pem" -signature "$tmp/sig" "$tmp/data"

# The card's state is the server's: a miss counted in one PC/SC
# connection is seen by the next.
printf '00A4040C0AD392F000260100000001\n00A4020C020018\n002000800430303030\n' | apdus >/dev/null 2>&1
printf '00A4040C0AD392F000260100000001\n00A4020C020018\n00200080\n' | apdus >"$tmp/tries" 2>&1
check "a wrong PIN in one connection, 63C2 in the next" [ "$(sed -n 3p "$tmp/tries")" = 63C2 ]
printf '00A4040C0AD392F000260100000001\n00A4020C020018\n002000800431323334\n' | apdus >/dev/null 2>&1

# Closing the link resets the card: what one session verified and
# selected is gone for the next (as with a fresh sim:card), though the
# NVM stays.
printf '00A4040C0AD392F000260100000001\n00A4020C02001B\n0020008008 4D594E4148494C31\n00A4020C020001\n00B0000004\n' |
	apdus >"$tmp/s1" 2>&1
check "session 1: sign PIN verified, the sign certificate readable" [ "$(sed -n 5p "$tmp/s1" | cut -c9-)" = 9000 ]
printf '00A4020C020001\n00B0000004\n' | apdus >"$tmp/s2" 2>&1
check "session 2: nothing selected, nothing verified (the card was reset)" [ "$(sed -n 2p "$tmp/s2")" != "$(sed -n 5p "$tmp/s1")" ]
check "session 2: READ BINARY refused" sh -c "! sed -n 2p '$tmp/s2' | grep -q '9000\$'"

# -v times each exchange: a served APDU takes well under the 40 ms a
# delayed ACK would add (TCP_QUICKACK).
printf '00A4040C0AD392F000260100000001\n' >"$tmp/sel"
for i in 1 2 3 4 5 6 7 8 9 10; do cat "$tmp/sel"; done | apdus -v >"$tmp/timed" 2>&1
slow=$(awk -F'[(]' '/ ms\)$/ { split($2, a, " "); if (a[1] + 0 >= 30) n++ } END { print n + 0 }' "$tmp/timed")
# (Without QUICKACK every exchange takes ~48 ms; allow a loaded machine
# a hiccup or two.)
check "no exchange stalls on a delayed ACK (>= 30 ms: $slow of 10)" [ "$slow" -le 2 ]

# Errors name the reader.
MYNAHIL_PCSC_WAIT=200 "$bin" apdu --target 'pcsc:^NoSuchReader' </dev/null >/dev/null 2>"$tmp/e1"
st=$?
check "no matching reader: exit 2" [ "$st" = 2 ]
check "no matching reader: names the pattern and the readers" \
	grep -q "no reader matches /^NoSuchReader/ (readers: Virtual PCD 00 00,Virtual PCD 00 01)" "$tmp/e1"
t0=$(date +%s%N)
MYNAHIL_PCSC_WAIT=300 "$bin" apdu --target 'pcsc:Virtual PCD 00 01' </dev/null >/dev/null 2>"$tmp/e2"
st=$? t1=$(date +%s%N)
check "empty reader: exit 2" [ "$st" = 2 ]
check "empty reader: named, and the wait timed out" grep -q "reader 'Virtual PCD 00 01' has no card" "$tmp/e2"
check "empty reader: the wait was bounded by MYNAHIL_PCSC_WAIT (300 ms)" [ $(((t1 - t0) / 1000000)) -lt 3000 ]
"$bin" apdu --target 'pcsc:(' </dev/null >/dev/null 2>"$tmp/e3"
check "bad regex refused" grep -q "not a valid regular expression" "$tmp/e3"
"$bin" apdu --target "pcsc:$READER" --state "$tmp/x" </dev/null >/dev/null 2>"$tmp/e4"
check "--state refused for a pcsc: target" grep -q "describe a simulator" "$tmp/e4"

# A scenario owns the card: while one link holds it, another waits
# (within its deadline) and gets it when the first lets go.
mkfifo "$tmp/hold"
apdus <"$tmp/hold" >"$tmp/hold.out" 2>&1 &
hold_pid=$!
extra_pids=$hold_pid
exec 4>"$tmp/hold"
printf '00A4040C0AD392F000260100000001\n' >&4
wait_log "$tmp/hold.out" 9000 5000
MYNAHIL_PCSC_WAIT=300 "$bin" apdu --target "pcsc:$READER" </dev/null >/dev/null 2>"$tmp/busy"
check "card held by another link: exit 2" [ $? = 2 ]
check "card held by another link: 'in use', reader named" grep -q "the card in reader 'Virtual PCD 00 00' is in use by another program" "$tmp/busy"
printf '00A4040C0AD392F000260100000001\n' | MYNAHIL_PCSC_WAIT=10000 "$bin" apdu --target "pcsc:$READER" \
	>"$tmp/next.out" 2>"$tmp/next.err" 4>&- &
next_pid=$!
extra_pids="$hold_pid $next_pid"
check "a second link says it waits for the card" wait_log "$tmp/next.err" "is in use by another program; waiting up to" 5000
exec 4>&-
wait $hold_pid
wait $next_pid
check "the waiting link gets the card when the holder lets go" [ $? = 0 ]
check "and its command is answered" [ "$(cat "$tmp/next.out")" = 9000 ]
cat "$tmp/next.err" >>"$tmp/apdu.log"
extra_pids=

# The card goes away in the middle of a session: the next command fails
# with an error that names the reader; apdu exits 1.
mkfifo "$tmp/in"
apdus <"$tmp/in" >"$tmp/gone.out" 2>"$tmp/gone.err" &
apdu_pid=$!
extra_pids=$apdu_pid
exec 3>"$tmp/in"
printf '00A4040C0AD392F000260100000001\n' >&3
wait_log "$tmp/gone.out" 9000 5000
check "first command answered" [ "$(cat "$tmp/gone.out")" = 9000 ]
stop_serve
check "serve exits 0 on SIGTERM" [ "$serve_status" = 0 ]
printf '00A4020C020006\n' >&3
exec 3>&-
wait $apdu_pid
check "command after the card left: exit 1" [ $? = 1 ]
check "the error names the reader" grep -q "reader 'Virtual PCD 00 00'" "$tmp/gone.err"
check "with no server, pcscd sees the reader empty" wait_no_card 5000
MYNAHIL_PCSC_WAIT=0 "$bin" apdu --target "pcsc:$READER" </dev/null >/dev/null 2>"$tmp/nocard.err"
check "and the link says so, naming the reader" grep -q "reader 'Virtual PCD 00 00' has no card" "$tmp/nocard.err"

finish
