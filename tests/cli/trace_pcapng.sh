#!/bin/sh
# Traces people can open (docs/traces.md): `run --trace pcapng` writes
# traces/ID.pcapng beside traces/ID.jsonl, which Debian's tshark decodes
# without plug-ins — link type 264, each packet the 4-byte pseudo-header
# (00, FE reader->card / FF card->reader, big-endian length) and an
# I-block with a right CRC_B, one named interface per role — and names the
# ISO 7816 commands; JSON lines carry the role, and under SCP03 the plain
# command beside the wrapped one; export/import round trips, as ISO 14443
# and as USB CCID, through files tshark itself rewrote.
set -u
. "$2/tests/cli/lib/check.sh"
command -v tshark >/dev/null 2>&1 || { echo "FAIL: tshark not installed (scripts/deps.sh installs it)"; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "FAIL: python3 not installed"; exit 1; }
ts() { tshark "$@" 2>/dev/null; }
dec="-d iso14443.subdissector,iso7816"

"$bin" run "$src/scenarios/card" "$src/scenarios/tsm/00_issue.lua" --out "$tmp/out" --trace pcapng >"$tmp/run.log" 2>&1
check "run --trace pcapng passes" [ $? = 0 ]
for j in "$tmp"/out/traces/*.jsonl; do
	check "$(basename "$j" .jsonl): a pcapng beside its JSON lines" [ -s "${j%.jsonl}.pcapng" ]
done
card=$tmp/out/traces/CARD-03.pcapng
issue=$(ls "$tmp"/out/traces/TSM-00*.pcapng | head -n 1)

check "capinfos: ISO 14443 encapsulation" sh -c "capinfos -E '$card' | grep -q 'ISO 14443'"
# The bytes, read without Wireshark: SHB, IDB with link type 264 and a
# name, EPBs of pseudo-header + I-block + CRC_B.
cat >"$tmp/frames.py" <<'EOF'
import struct, sys
def crc_b(d):
    c = 0xFFFF
    for b in d:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ 0x8408 if c & 1 else c >> 1
    return (~c) & 0xFFFF
buf = open(sys.argv[1], 'rb').read()
o, names, bad, n = 0, [], 0, 0
while o < len(buf):
    t, l = struct.unpack_from('<II', buf, o)
    b = buf[o + 8:o + l - 4]
    if t == 1:
        lt = struct.unpack_from('<H', b, 0)[0]
        if lt != 264: bad += 1
        p = 8
        while p + 4 <= len(b):
            c, ln = struct.unpack_from('<HH', b, p)
            if c == 0: break
            if c == 2: names.append(b[p + 4:p + 4 + ln].decode())
            p += 4 + ln + (4 - ln % 4) % 4
    elif t == 6:
        cap = struct.unpack_from('<I', b, 12)[0]
        d = b[20:20 + cap]
        ver, ev, ln = d[0], d[1], struct.unpack('>H', d[2:4])[0]
        f = d[4:]
        n += 1
        if ver != 0 or ev not in (0xFE, 0xFF, 0xFC, 0xFD) or ln != len(f): bad += 1
        elif ln and (f[0] & 0xE2 != 0x02 or struct.unpack('<H', f[-2:])[0] != crc_b(f[:-2])): bad += 1
    o += l
print(n, bad, ','.join(names))
EOF
set -- $(python3 "$tmp/frames.py" "$card")
check "CARD-03: packets, every one a well-formed pseudo-header + I-block + CRC_B ($2 bad)" [ "$1" -gt 10 ] && [ "$2" = 0 ]
check "CARD-03: one interface, named card" [ "$3" = card ]
set -- $(python3 "$tmp/frames.py" "$issue")
check "issuance: interfaces named card and se" [ "$3" = card,se ] && [ "$2" = 0 ]

# tshark names the commands: as README shows it.
for f in "$tmp"/out/traces/CARD-*.pcapng; do ts -r "$f" $dec; done >"$tmp/card.txt"
check "tshark: Select file" has "Select file" "$tmp/card.txt"
check "tshark: Verify" has "Verify" "$tmp/card.txt"
check "tshark: Read binary" has "Read binary" "$tmp/card.txt"
check "tshark: Response APDU" has "Response APDU" "$tmp/card.txt"
ts -r "$card" $dec -T fields -E separator='|' -e iso14443.event -e _ws.col.Protocol -e iso7816.apdu.cla -e _ws.col.Info >"$tmp/fields.txt"
check "every exchange dissected as ISO 7816" sh -c "! grep '^0xf[ef]|' '$tmp/fields.txt' | grep -v '|ISO 7816|' | grep -q ."
check "power as the field going on" grep -q '^0xfc|ISO 14443||Field on' "$tmp/fields.txt"
check "every interindustry command named" sh -c "! awk -F'|' '\$1 == \"0xfe\" && \$3 ~ /^0x0/ && \$4 == \"\"' '$tmp/fields.txt' | grep -q ."
check "every answer a Response APDU" sh -c "! awk -F'|' '\$1 == \"0xff\" && \$4 !~ /^Response APDU/' '$tmp/fields.txt' | grep -q ."
njson=$(grep -c '"cmd"' "$tmp/out/traces/CARD-03.jsonl")
check "as many commands in the pcapng as in the JSON lines ($njson)" [ "$(grep -c '^0xfe|' "$tmp/fields.txt")" = "$njson" ]
check "timestamps rise" sh -c "tshark -r '$card' -T fields -e frame.time_delta 2>/dev/null | grep -q '^-' && exit 1 || exit 0"

# JSON lines: the role; SCP03's plain command beside the wrapped one.
check "JSON lines name the role" has '"role":"card"' "$tmp/out/traces/CARD-03.jsonl"
ij=${issue%.pcapng}.jsonl
check "issuance: SE records are role se" has '"role":"se"' "$ij"
check "issuance: a wrapped INSTALL shows its plain form" sh -c "grep '\"cmd\":\"84E6' '$ij' | grep -q '\"plain\":\"80E6'"
check "issuance: wrapped STORE DATA plain (80E2)" sh -c "grep -q '\"cmd\":\"84E2[^\"]*\",\"rsp\":\"[^\"]*\",\"role\":\"se\",\"plain\":\"80E2' '$ij'"
check "report.html: the wrapped STORE DATA named, its plain command beside it" \
	grep -q 'DGI 0[0-9]*[^"]*SCP03-wrapped; the plain command: 80E2' "$tmp/out/report.html"
check "no JSON line holds a time" sh -c "! grep -q '\"t\|time' '$ij'"
"$bin" trace show "$ij" >"$tmp/show.txt"
check "trace show: wire and plain side by side" sh -c "grep -q '^ *wire  84' '$tmp/show.txt' && grep -q '^ *plain 80' '$tmp/show.txt'"
check "trace show: the plain command named (STORE DATA, DGI)" has "STORE DATA (DGI" "$tmp/show.txt"

# Round trips: export -> (tshark rewrites it) -> import gives the same exchanges.
cmds() { sed 's/.*"cmd":"\([^"]*\)","rsp":\("[^"]*"\|null\).*/\1 \2/' "$1" | grep -v '"event"'; }
same() { [ "$(cmds "$1")" = "$(cmds "$2")" ]; }
"$bin" trace export "$tmp/out/traces/CARD-03.jsonl" -o "$tmp/x.pcapng" 2>>"$tmp/err"
tshark -r "$tmp/x.pcapng" -w "$tmp/x2.pcapng" 2>/dev/null
tshark -r "$tmp/x.pcapng" -F pcap -w "$tmp/x2.pcap" 2>/dev/null
for f in x2.pcapng x2.pcap; do
	"$bin" trace import "$tmp/$f" -o "$tmp/$f.jsonl" 2>>"$tmp/err"
	check "import of tshark's $f: the same exchanges" same "$tmp/$f.jsonl" "$tmp/out/traces/CARD-03.jsonl"
done
"$bin" trace import "$card" -o "$tmp/live.jsonl" 2>>"$tmp/err"
check "import of run's own pcapng: the same exchanges" same "$tmp/live.jsonl" "$tmp/out/traces/CARD-03.jsonl"
"$bin" trace export "$tmp/out/traces/CARD-03.jsonl" -o "$tmp/u.pcapng" --as usbccid 2>>"$tmp/err"
ts -r "$tmp/u.pcapng" -d usb.device==0x00010002,usbccid -d usbccid.subdissector,iso7816 >"$tmp/usb.txt"
check "USB CCID: tshark decodes Select file through usbccid" has "Select file" "$tmp/usb.txt"
check "USB CCID: and Verify" has "Verify" "$tmp/usb.txt"
tshark -r "$tmp/u.pcapng" -w "$tmp/u2.pcapng" 2>/dev/null
"$bin" trace import "$tmp/u2.pcapng" -o "$tmp/u2.jsonl" 2>>"$tmp/err"
check "USB CCID import of tshark's file: the same exchanges" same "$tmp/u2.jsonl" "$tmp/out/traces/CARD-03.jsonl"

# Usage.
"$bin" run "$src/scenarios/card" --out "$tmp/o2" --trace pcap >/dev/null 2>"$tmp/u.err"
check "--trace pcap: usage error naming pcapng" sh -c "[ $? = 2 ] && grep -q 'pcapng' '$tmp/u.err'"
"$bin" trace export "$tmp/out/traces/CARD-03.jsonl" -o "$tmp/y" --as usb >/dev/null 2>"$tmp/u.err"
check "export --as usb: usage error naming the choices" sh -c "[ $? = 2 ] && grep -q 'iso14443 or usbccid' '$tmp/u.err'"
finish
