#!/bin/sh
# In from the field (docs/traces.md): captures made here with the real
# tools against `serve card` — OpenSC's debug log (OPENSC_DEBUG=9) of
# pkcs11-tool signing, with a wrong PIN first, and pcsc-spy's log of
# opensc-tool and pkcs15-tool (OpenSC's provider_library set to
# libpcscspy, as pcsc-spy's manual says for programs that dlopen
# libpcsclite) — import, replay strictly against the simulator with no
# difference, and with the simulator changed on purpose the difference is
# reported at the right APDU: a wrong PIN that spends no try (mutation
# pin_free) at the first wrong VERIFY, another holder's card (bob.lua) at
# the first read of the certificate.
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/pcscd.sh"
interop_enter "$0" "$@"

for tool in pkcs11-tool opensc-tool pkcs15-tool pcsc-spy; do
	command -v $tool >/dev/null 2>&1 || { echo "SKIP: $tool not installed (opensc, libpcsclite-dev)"; exit $SKIP; }
done
module= spylib=
for m in /usr/lib/*/opensc-pkcs11.so /usr/lib/*/pkcs11/opensc-pkcs11.so; do
	[ -f "$m" ] && { module=$m; break; }
done
for m in /usr/lib/*/libpcscspy.so.0 /usr/lib/libpcscspy.so.0; do
	[ -f "$m" ] && { spylib=$m; break; }
done
[ -n "$module" ] || { echo "SKIP: opensc-pkcs11.so not found"; exit $SKIP; }
[ -n "$spylib" ] || { echo "SKIP: libpcscspy.so.0 not found (libpcsclite-dev)"; exit $SKIP; }
export HOME="$tmp/home"
has() { grep -q -- "$1" "$2"; }
mkdir -p "$HOME"

start_pcscd
start_serve
check "the served card appears" wait_card 10000

# OpenSC's log: a wrong PIN, then a signature.
printf 'a document\n' >"$tmp/data"
OPENSC_DEBUG=9 pkcs11-tool --module "$module" --slot-index 0 --login --pin 0000 --sign --mechanism SHA256-RSA-PKCS \
	--id 01 --input-file "$tmp/data" --output-file "$tmp/sig0" >/dev/null 2>"$tmp/opensc.txt"
OPENSC_DEBUG=9 pkcs11-tool --module "$module" --slot-index 0 --login --pin 1234 --sign --mechanism SHA256-RSA-PKCS \
	--id 01 --input-file "$tmp/data" --output-file "$tmp/sig" >/dev/null 2>>"$tmp/opensc.txt"
check "pkcs11-tool signed" [ -s "$tmp/sig" ]
"$bin" trace import "$tmp/opensc.txt" -o "$tmp/opensc.jsonl" 2>"$tmp/imp.log"
check "OpenSC log imported" [ $? = 0 ]
n=$(grep -c '"cmd"' "$tmp/opensc.jsonl")
check "as many exchanges as the log's Outgoing APDU blocks ($n)" [ "$n" = "$(grep -c '^Outgoing APDU' "$tmp/opensc.txt")" ] && [ "$n" -gt 20 ]
check "the reader named as the link" has '"link":"opensc:Virtual PCD 00 00"' "$tmp/opensc.jsonl"
check "the wrong PIN is in it, answered 63C2" has '"cmd":"002000800430303030","rsp":"63C2"' "$tmp/opensc.jsonl"
check "the signature is in it" sh -c "grep -q '\"cmd\":\"802A0080' '$tmp/opensc.jsonl'"

# Strictly against the simulator: the trace's commands in order, every
# response as recorded (the served card and sim:card are the same card).
"$bin" trace check "$tmp/opensc.txt" --target sim:card >"$tmp/check.out"
check "trace check of the OpenSC log against sim:card: exit 0" [ $? = 0 ]
check "  every response as recorded" grep -q "$n exchanges, every response as recorded" "$tmp/check.out"

# Changed on purpose: a wrong PIN spends no try.
wrong=$(awk '/"cmd"/ { k++ } /"cmd":"002000800430303030"/ { print k; exit }' "$tmp/opensc.jsonl")
wline=$(sed -n "s/.*\"cmd\":\"002000800430303030\".*\"at\":\"line \([0-9]*\)\".*/\1/p" "$tmp/opensc.jsonl" | head -n 1)
"$bin" trace check "$tmp/opensc.txt" --target sim:card --mutate pin_free >"$tmp/mut.out" 2>&1
check "under mutation pin_free: exit 1" [ $? = 1 ]
check "  the first difference at the wrong VERIFY, exchange $wrong, log line $wline" \
	sh -c "grep '^exchange' '$tmp/mut.out' | head -n 1 | grep -q '^exchange $wrong (line $wline): 002000800430303030\$'"
check "  status words first: recorded 63C2, target 63C3" \
	sh -c "grep -A1 '^exchange $wrong ' '$tmp/mut.out' | grep -q 'SW: recorded 63C2, target 63C3'"
check "  the log line is the wrong PIN's Outgoing APDU block" \
	sh -c "sed -n '$((wline + 1))p' '$tmp/opensc.txt' | grep -q '^00 20 00 80 04 30 30 30 30'"
# Another holder's card: the certificate differs at its first read.
# (its first 4 bytes, the DER header, are the same length for both: the
# first read that differs is the first one of the certificate's body)
cert=$(awk '/"cmd"/ { k++ } /"cmd":"00A4020C02000A"/ { on = 1; next }
	on && /"cmd":"00B0/ { r = $0; sub(/.*"rsp":"/, "", r); sub(/".*/, "", r); if (length(r) > 12) { print k; exit } }' \
	"$tmp/opensc.jsonl")
"$bin" trace check "$tmp/opensc.txt" --target "sim:card?profile=$src/fixtures/profiles/bob.lua" >"$tmp/bob.out"
check "against bob's card: exit 1" [ $? = 1 ]
check "  the first difference at the first READ BINARY of the body of EF 000A, exchange $cert" \
	sh -c "grep '^exchange' '$tmp/bob.out' | head -n 1 | grep -q '^exchange $cert (line [0-9]*): 00B0'"

# pcsc-spy: its raw log through the FIFO, and pcsc-spy's own output of it.
mkfifo "$HOME/pcsc-spy"
cat "$HOME/pcsc-spy" >"$tmp/spy.raw" &
cat_pid=$!
extra_pids="$extra_pids $cat_pid"
printf 'app default {\n reader_driver pcsc {\n  provider_library = %s;\n }\n}\n' "$spylib" >"$tmp/spy.conf"
OPENSC_CONF=$tmp/spy.conf pkcs15-tool --read-certificate 01 >"$tmp/cert.pem" 2>>"$tmp/spy.log"
check "pkcs15-tool under the spy read the certificate" [ -s "$tmp/cert.pem" ]
wait "$cat_pid"
pcsc-spy -n "$tmp/spy.raw" >"$tmp/spy.txt" 2>>"$tmp/spy.log"
check "pcsc-spy decoded its log" grep -q '^SCardTransmit' "$tmp/spy.txt"
"$bin" trace import "$tmp/spy.txt" -o "$tmp/spy.jsonl" 2>>"$tmp/imp.log"
check "pcsc-spy output imported" [ $? = 0 ]
"$bin" trace import "$tmp/spy.raw" -o "$tmp/spyraw.jsonl" 2>>"$tmp/imp.log"
check "pcsc-spy raw log imported" [ $? = 0 ]
ns=$(grep -c '"cmd"' "$tmp/spy.jsonl")
check "as many exchanges as SCardTransmit calls ($ns)" [ "$ns" = "$(grep -c '^SCardTransmit' "$tmp/spy.txt")" ] && [ "$ns" -gt 5 ]
pairs() { sed -n 's/.*"cmd":"\([^"]*\)","rsp":"\([^"]*\)".*/\1 \2/p' "$1"; }
check "raw log and pcsc-spy's output give the same exchanges" [ "$(pairs "$tmp/spy.jsonl")" = "$(pairs "$tmp/spyraw.jsonl")" ]
"$bin" trace check "$tmp/spy.txt" --target sim:card >"$tmp/spycheck.out"
check "trace check of the pcsc-spy log against sim:card: exit 0" [ $? = 0 ]
"$bin" trace check "$tmp/spy.txt" --target "sim:card?profile=$src/fixtures/profiles/bob.lua" >"$tmp/spybob.out"
check "against bob's card: differences" [ $? = 1 ]
check "  reported with both responses" sh -c "grep -q '^  recorded: ' '$tmp/spybob.out' && grep -q '^  target:   ' '$tmp/spybob.out'"
finish
