#!/bin/sh
# mynahil readers: the PC/SC readers pcscd knows, with the card in each
# (present: its ATR and its ATR set; else "no card"), and the
# devices libnfc finds, each line starting with the target URI that
# reaches it — the URI printed opens the card.  A pcscd that does not
# answer (stopped with SIGSTOP) is said within the --timeout, not waited
# for; no pcscd at all is said too.  And a partial card profile on a
# card behind pcscd: the scenarios that read a field it does not give
# skip naming the field, the others run; a misspelt field is exit 2
# before any scenario.
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/pcscd.sh"
interop_enter "$0" "$@"
# libnfc: only the device named here, no USB or serial scan of the machine
export LIBNFC_AUTO_SCAN=false LIBNFC_INTRUSIVE_SCAN=false
unset LIBNFC_DEVICE

start_pcscd
start_serve
check "the served card appears" wait_card 10000
cd "$src" || exit 1

"$bin" readers --timeout 5000 >"$tmp/r1.out" 2>"$tmp/r1.log"
check "readers: exit 0 with a reader" [ $? = 0 ]
check "the reader, its URI first, a card present with its ATR and its set" \
	grep -q "^pcsc:$READER  *PC/SC reader '$READER': card present, ATR 3BDA13FF8131FB468012392F31C173C601C03B (a My Number card, ATR set opensc-3021: OpenSC issue #3021)$" "$tmp/r1.out"
check "no libnfc device (none named, no scan)" grep -q '^libnfc: no devices' "$tmp/r1.out"
uri=$(sed -n "s/^\(pcsc:[^ ]*\( [^ ]\+\)*\)  *PC\/SC reader '$READER'.*/\1/p" "$tmp/r1.out")
printf '00A4040C0AD392F000260100000001\n' | "$bin" apdu --target "$uri" >"$tmp/apdu.out" 2>&1
check "the URI readers printed ($uri) reaches the card" [ "$(cat "$tmp/apdu.out")" = 9000 ]

# a pn532 on a pty, named to libnfc as LIBNFC_DEVICE names a real one
mkfifo "$tmp/pn.fifo"
"$bin" serve pn532 --pty "$tmp/pn" >"$tmp/pn.fifo" 2>"$tmp/pn.log" &
extra_pids="$extra_pids $!"
timeout 10 head -n 2 "$tmp/pn.fifo" >"$tmp/pn.out"
LIBNFC_DEVICE="pn532_uart:$tmp/pn" "$bin" readers >"$tmp/r2.out" 2>"$tmp/r2.log"
check "readers lists the libnfc device with its URI" grep -q "^nfc:pn532_uart:$tmp/pn  *libnfc device '" "$tmp/r2.out"
check "and still the PC/SC reader" grep -q "^pcsc:$READER " "$tmp/r2.out"

# the card leaves: the reader stays, empty
stop_serve
wait_no_card 10000
"$bin" readers >"$tmp/r3.out" 2>&1
check "an empty reader: 'no card'" grep -q "^pcsc:$READER  *PC/SC reader '$READER': no card$" "$tmp/r3.out"

# a pcscd that accepts and never answers: said within the timeout
kill -STOP "$pcscd_pid"
t0=$(date +%s)
"$bin" readers --timeout 1000 >"$tmp/r4.out" 2>&1
t1=$(date +%s)
kill -CONT "$pcscd_pid"
check "a mute pcscd: said within the timeout" grep -q '^PC/SC: no answer within 1000 ms' "$tmp/r4.out"
check "a mute pcscd: not waited for ($((t1 - t0)) s)" [ $((t1 - t0)) -le 5 ]

# a partial profile of the card in the reader: only the auth PIN known
start_serve
check "the served card is back" wait_card 10000
printf 'return { atr_set = "opensc-3021", pins = { auth = "1234" } }\n' >"$tmp/partial.lua"
"$bin" run scenarios/card --target "pcsc:$READER?profile=$tmp/partial.lua" --out "$tmp/p" >"$tmp/p.log" 2>&1
check "a partial profile: the run passes (what it cannot run skips)" [ $? = 0 ]
check "CARD-00 (the auth PIN) runs and passes" grep -q '^ok .* CARD-00 [^#]*$' "$tmp/p.log"
check "CARD-01 skips: the profile gives no pins.sign" \
	grep -q "CARD-01 .*# SKIP the card profile $tmp/partial.lua gives no pins.sign" "$tmp/p.log"
check "CARD-03 skips on a real link (needs the simulator)" grep -q "CARD-03 .*# SKIP needs a simulator's insides" "$tmp/p.log"
printf 'return { pins = { auht = "1234" } }\n' >"$tmp/typo.lua"
"$bin" run scenarios/card --target "pcsc:$READER?profile=$tmp/typo.lua" --out "$tmp/t" >"$tmp/t.log" 2>&1
check "a misspelt field of a partial profile: exit 2" [ $? = 2 ]
check "... naming the field" grep -q "auht" "$tmp/t.log"

# no pcscd at all
stop_serve
stop_pcscd
"$bin" readers --timeout 2000 >"$tmp/r5.out" 2>&1
check "no pcscd, no device: exit 1" [ $? = 1 ]
check "no pcscd: said" grep -q '^PC/SC: no pcscd to ask' "$tmp/r5.out"

finish
