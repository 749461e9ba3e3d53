#!/bin/sh
# Replay (docs/traces.md): the replay:FILE link plays the card side of a
# trace — strict (the first divergence named with its index and both
# commands) or lookup (the first matching command ahead) — and masks
# leave out what legitimately varies; `trace check` sends a trace's
# commands to a target and reports each response that differs, status
# words first, at the right exchange when the simulator is changed on
# purpose (a mutation switch); bad input is refused with file:line.
set -u
. "$2/tests/cli/lib/check.sh"

"$bin" run "$src/scenarios/card/00_session.lua" "$src/scenarios/card/03_lockout.lua" --out "$tmp/a" >/dev/null 2>&1
check "recorded runs pass" [ $? = 0 ]
t0=$tmp/a/traces/CARD-00.jsonl t3=$tmp/a/traces/CARD-03.jsonl

# A scenario against its own trace: every command as recorded.
"$bin" run "$src/scenarios/card/00_session.lua" --out "$tmp/b" --target "card=replay:$t0" >"$tmp/b.log" 2>&1
check "CARD-00 against replay of its trace: passes" [ $? = 0 ]
pairs() { sed -n 's/.*"cmd":"\([^"]*\)","rsp":"\([^"]*\)".*/\1 \2/p' "$1"; }
check "and sends and gets exactly what was recorded" [ "$(pairs "$tmp/b/traces/CARD-00.jsonl")" = "$(pairs "$t0")" ]
"$bin" run "$src/scenarios/card/01_certificates.lua" --out "$tmp/c" --target "card=replay:$t0" >"$tmp/c.log" 2>&1
check "another scenario against it fails" [ $? = 1 ]
second=$(pairs "$t0" | sed -n 2p | cut -d' ' -f1)
check "naming exchange 2, the line, and both commands" \
	grep -q "replay diverges at exchange 2 (line 2): sent 00A4020C02000A, the trace has $second" "$tmp/c.log"

# Strict, by hand: the first divergence, then every command refused.
first=$(pairs "$t0" | sed -n 1p | cut -d' ' -f1)
printf '%s\n00A4020C020018\n%s\n' "$first" "$second" | "$bin" apdu --target "replay:$t0" >"$tmp/s.out" 2>"$tmp/s.err"
check "strict: the first command answered as recorded" [ "$(sed -n 1p "$tmp/s.out")" = "$(pairs "$t0" | sed -n 1p | cut -d' ' -f2)" ]
check "strict: divergence at exchange 2 with both sides" \
	grep -q "<stdin>:2: replay:$t0: replay diverges at exchange 2 (line 2): sent 00A4020C020018, the trace has $second" "$tmp/s.err"
check "strict: after a divergence, nothing is answered" grep -q "<stdin>:3: .*replay diverges at exchange 2" "$tmp/s.err"

# Lookup: commands skipped, answered from the first match ahead.
n=$(pairs "$t0" | wc -l)
c4=$(pairs "$t0" | sed -n 4p) c6=$(pairs "$t0" | sed -n 6p)
printf '%s\n%s\n' "${c4% *}" "${c6% *}" | "$bin" apdu --target "replay:$t0?mode=lookup" >"$tmp/l.out" 2>"$tmp/l.err"
check "lookup: answers exchanges 4 and 6 ($n in the trace)" [ "$(cat "$tmp/l.out")" = "$(printf '%s\n%s' "${c4#* }" "${c6#* }")" ]

# Masks: two SCP03 sessions and a signature that differ where they may.
kdd=00010203040506070809
mk() { # $1 host challenge, $2 card challenge, $3 cryptograms+MAC byte, $4 signature byte
	printf '{"n":1,"link":"x","cmd":"805030000811111111%s00","rsp":"%s300370%s%s0000019000"}\n' "$1" "$kdd" "$2" "$3$3$3$3$3$3$3$3"
	printf '{"n":2,"link":"x","cmd":"8482030010%s","rsp":"9000"}\n' "$(printf "$3%.0s" 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)"
	printf '{"n":3,"link":"x","cmd":"84E2880010%s","rsp":"9000"}\n' "$(printf "$3%.0s" 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)"
	printf '{"n":4,"link":"x","cmd":"802A00800401020304","rsp":"%s9000"}\n' "$(printf "$4%.0s" 1 2 3 4 5 6 7 8)"
}
mk 22222222 0102030405060708 AA 11 >"$tmp/m1.jsonl"
mk 33333333 0807060504030201 BB 22 >"$tmp/m2.jsonl"
"$bin" trace check "$tmp/m2.jsonl" --target "replay:$tmp/m1.jsonl" >"$tmp/m.out" 2>&1
check "no mask: the replay refuses the other session (exit 1)" [ $? = 1 ]
check "  at exchange 1" grep -q "^exchange 1 (line 1)" "$tmp/m.out"
"$bin" trace check "$tmp/m2.jsonl" --target "replay:$tmp/m1.jsonl?mask=challenge,cryptogram,mac,sm" >"$tmp/m.out" 2>&1
check "commands masked, responses not: the IU answer and the signature differ" \
	sh -c "[ \$(grep -c '^exchange' '$tmp/m.out') = 2 ] && grep -q '^exchange 1 ' '$tmp/m.out' && grep -q '^exchange 4 ' '$tmp/m.out'"
check "  SW first: both 9000, the data differ" grep -q "SW: 9000 both; the data differ" "$tmp/m.out"
"$bin" trace check "$tmp/m2.jsonl" --target "replay:$tmp/m1.jsonl?mask=challenge,cryptogram,mac,sm" \
	--mask challenge,cryptogram,signature >"$tmp/m.out" 2>&1
check "all masked: no difference (exit 0)" [ $? = 0 ]
"$bin" trace check "$tmp/m2.jsonl" --target "replay:$tmp/m1.jsonl?mask=challenge,cryptogram,mac" \
	--mask all >"$tmp/m.out" 2>&1
check "mac alone does not cover encrypted data: divergence at exchange 3" grep -q "diverges at exchange 3" "$tmp/m.out"

printf '84E2880010%s\n8050300008111111112222222200\n' "$(printf "AA%.0s" 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)" |
	"$bin" apdu --target "replay:$tmp/m1.jsonl?mode=lookup" >/dev/null 2>"$tmp/l.err"
check "lookup: nothing behind the position" \
	grep -q "no command from exchange 4 of the trace on matches 8050300008111111112222222200" "$tmp/l.err"

# trace check against the simulator.
"$bin" trace check "$t3" --target sim:card >"$tmp/k.out"
check "check of a trace against the card that made it: exit 0" [ $? = 0 ]
check "  every response as recorded" grep -q "every response as recorded" "$tmp/k.out"
"$bin" trace check "$t3" --target sim:card --mutate pin_free >"$tmp/k.out" 2>&1
check "the same with a wrong PIN spending no try: exit 1" [ $? = 1 ]
want=$(awk '/"cmd"/ { n++ } /"cmd":"0020008004[^"]*","rsp":"63C2"/ { print n; exit }' "$t3")
check "  first difference at the first wrong PIN, exchange $want" \
	sh -c "grep '^exchange' '$tmp/k.out' | head -n 1 | grep -q '^exchange $want (line $want): 0020008004'"
check "  status words first: recorded 63C2, target 63C3" \
	sh -c "sed -n 2p '$tmp/k.out' | grep -q 'SW: recorded 63C2, target 63C3'"
r1=$(printf '0084000008\n' | "$bin" apdu --target sim:card --seed 1)
printf '{"n":1,"link":"sim:card","cmd":"0084000008","rsp":"%s"}\n' "$r1" >"$tmp/ch.jsonl"
"$bin" trace check "$tmp/ch.jsonl" --target sim:card --seed 2 >/dev/null
check "GET CHALLENGE under another seed differs" [ $? = 1 ]
"$bin" trace check "$tmp/ch.jsonl" --target sim:card --seed 2 --mask challenge >/dev/null
check "  not with --mask challenge" [ $? = 0 ]

# Refusals.
usage2() { "$bin" "$@" >/dev/null 2>"$tmp/e"; [ $? = 2 ]; }
check "replay ?mode=fast: exit 2 naming strict or lookup" sh -c "printf '00A4000000\n' | '$bin' apdu --target 'replay:$t0?mode=fast' 2>'$tmp/e' >/dev/null; [ \$? = 2 ] && grep -q 'strict or lookup' '$tmp/e'"
check "replay ?mask=chalenge: names the masks" sh -c "printf '00A4000000\n' | '$bin' apdu --target 'replay:$t0?mask=chalenge' 2>'$tmp/e' >/dev/null; grep -q \"unknown mask 'chalenge' (the masks: challenge,\" '$tmp/e'"
check "replay ?mdoe=: the valid keys" sh -c "printf '00A4000000\n' | '$bin' apdu --target 'replay:$t0?mdoe=lookup' 2>'$tmp/e' >/dev/null; grep -q 'mdoe' '$tmp/e' && grep -q 'mode' '$tmp/e'"
check "trace check without --target: exit 2" usage2 trace check "$t0"
check "trace import --format pcsc: exit 2" usage2 trace import "$t0" --format pcsc
check "  naming the formats" grep -q "the formats: opensc, pcsc-spy" "$tmp/e"
check "trace frob: exit 2" usage2 trace frob
printf '{"n":1,"cmd":"00A4"}\n{"n":2,"cmd":"00A40000","rsp":"9000"}\n{"n":3,oops}\n' >"$tmp/bad.jsonl"
check "a bad JSON line: exit 2" usage2 trace import "$tmp/bad.jsonl"
check "  file:line: what" grep -q "bad.jsonl:1: \"cmd\" shorter than an APDU header" "$tmp/e"
printf 'P:1; T:0x1 00:00:00.000 [t] reader-pcsc.c:325:pcsc_transmit: reader '"'"'R'"'"'\nOutgoing APDU (12 bytes):\n00 A4 04 00 07 62 76 01 ........\n\n' >"$tmp/short.log"
check "an OpenSC dump shorter than its header: exit 2" usage2 trace import "$tmp/short.log"
check "  file:line of the header" grep -q "short.log:2: the dump gives 8 of the 12 bytes its header announces" "$tmp/e"
# OpenSC before 0.20 wrote its dumps between rules.
printf '0x7f reader-pcsc.c:198:pcsc_transmit: \nOutgoing APDU data [   15 bytes] =====\n00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01 ...............\n=====\n0x7f reader-pcsc.c:287:pcsc_transmit: \nIncoming APDU data [    2 bytes] =====\n90 00 ..\n=====\n' >"$tmp/old.log"
check "an OpenSC 0.19 log: imported" sh -c "'$bin' trace import '$tmp/old.log' 2>/dev/null | grep -q '\"cmd\":\"00A4040C0AD392F000260100000001\",\"rsp\":\"9000\"'"
"$bin" run "$src/scenarios/card/00_session.lua" --out "$tmp/p" --trace pcapng >/dev/null 2>&1
head -c 200 "$tmp/p/traces/CARD-00.pcapng" >"$tmp/cut.pcapng"
check "a truncated pcapng: exit 2" usage2 trace import "$tmp/cut.pcapng"
check "  naming the frame and why" grep -q "cut.pcapng#[0-9]*: .*truncated" "$tmp/e"
finish
