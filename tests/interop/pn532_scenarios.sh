#!/bin/sh
# The nfc: link, through real libnfc code (pn532_uart), to the software
# PN532 of `mynahil serve pn532`: a JPKI session answers byte for byte
# what sim:card answers (signature included, and openssl verifies it);
# the card scenarios pass unchanged, the sim-only ones are skipped with
# the reason; the link's ATR is the PC/SC part 3 ATR that docs/card.md#atrs
# lists for the card's ATR set; power off makes the card mute, cold brings
# it back.  A reader that stops answering is an error naming the
# connstring, never a hang: frozen (SIGSTOP) it is a timeout after the
# command's timeout, killed it is an I/O error at once, absent the open
# fails.  Needs no root.  Usage: sh pn532_scenarios.sh <mynahil> <source-dir>
set -u
bin=$1 src=$2
command -v nfc-list >/dev/null 2>&1 || { echo "SKIP: libnfc-bin not installed"; exit 77; }

tmp=$(mktemp -d)
pids=
cleanup() {
	st=$?
	for p in $pids; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	if [ "$st" != 0 ]; then
		for f in "$tmp"/*.log; do [ -s "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }; done
	fi
	[ -n "${KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
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
cd "$src" || exit 1

# start_serve NAME [OPTIONS...]: as in nfc_list.sh — ready when its
# start-up lines come through a fifo, within the `timeout`.
start_serve() {
	name=$1
	shift
	mkfifo "$tmp/$name.fifo"
	"$bin" serve pn532 --pty "$tmp/$name" "$@" >"$tmp/$name.fifo" 2>"$tmp/$name.log" &
	serve_pid=$!
	pids="$pids $serve_pid"
	timeout 10 head -n 2 "$tmp/$name.fifo" >"$tmp/$name.out"
}
now_ms() { date +%s%3N; }
unhex() { perl -ne 'chomp; print pack "H*", $_'; }

start_serve card
uri=nfc:pn532_uart:$tmp/card
check "serve pn532 is up" grep -q "PUPI" "$tmp/card.out"

# --- a JPKI session, byte for byte as sim:card answers it ----------------
printf 'signed through libnfc\n' >"$tmp/data"
di=3031300d060960864801650304020105000420$(openssl dgst -sha256 -r "$tmp/data" | cut -c1-64)
cat >"$tmp/session" <<EOS
00A4040C0AD392F000260100000001   # select JPKI AP
00A4020C020006                   # token EF
00B0000020
00A4020C020018                   # auth PIN
00200080                         # tries left
0020008004 31323334              # right PIN
00A4020C020017                   # auth key
802A008033 $di 00                # sign: a 258-byte answer
00A4020C02000A                   # auth certificate
00B0000000                       # 256 bytes a go
00B0010000
00A4040C0AD3921000310001010408   # 入力補助AP
00B0000000                       # nothing selected: an error SW
EOS
"$bin" apdu --target sim:card "$tmp/session" >"$tmp/sim.out" 2>"$tmp/sim.log"
timeout 30 "$bin" apdu --target "$uri" "$tmp/session" >"$tmp/nfc.out" 2>"$tmp/nfc.log"
check "apdu over nfc: exit 0" [ $? = 0 ]
check "13 answers" [ "$(wc -l <"$tmp/nfc.out")" = 13 ]
check "byte for byte what sim:card answers" cmp -s "$tmp/sim.out" "$tmp/nfc.out"
sig=$(sed -n 8p "$tmp/nfc.out")
check "signature: 256 bytes + 9000" [ "${#sig}" = 516 ]
printf '%s\n' "${sig%9000}" | unhex >"$tmp/sig"
openssl x509 -inform DER -in fixtures/pki/alice-auth.der -pubkey -noout >"$tmp/pub.pem"
check "openssl verifies the signature made through libnfc" \
	openssl dgst -sha256 -verify "$tmp/pub.pem" -signature "$tmp/sig" -out /dev/null "$tmp/data"

# --- the card scenarios, unchanged -----------------------------------------
timeout 120 "$bin" run scenarios/card --target "card=$uri" --out "$tmp/r" >"$tmp/run.log" 2>&1
check "card scenarios over nfc: exit 0" [ $? = 0 ]
check "none failed" grep -Eq '^[1-9][0-9]* passed, 0 failed, [0-9]+ skipped$' "$tmp/run.log"
check "CARD-00 (a JPKI session with signing) passed" grep -q '^ok [0-9]* - CARD-00 ' "$tmp/run.log"
nskip=$(grep -c '# SKIP' "$tmp/run.log")
nsim=$(grep -c "# SKIP needs a simulator's insides; card is bound to $uri" "$tmp/run.log")
check "some scenarios skipped ($nskip), each because it needs a simulator" [ "$nskip" -ge 1 ] && [ "$nskip" = "$nsim" ]
nsimonly=$(grep -l 'needs = { "sim" }' scenarios/card/*.lua | wc -l)
check "exactly the sim-only scenarios are skipped ($nsimonly)" [ "$nskip" = "$nsimonly" ]

# --- ATR and power -------------------------------------------------------------
# atr_scenario FILE ATR: what the link's ATR must be, power off and back.
atr_scenario() {
	mkdir -p "$(dirname "$1")"
	cat >"$1" <<EOS
return scenario {
  id = "NFC-LINK", title = "the nfc: link's ATR and power transitions",
  run = function(w)
    local card, sel = w.card, "00A4040C0AD392F000260100000001"
    expect(mynahil.hex(card:atr()), "PC/SC part 3 ATR from the ATQB").is "$2"
    expect(card:transmit(sel)).sw(0x9000)
    expect(card:power "off", "field off").is_true()
    local r, err = card:transmit(sel)
    expect(r == nil, "no answer with the field off").is_true()
    expect(err, "the error says mute").matches "mute"
    expect(err, "the error names the reader").contains(card:uri())
    expect(card:power "cold", "field on, the card selected again").is_true()
    expect(card:transmit(sel)).sw(0x9000)
    expect(mynahil.hex(card:atr()), "the same ATR after a cold reset").is "$2"
  end,
}
EOS
}
# docs/card.md#atrs: 3B 88 80 01 00 00 41 E0 B3 81 A1 00 3B (set opensc-3021, alice).
atr_scenario "$tmp/s1/nfc_link.lua" 3B888001000041E0B381A1003B
timeout 60 "$bin" run "$tmp/s1" --target "card=$uri" --out "$tmp/r1" >"$tmp/atr1.log" 2>&1
check "opensc-3021 card: ATR as docs/card.md#atrs lists it; off is mute, cold is back" [ $? = 0 ]
# ... and 3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F (set pcsc-tools-e0: bob).
start_serve bob --profile fixtures/profiles/bob.lua
atr_scenario "$tmp/s2/nfc_link.lua" 3B888001000005E0B381A1007F
timeout 60 "$bin" run "$tmp/s2" --target "card=nfc:pn532_uart:$tmp/bob" --out "$tmp/r2" >"$tmp/atr2.log" 2>&1
check "pcsc-tools-e0 card: ATR as docs/card.md#atrs lists it" [ $? = 0 ]
# from-card through a contactless reader: the ATQB the ATR was built
# from, never the reader's ATR as the chip's contact ATR.
timeout 60 "$bin" profile from-card --target "nfc:pn532_uart:$tmp/bob" >"$tmp/bob.fields" 2>&1
check "from-card over nfc: the ATQB of set pcsc-tools-e0" grep -qx \
	'  atqb = "000005E0B381A1", -- from the contactless ATR 3B888001000005E0B381A1007F: ATR set pcsc-tools-e0'"'"'s contactless ATR (PC/SC part 3)' \
	"$tmp/bob.fields"
check "from-card over nfc: no atr, no atr_set" sh -c "! grep -q '^  atr' '$tmp/bob.fields'"
kill "$serve_pid"

# --- --state: a miss counted through libnfc survives a restart -----------------
start_serve st --state "$tmp/card.nvm"
printf '00A4040C0AD392F000260100000001\n00A4020C020018\n002000800430303030\n' |
	timeout 20 "$bin" apdu --target "nfc:pn532_uart:$tmp/st" >"$tmp/st1.out" 2>"$tmp/st1.log"
check "a wrong PIN through libnfc: 63C2" [ "$(sed -n 3p "$tmp/st1.out")" = 63C2 ]
kill "$serve_pid"
wait "$serve_pid"
check "SIGTERM: serve exits 0 and saves the state" [ $? = 0 ] && [ -s "$tmp/card.nvm" ]
rm -f "$tmp/st.fifo"
start_serve st --state "$tmp/card.nvm"
printf '00A4040C0AD392F000260100000001\n00A4020C020018\n00200080\n' |
	timeout 20 "$bin" apdu --target "nfc:pn532_uart:$tmp/st" >"$tmp/st2.out" 2>"$tmp/st2.log"
check "after the restart: still 63C2" [ "$(sed -n 3p "$tmp/st2.out")" = 63C2 ]
kill "$serve_pid"

# --- a reader that stops answering ---------------------------------------------
# session_then PREP: one APDU answered, then PREP happens to the reader,
# then another APDU; sets $st (exit status of apdu) and $ms (how long the
# second APDU and the close took).
sel=00A4040C0AD392F000260100000001
session_then() {
	rm -f "$tmp/in" "$tmp/out"
	mkfifo "$tmp/in" "$tmp/out"
	timeout 20 "$bin" apdu --target "$uri" --timeout 1000 <"$tmp/in" >"$tmp/out" 2>"$tmp/dead.log" &
	apdu_pid=$!
	exec 3>"$tmp/in" 4<"$tmp/out"
	echo "$sel" >&3
	read -r first <&4 # the answer, as soon as it comes
	"$@"
	t0=$(now_ms)
	echo "$sel" >&3
	exec 3>&-
	cat <&4 >/dev/null
	exec 4<&-
	wait "$apdu_pid"
	st=$?
	ms=$(($(now_ms) - t0))
}
card_pid=$(echo $pids | cut -d' ' -f1)

session_then kill -STOP "$card_pid"
check "frozen reader: the first APDU was answered" [ "$first" = 9000 ]
check "frozen reader: apdu fails (status $st, not 124: no hang)" [ "$st" = 1 ]
check "frozen reader: a timeout naming the connstring" \
	grep -qF "$uri: exchange: no answer from the reader within 1000 ms" "$tmp/dead.log"
check "frozen reader: over in seconds ($ms ms)" [ "$ms" -lt 6000 ]
kill -CONT "$card_pid"

session_then kill "$card_pid"
wait "$card_pid" 2>/dev/null
check "killed reader: the first APDU was answered" [ "$first" = 9000 ]
check "killed reader: apdu fails (status $st, not 124: no hang)" [ "$st" = 1 ]
check "killed reader: an error naming the connstring" \
	grep -qF "$uri: exchange: reader stopped answering" "$tmp/dead.log"
check "killed reader: over at once ($ms ms)" [ "$ms" -lt 3000 ]

t0=$(now_ms)
timeout 20 "$bin" apdu --target "$uri" </dev/null >/dev/null 2>"$tmp/absent.log"
st=$?
ms=$(($(now_ms) - t0))
check "no reader: apdu exits 2 (status $st)" [ "$st" = 2 ]
check "no reader: the error names the connstring" grep -qF "cannot open reader pn532_uart:$tmp/card" "$tmp/absent.log"
check "no reader: over at once ($ms ms)" [ "$ms" -lt 3000 ]

start_serve frozen
kill -STOP "$serve_pid"
t0=$(now_ms)
timeout 20 "$bin" apdu --target "nfc:pn532_uart:$tmp/frozen" </dev/null >/dev/null 2>"$tmp/frozen.log"
st=$?
ms=$(($(now_ms) - t0))
kill -CONT "$serve_pid"
check "frozen at open: apdu exits 2 (status $st)" [ "$st" = 2 ]
check "frozen at open: the error names the connstring" grep -qF "pn532_uart:$tmp/frozen" "$tmp/frozen.log"
check "frozen at open: over in seconds ($ms ms)" [ "$ms" -lt 6000 ]

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
