#!/bin/sh
# mynahil profile from-card against a card served through pcscd
# (docs/real-card.md): through pcsc: it writes what sim:card gives
# directly (the same ATR set, token record, EF sizes and filler);
# the served default card shows the layout of a real one (sign CA EF
# 1,900 bytes, filler 00, certificates of 1,5xx-1,8xx bytes); no private
# data unless asked (the token's serial masked, no sign certificate
# without --sign-pin, no certificate files without --certs); and a card
# served with another layout (EF sizes, FF filler, its own token record)
# is read back as that layout, which the simulator then reproduces.
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/pcscd.sh"
interop_enter "$0" "$@"

start_pcscd
start_serve
check "the served card appears in '$READER'" wait_card 10000

"$bin" profile from-card --target "pcsc:$READER" --out "$tmp/pcsc.lua" 2>"$tmp/err"
check "from-card over pcsc: exit 0" [ $? = 0 ] || cat "$tmp/err"
"$bin" profile from-card --target sim:card >"$tmp/sim.lua"
sed 1d "$tmp/sim.lua" >"$tmp/sim.body"
sed 1d "$tmp/pcsc.lua" >"$tmp/pcsc.body"
check "the same fields as from sim:card directly" cmp -s "$tmp/sim.body" "$tmp/pcsc.body"
has() { grep -q -- "$1" "$tmp/pcsc.lua" || { echo "missing: $1"; return 1; }; }
check "the contact ATR, as its ATR set" \
	has '^  atr_set = "opensc-3021", -- the contact ATR 3BDA13FF8131FB468012392F31C173C601C03B, as in OpenSC issue #3021$'
check "and no atr beside it" sh -c "! grep -q '^  atr = ' '$tmp/pcsc.lua'"
check "the token" has '^  token = "JPKIAPICCTOKEN2",$'
check "the sign CA's EF is 1,900 bytes, as on a real card" has '^    sign_ca = 1900,$'
check "the auth CA's 1,900, the auth certificate's 2,048" sh -c "grep -q '^    auth_ca = 1900,\$' '$tmp/pcsc.lua' && grep -q '^    auth_cert = 2048,\$' '$tmp/pcsc.lua'"
check "filler 00" has '^    filler = 0x00,$'
sz=$(stat -c %s "$src/fixtures/pki/auth-ca.der")
check "the auth CA certificate's size from its DER header ($sz)" has "EF 000B): 1900 bytes, DER 30 82 .. .. = $sz bytes"
check "the sign certificate not read without --sign-pin" has 'EF 0001): not read (--sign-pin)'
check "the token's serial masked" has '^  token_info = "3030303030303030303030303030303030303030303030303030303030303031453136523031'"4E4A2020202020202020"'30303030303030303030303030303030'
check "no certificate written" [ ! -e "$tmp/certs" ]

# Asked: the sign certificate (after the sign password) and the files.
"$bin" profile from-card --target "pcsc:$READER" --sign-pin MYNAHIL1 --certs "$tmp/certs" --private \
	--out "$tmp/priv.lua" 2>"$tmp/err"
check "with --sign-pin: the sign certificate's EF" grep -q '^    sign_cert = 2048,$' "$tmp/priv.lua"
check "--certs: the certificates as read, byte for byte" sh -c \
	"cmp -s '$tmp/certs/000A.der' '$src/fixtures/pki/alice-auth.der' && cmp -s '$tmp/certs/0001.der' '$src/fixtures/pki/alice-sign.der' && cmp -s '$tmp/certs/0002.der' '$src/fixtures/pki/sign-ca.der'"
check "--private: the token's serial as the card has it" grep -q '30303030303030303230353030303033' "$tmp/priv.lua"
"$bin" profile from-card --target "pcsc:$READER" --sign-pin WRONG1 >/dev/null 2>"$tmp/wrong"
st=$?
check "a wrong sign password: exit 1 (got $st)" [ "$st" = 1 ]
check "and the status word said" grep -q 'VERIFY of the sign password answered 63C4' "$tmp/wrong"
printf '00A4040C0AD392F000260100000001\n00A4020C02001B\n0020008008 4D594E4148494C31\n' | apdus >/dev/null 2>&1

# Another layout, read back.
stop_serve
# pcscd must see the first card go, or the next wait_card finds it still
# there and from-card reads the old layout
check "the first card gone" wait_no_card 10000
tok=$(printf 'AB%.0s' $(seq 128))
sed -e "s|^return {|return {\n  cert_efs = { auth_cert = 1600, sign_ca = 1400, filler = 0xFF }, token_info = \"$tok\",|" \
	-e "s|\"\\.\\./|\"$src/fixtures/|g" "$src/fixtures/profiles/default.lua" >"$tmp/layout.lua"
start_serve --profile "$tmp/layout.lua"
check "the card with another layout appears" wait_card 10000
"$bin" profile from-card --target "pcsc:$READER" --private --out "$tmp/l.lua" 2>"$tmp/err"
check "its EF sizes and filler read back" sh -c \
	"grep -q '^    auth_cert = 1600,\$' '$tmp/l.lua' && grep -q '^    sign_ca = 1400,\$' '$tmp/l.lua' && grep -q '^    filler = 0xFF,\$' '$tmp/l.lua'"
check "its token record read back" grep -q "^  token_info = \"$tok\",\$" "$tmp/l.lua"

finish
