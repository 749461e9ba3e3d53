#!/bin/sh
# Every published exchange with a real card (docs/real-card.md, "What
# public captures of real cards show"), replayed against the default
# simulated card through `mynahil apdu --target sim:card`, and compared
# structurally: the status words, the lengths, the EF sizes and where
# 6B00 starts, the DER headers and the layouts; keys, certificates and
# serials are the test PKI's, so bytes are compared only where the
# capture fixes them (the token name, model, flags, EF 0008, 6B00).
#
# The same comparison is then run against a card made to differ from the
# captures (a profile: the sign CA's EF 2,048 bytes with FF filler,
# 80 FC answering 6D00, another ATR): it must name exactly those
# exchanges, so that a check here cannot pass whatever the card does.
#
# The exchanges of a phone (jpki/myna issue #6: token JPKIAPGPSETOKEN,
# EF 000A behind the auth PIN) are the simulated SE's, covered by
# tests/unit/test_jpki.c test_phone_token_gates_auth_cert and
# tests/interop/opensc_phone.sh; the ATR a contactless reader builds
# from the ATQB by tests/unit/test_cardos.c test_atr_by_interface.
set -u
. "$2/tests/cli/lib/check.sh"
command -v python3 >/dev/null || { echo "FAIL: python3 is needed"; exit 1; }

cat >"$tmp/exchanges.py" <<'EOF'
import hashlib, subprocess, sys

binary, target, profile = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None
AID_JPKI = "00A4040C0AD392F000260100000001"
AID_TEXT = "00A4040C0AD3921000310001010408"
AUTH_PIN, SIGN_PIN, TEXT_PIN = b"1234", b"MYNAHIL1", b"1234" # fixtures/profiles/default.lua
failed = []

def session(lines):
    """One card session: each APDU's (data bytes, status word)."""
    cmd = [binary, "apdu", "--target", target] + (["--profile", profile] if profile else []) + ["-"]
    out = subprocess.run(cmd, input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60)
    rsp = out.stdout.split()
    if out.returncode != 0 or len(rsp) != len(lines):
        raise SystemExit("mynahil apdu failed: %s" % out.stderr.strip())
    return [(bytes.fromhex(r[:-4]), int(r[-4:], 16)) for r in rsp]

def select_ef(fid):
    return "00A4020C02%04X" % fid

def verify(pin):
    return "00200080%02X%s" % (len(pin), pin.hex().upper())

def exchange(name, ok, why):
    print(("ok   " if ok else "DIFF ") + name + ("" if ok else ": " + why))
    if not ok:
        failed.append(name)

def der_len(b):
    return 4 + (b[2] << 8 | b[3]) if len(b) >= 4 and b[0] == 0x30 and b[1] == 0x82 else -1

# sc-tools (2023 sign CA): EF 0002 in one extended-Le READ: 1,900 bytes,
# DER 30 82 05 xx (1,304 bytes there), then 00 to the end; 6B00 at 0x076C.
r = session([AID_JPKI, select_ef(0x0002), "00B00000000000", "00B0076C00", "00B0076B01"])
data, sw = r[2]
n = der_len(data)
exchange("sc-tools: EF 0002 is 1,900 bytes in one extended-Le READ",
         sw == 0x9000 and len(data) == 1900, "%d bytes, %04X" % (len(data), sw))
exchange("sc-tools: the sign CA's DER first, 30 82 05 xx",
         data[:3] == b"\x30\x82\x05" and 1200 <= n <= 1400, "header %s, %d bytes" % (data[:4].hex(), n))
exchange("sc-tools: 00 filler from the DER's end to the EF's",
         n > 0 and data[n:] == b"\x00" * (len(data) - n) and data[-12:] == b"\x00" * 12, "filler %s" % data[n:n + 4].hex())
exchange("sc-tools: READ BINARY at 0x076C -> 6B00, the byte before it there",
         r[3][1] == 0x6B00 and r[4][1] == 0x9000 and len(r[4][0]) == 1, "%04X, %04X" % (r[3][1], r[4][1]))

# tex2e (a 2021 card): the auth certificate 30 82 06 1F (1,571 bytes) and
# the sign certificate 30 82 06 CA (1,742) read with an extended Le, the
# latter after the sign password; 80 2A 00 80 on a 51-byte DigestInfo ->
# 256 bytes 9000.  Ours: within a tenth of those sizes.
di = bytes.fromhex("3031300D060960864801650304020105000420") + hashlib.sha256(b"real card").digest()
r = session([AID_JPKI, select_ef(0x000A), "00B00000000000",
             select_ef(0x001B), verify(SIGN_PIN), select_ef(0x0001), "00B00000000000",
             select_ef(0x0018), verify(AUTH_PIN), select_ef(0x0017),
             "802A0080%02X%s00" % (len(di), di.hex().upper())])
auth, sign, sig = r[2], r[6], r[10]
exchange("tex2e: the auth certificate, 30 82 LL LL of about 1,571 bytes, extended Le",
         auth[1] == 0x9000 and 1414 <= der_len(auth[0]) <= 1728, "%04X, %d bytes" % (auth[1], der_len(auth[0])))
exchange("tex2e: the sign certificate after the sign password, 30 82 06 xx of about 1,742 bytes",
         r[4][1] == 0x9000 and sign[1] == 0x9000 and sign[0][:3] == b"\x30\x82\x06" and 1568 <= der_len(sign[0]) <= 1916,
         "%04X %04X, %s, %d bytes" % (r[4][1], sign[1], sign[0][:4].hex(), der_len(sign[0])))
exchange("tex2e: 80 2A 00 80, a 51-byte DigestInfo -> 256 bytes 9000",
         r[8][1] == 0x9000 and sig[1] == 0x9000 and len(sig[0]) == 256, "%04X, %d bytes" % (sig[1], len(sig[0])))

# tex2e: the text AP, EF 0001 with Le 00 -> 17 bytes FF 10 0C + 12 digits
# + FF FF; EF 0002 -> FF 20 LL DF21 08 ...
r = session([AID_TEXT, select_ef(0x0011), verify(TEXT_PIN), select_ef(0x0001), "00B0000000",
             select_ef(0x0002), "00B0000000"])
num, four = r[4], r[6]
exchange("tex2e: text AP EF 0001 with Le 00 -> 17 bytes, FF 10 0C, 12 digits, FF FF",
         num[1] == 0x9000 and len(num[0]) == 17 and num[0][:3] == b"\xFF\x10\x0C" and num[0][3:15].isdigit()
         and num[0][15:] == b"\xFF\xFF", "%04X, %s" % (num[1], num[0].hex()))
body = four[0][3:] if four[0][2:3] == b"\x81" else four[0][2:]
exchange("tex2e: text AP EF 0002 -> FF 20 LL, DF21 08 (the four offsets) first",
         four[1] == 0x9000 and four[0][:2] == b"\xFF\x20" and body[1:4] == b"\xDF\x21\x08",
         "%04X, %s" % (four[1], four[0][:8].hex()))

# OpenSC PR #959: the retry query after a correct VERIFY -> 63C3.
r = session([AID_JPKI, select_ef(0x0018), verify(AUTH_PIN), "00200080"])
exchange("OpenSC #959: VERIFY, then the retry query -> 63C3",
         r[2][1] == 0x9000 and r[3][1] == 0x63C3, "%04X, %04X" % (r[2][1], r[3][1]))

# OpenSC issue #3169: READ BINARY of EF 0001 without the sign password -> 6982.
r = session([AID_JPKI, select_ef(0x0001), "00B0000004"])
exchange("OpenSC #3169: READ BINARY of EF 0001 without the sign password -> 6982",
         r[1][1] == 0x9000 and r[2][1] == 0x6982, "%04X, %04X" % (r[1][1], r[2][1]))

# OpenSC PR #801: SELECT EF works with P1 02, not with P1 09 (its status
# word unpublished: anything but 9000).
r = session([AID_JPKI, "00A4020C020006", "00A4090C020006"])
exchange("OpenSC #801: SELECT EF by P1 02 -> 9000, by P1 09 refused",
         r[1][1] == 0x9000 and r[2][1] != 0x9000, "%04X, %04X" % (r[1][1], r[2][1]))

# soltia48/myna-card (a secondary source): EF 0006 is 160 bytes, the
# 32-byte space-padded name then a CK_TOKEN_INFO-like record (model
# E16R01NJ, flags 0000040D, PIN lengths 16/6, versions "03" "01"); EF
# 0008 = 8F 8F 00; 80 FC 00 00 -> 6700.
r = session([AID_JPKI, select_ef(0x0006), "00B0000000", select_ef(0x0008), "00B0000000", "80FC0000"])
tok = r[2][0]
exchange("myna-card: EF 0006, 160 bytes, the name then the token record",
         r[2][1] == 0x9000 and len(tok) == 160 and tok[:32] == b"JPKIAPICCTOKEN2".ljust(32)
         and tok[64:80] == b"E16R01NJ".ljust(16) and tok[96:100] == bytes.fromhex("0000040D")
         and tok[116:124] == bytes.fromhex("0000001000000006") and tok[140:144] == b"0301",
         "%04X, %d bytes, %s" % (r[2][1], len(tok), tok[:16]))
exchange("myna-card: EF 0008 = 8F 8F 00", r[4] == (b"\x8F\x8F\x00", 0x9000), r[4][0].hex())
exchange("myna-card: 80 FC 00 00 on a card -> 6700", r[5][1] == 0x6700, "%04X" % r[5][1])

# OpenSC issue #3021: the contact ATR of a card issued in 2024-01, as
# `mynahil profile from-card` reads it (the reader's ATR).
cmd = [binary, "profile", "from-card", "--target", target] + (["--profile", profile] if profile else [])
out = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
exchange("OpenSC #3021: the contact ATR 3BDA13FF8131FB468012392F31C173C601C03B",
         'atr_set = "opensc-3021", -- the contact ATR 3BDA13FF8131FB468012392F31C173C601C03B,' in out,
         " ".join([l.strip() for l in out.splitlines() if "atr" in l][:1]) or "no atr")

print("differs: " + (", ".join(failed) if failed else "none"))
sys.exit(1 if failed else 0)
EOF

python3 "$tmp/exchanges.py" "$bin" sim:card >"$tmp/default.out" 2>&1
st=$?
cat "$tmp/default.out"
check "the default card reproduces every published exchange" [ $st = 0 ]
check "... all 16 of them compared" [ "$(grep -c '^ok ' "$tmp/default.out")" = 16 ]

# the control: a card unlike the captures where three of them look
sed -e 's|"\.\./|"'"$src"'/fixtures/|g' "$src/fixtures/profiles/default.lua" >"$tmp/other.lua"
sed -i 's|^return {|return {\n  cert_efs = { sign_ca = 2048, filler = 0xFF }, sw_80fc = "6D00", atr = "3BE000FF8131FE4514",|' "$tmp/other.lua"
python3 "$tmp/exchanges.py" "$bin" sim:card "$tmp/other.lua" >"$tmp/other.out" 2>&1
st=$?
grep '^DIFF\|^Traceback\|^[A-Za-z]*Error' "$tmp/other.out"
check "a card unlike the captures: the comparison fails" [ $st = 1 ]
check "... on exactly the EF's size, the filler, 6B00's offset, 80 FC and the ATR" \
	grep -qx "differs: sc-tools: EF 0002 is 1,900 bytes in one extended-Le READ, sc-tools: 00 filler from the DER's end to the EF's, sc-tools: READ BINARY at 0x076C -> 6B00, the byte before it there, myna-card: 80 FC 00 00 on a card -> 6700, OpenSC #3021: the contact ATR 3BDA13FF8131FB468012392F31C173C601C03B" "$tmp/other.out"

# The test PKI's certificates are of real size (within a tenth of the
# captured: auth 1,571, sign 1,742, sign CA 1,304 bytes) and carry what a
# JPKI certificate carries (issue 12 point 2): key usage, certificate
# policies with a CPS pointer, CRL distribution points, AIA (OCSP and CA
# issuers), the CA's name as issuerAltName; a sign certificate the four
# attributes (name, sex, birth, address) and a long address.
command -v openssl >/dev/null || { echo "FAIL: openssl is needed"; exit 1; }
size_near() { # FILE REAL
	n=$(wc -c <"$src/fixtures/pki/$1")
	[ $((n * 10)) -ge $(($2 * 9)) ] && [ $((n * 10)) -le $(($2 * 11)) ] || { echo "$1: $n bytes, real $2"; false; }
}
for c in alice-auth bob-auth chika-auth; do check "$c.der: of a real auth certificate's size" size_near "$c.der" 1571; done
for c in alice-sign bob-sign; do check "$c.der: of a real sign certificate's size" size_near "$c.der" 1742; done
for c in sign-ca auth-ca; do check "$c.der: of the real sign CA's size" size_near "$c.der" 1304; done
for c in alice-auth alice-sign bob-sign chika-auth; do
	openssl x509 -inform DER -in "$src/fixtures/pki/$c.der" -noout -text >"$tmp/$c.txt" 2>&1
	for e in 'X509v3 Key Usage: critical' 'X509v3 Certificate Policies: critical' 'CPS: http' \
		'X509v3 CRL Distribution Points' 'OCSP - URI:http' 'CA Issuers - URI:http' 'X509v3 Issuer Alternative Name'; do
		check "$c: $e" has "$e" "$tmp/$c.txt"
	done
done
for c in alice-sign bob-sign; do
	for a in 1 3 4 5; do check "$c: SAN attribute 1.2.392.200149.8.5.5.$a" has "othername: 1.2.392.200149.8.5.5.$a::" "$tmp/$c.txt"; done
	check "$c: a long address (30 characters or more)" sh -c \
		"grep -o 'othername: 1.2.392.200149.8.5.5.5::[^,]*' '$tmp/$c.txt' | sed 's/.*:://' | python3 -c 'import sys; sys.exit(len(sys.stdin.read().strip()) < 30)'"
done

# The rule a real card's filler sets for clients: read the DER header,
# then exactly the certificate.  The harness's own client
# (scenarios/lib/jpki.lua, jpki.read_ef) does, on a card whose EFs are of
# other sizes and filled with FF: each certificate it reads is exactly
# its header's length and parses (reading the whole EF would bring the
# filler along).
sed -e 's|"\.\./|"'"$src"'/fixtures/|g' "$src/fixtures/profiles/default.lua" >"$tmp/ff.lua"
sed -i 's|^return {|return {\n  cert_efs = { sign_cert = 1900, auth_cert = 1600, sign_ca = 1400, auth_ca = 1400, filler = 0xFF },|' "$tmp/ff.lua"
mkdir -p "$tmp/sc"
cat >"$tmp/sc/der.lua" <<'LUA'
local jpki = require "jpki"
local crypto = mynahil.crypto
return scenario {
  id = "DER-01", title = "certificates read by their DER header", needs = { "card" },
  run = function(w)
    local card = w.card
    expect(jpki.select(card)).sw(0x9000)
    expect(jpki.verify(card, "sign", w.profile.pins.sign)).sw(0x9000)
    for _, ef in ipairs { "auth_cert", "auth_ca", "sign_cert", "sign_ca" } do
      local der = jpki.read_ef(card, jpki.EF[ef])
      local n = der and 4 + (der:byte(3) << 8 | der:byte(4)) or -1
      expect(der and #der, ef .. ": as long as its header says").is(n)
      expect(der and crypto.cert(der) ~= nil, ef .. ": parses").is_true()
    end
  end,
}
LUA
(cd "$src" && "$bin" run "$tmp/sc" --target "card=sim:card?profile=$tmp/ff.lua" --out "$tmp/der") >"$tmp/der.log" 2>&1
check "FF filler and other EF sizes: the harness reads each certificate by its header" grep -q '^1 passed, 0 failed' "$tmp/der.log" ||
	cat "$tmp/der.log"
finish
