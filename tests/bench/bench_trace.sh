#!/bin/sh
# make bench (tests/bench/run.sh): trace import of a 100,000-exchange
# capture (issue 13's speed figure), in each field format.  The logs are
# made here in the shape the real tools write (tests/interop/
# trace_import.sh imports the real tools' own logs): OpenSC's
# "Outgoing/Incoming APDU" blocks among its other debug lines, pcsc-spy's
# SCardTransmit blocks, and a pcapng of ISO 14443 written by `trace export`.
# Prints "FORMAT EXCHANGES WALL-S CPU-S BYTES" per format.
# Usage: sh bench_trace.sh MYNAHIL [N]
set -eu
bin=$1 n=${2:-100000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A session's worth of varied exchanges: SELECT, VERIFY, READ BINARY of
# 16..240 bytes, a signature of 256 bytes.
awk -v n="$n" 'function hex(k,   s, i) { s = ""; for (i = 0; i < k; i++) s = s sprintf("%02X", (i * 7 + k) % 256); return s }
function dump(label, h,   i, b, line, len) {
	len = length(h) / 2
	printf "P:4242; T:0x7f0000001000 12:00:00.%03d [pkcs11-tool] reader-pcsc.c:326:pcsc_transmit: \n%s APDU (%d bytes):\n", NR % 1000, label, len
	line = ""
	for (i = 0; i < len; i++) {
		line = line substr(h, 2 * i + 1, 2) " "
		if (i % 16 == 15 || i == len - 1) { printf "%-48s................\n", line; line = "" }
	}
	print ""
}
BEGIN {
	for (k = 0; k < n; k++) {
		m = k % 4
		if (m == 0) { c = "00A4020C020018"; r = "9000" }
		else if (m == 1) { c = "002000800431323334"; r = "9000" }
		else if (m == 2) { l = 16 + (k % 225); c = sprintf("00B00000%02X", l); r = hex(l) "9000" }
		else { c = "802A0080" "33" hex(51) "00"; r = hex(256) "9000" }
		printf "P:4242; T:0x7f0000001000 12:00:00.000 [pkcs11-tool] apdu.c:367:sc_single_transmit: CLA:0, INS:A4, P1:2, P2:C, data(2) 0x55\n"
		printf "P:4242; T:0x7f0000001000 12:00:00.000 [pkcs11-tool] reader-pcsc.c:325:pcsc_transmit: reader '"'"'Virtual PCD 00 00'"'"'\n"
		dump("Outgoing", c)
		printf "P:4242; T:0x7f0000001000 12:00:00.000 [pkcs11-tool] reader-pcsc.c:244:pcsc_internal_transmit: called\n"
		dump("Incoming", r)
	}
}' >"$tmp/opensc.log"
"$bin" trace import "$tmp/opensc.log" -o "$tmp/t.jsonl" 2>/dev/null
"$bin" trace export "$tmp/t.jsonl" -o "$tmp/t.pcapng"
# pcsc-spy -n's layout of the same exchanges
sed -n 's/.*"cmd":"\([^"]*\)","rsp":"\([^"]*\)".*/\1 \2/p' "$tmp/t.jsonl" | awk '
function dump(d, h,   i, len, line, off) {
	len = length(h) / 2; line = ""; off = 0
	for (i = 0; i < len; i++) {
		line = line " " substr(h, 2 * i + 1, 2)
		if (i % 16 == 15 || i == len - 1) { printf " %s  %04X%s\n", d, off, line; line = ""; off += 16 }
	}
}
{
	print "SCardTransmit"; print " i hCard: 0x0EAAB349"; print " i pioSendPci.dwProtocol: 0x00000002"
	printf " i bSendLength 0x%08X (%d)\n i bSendBuffer\n", length($1) / 2, length($1) / 2; dump("i", $1)
	printf " o bRecvLength 0x%08X (%d)\n o bRecvBuffer\n", length($2) / 2, length($2) / 2; dump("o", $2)
	print " => Command successful. (SCARD_S_SUCCESS [0x00000000])  [0.000100]"
}' >"$tmp/spy.txt"

# CPU time from the shell's `times` (children's user + system): the
# machine may be shared, and wall time then says more about the others.
for f in opensc.log spy.txt t.pcapng; do
	t0=$(date +%s%N)
	cpu=$(sh -c '"$1" trace import "$2" -o "$3" 2>/dev/null; times' sh "$bin" "$tmp/$f" "$tmp/out.jsonl" |
		tail -n 1 | awk '{ split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.3f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
	t1=$(date +%s%N)
	got=$(grep -c '"cmd"' "$tmp/out.jsonl")
	echo "$f $got $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }') $cpu $(wc -c <"$tmp/$f")"
done
