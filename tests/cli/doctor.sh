#!/bin/sh
# mynahil doctor (issue 15): one line per role, ok or PROBLEM and why;
# the ATR's set and the token against the card profile bound;
# the PIN tries left, read without spending one (a card with a wrong try
# behind it says 2, a blocked PIN is a problem); an se's IDm against its
# serial; a TSM that does not answer; exit 0 ready, 1 problems, 2 usage.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

"$bin" doctor >"$tmp/d1" 2>&1
check "default bench: exit 0" [ $? = 0 ]
check "default bench: the card ok with its ATR, its set, token and tries" \
	has "^ok      card  sim:card: ATR 3BDA13FF8131FB468012392F31C173C601C03B (ATR set opensc-3021: OpenSC issue #3021); token JPKIAPICCTOKEN2; auth PIN tries left 3; sign PIN tries left 5$" "$tmp/d1"
check "default bench: ready" has "^the bench is ready$" "$tmp/d1"

"$bin" doctor --target card=sim:card?profile=fixtures/profiles/bob.lua --profile fixtures/profiles/default.lua >"$tmp/d2" 2>&1
check "another card than the profile's: exit 1" [ $? = 1 ]
check "another card than the profile's: said so" \
	has "^PROBLEM card  sim:card?profile=fixtures/profiles/bob.lua: the ATR is not the profile's (ATR set opensc-3021); ATR 3BE000FF8131FE4514 (ATR set pcsc-tools-e0: pcsc-tools' list)" "$tmp/d2"
"$bin" doctor --target card=sim:card?profile=fixtures/profiles/bob.lua >"$tmp/d3" 2>&1
check "the URI's own profile: ok" [ $? = 0 ]

# one wrong try into a state file, then three: the tries the doctor reads
printf '00A4040C0AD392F000260100000001\n00A4020C020018\n002000800430303030\n' |
	"$bin" apdu --target sim:card --state "$tmp/one.nvm" >/dev/null
"$bin" doctor --target "card=sim:card?state=$tmp/one.nvm" >"$tmp/d4" 2>&1
check "a wrong try behind: auth PIN tries left 2" has "auth PIN tries left 2; sign PIN tries left 5$" "$tmp/d4"
"$bin" doctor --target "card=sim:card?state=$tmp/one.nvm" >"$tmp/d5" 2>&1
check "asking spends no try" has "auth PIN tries left 2;" "$tmp/d5"
printf '00A4040C0AD392F000260100000001\n00A4020C020018\n002000800430303030\n002000800430303030\n' |
	"$bin" apdu --target sim:card --state "$tmp/one.nvm" >/dev/null
"$bin" doctor --target "card=sim:card?state=$tmp/one.nvm" >"$tmp/d6" 2>&1
check "a blocked PIN: exit 1" [ $? = 1 ]
check "a blocked PIN: said so" has "^PROBLEM card .*: a PIN is blocked (tries left 0)" "$tmp/d6"

"$bin" doctor --target se=sim:se?serial=0746C916 >"$tmp/d7" 2>&1
check "an se: ok with CPLC and an IDm ending in its serial" has "^ok      se    sim:se?serial=0746C916: ATR .*; CPLC .*; IDm [0-9A-F]\{8\}0746C916$" "$tmp/d7"

cat >"$tmp/bench.lua" <<'B'
return { card = "sim:card", tsm = "http://127.0.0.1:9" }
B
"$bin" doctor --bench "$tmp/bench.lua" >"$tmp/d8" 2>&1
check "a TSM that does not answer: exit 1" [ $? = 1 ]
check "a TSM that does not answer: its line" has "^PROBLEM tsm   http://127.0.0.1:9: .*cannot reach the TSM" "$tmp/d8"
check "the card's line still there" has "^ok      card  sim:card:" "$tmp/d8"
check "problems: said at the end" has "^the bench has problems" "$tmp/d8"

"$bin" doctor --target nothing=sim:card >"$tmp/d9" 2>&1
check "an unknown role: exit 2" [ $? = 2 ]
"$bin" doctor extra >"$tmp/d10" 2>&1
check "an argument: exit 2" [ $? = 2 ]
finish
