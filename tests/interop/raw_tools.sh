#!/bin/sh
# Raw APDUs from other PC/SC programs reach the served card and come
# back byte-exact: opensc-tool -s and pcsc-tools' scriptor select the
# JPKI AP (9000) and read the token (JPKIAPICCTOKEN2, space-padded); the
# ATR pcscd reports is the simulated card's.
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/pcscd.sh"
interop_enter "$0" "$@"

start_pcscd
start_serve
check "the served card appears" wait_card 10000
token="4A 50 4B 49 41 50 49 43 43 54 4F 4B 45 4E 32 20"
blank="20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20"

if command -v opensc-tool >/dev/null 2>&1; then
	opensc-tool -r "$READER" -s 00:A4:04:0C:0A:D3:92:F0:00:26:01:00:00:00:01 -s 00A4020C020006 \
		-s 00B0000020 -s 00B07FFF00 >"$tmp/o" 2>&1
	check "opensc-tool: exit 0" [ $? = 0 ]
	check "opensc-tool: select AP and EF answer 9000" [ "$(grep -c '^Received (SW1=0x90, SW2=0x00)$' "$tmp/o")" = 2 ]
	check "opensc-tool: READ BINARY answers 9000 with data" grep -q '^Received (SW1=0x90, SW2=0x00):$' "$tmp/o"
	check "opensc-tool: the token, first line" grep -q "^$token JPKIAPICCTOKEN2 $" "$tmp/o"
	check "opensc-tool: the token, padding" grep -q "^$blank  *$" "$tmp/o"
	check "opensc-tool: READ BINARY past the end refused (6B00)" grep -q '^Received (SW1=0x6B, SW2=0x00)$' "$tmp/o"
	atr=$(opensc-tool -r "$READER" -a 2>/dev/null)
	check "opensc-tool -a: the default card's contact ATR (opensc-3021)" [ "$atr" = "3b:da:13:ff:81:31:fb:46:80:12:39:2f:31:c1:73:c6:01:c0:3b" ]
else
	skip_part "opensc-tool not installed: its checks skipped"
fi

if command -v scriptor >/dev/null 2>&1; then
	cat >"$tmp/script" <<EOS
00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01
00 A4 02 0C 02 00 06
00 B0 00 00 20
00 A4 02 0C 02 00 99
EOS
	scriptor -r "$READER" "$tmp/script" >"$tmp/s" 2>&1
	check "scriptor: exit 0" [ $? = 0 ]
	grep '^< ' "$tmp/s" >"$tmp/s.rsp"
	check "scriptor: select AP 9000" [ "$(sed -n 1p "$tmp/s.rsp")" = "< 90 00 : Normal processing." ]
	check "scriptor: select EF 9000" [ "$(sed -n 2p "$tmp/s.rsp")" = "< 90 00 : Normal processing." ]
	check "scriptor: the token" [ "$(sed -n 3p "$tmp/s.rsp")" = "< $token " ]
	check "scriptor: token padding, then 9000" sh -c "grep -A2 '^< $token' '$tmp/s' | sed -n '2p;3p' | tr '\n' '|' | grep -qx '$blank |90 00 : Normal processing.|'"
	check "scriptor: a missing EF answers 6A82" [ "$(sed -n 4p "$tmp/s.rsp" | cut -c1-7)" = "< 6A 82" ]
else
	skip_part "scriptor not installed: its checks skipped"
fi

finish
