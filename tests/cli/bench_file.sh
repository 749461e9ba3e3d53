#!/bin/sh
# --bench FILE binds roles from a Lua table: the card scenarios follow
# the file's card binding (bob's card: CARD-00 passes only with bob's
# PINs, which come from the bound profile), an explicit --target wins,
# `apdu --bench` uses the card role, and a bad bench file is a usage
# error that names the file and what is wrong — never run as code with
# powers (no os, no io) or for ever.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

cat >"$tmp/bob.lua" <<EOS
-- a bench with bob's card
return { card = "sim:card?profile=$src/fixtures/profiles/bob.lua" }
EOS
"$bin" run scenarios/card --filter CARD-00 --out "$tmp/r1" --bench "$tmp/bob.lua" >"$tmp/r1.log" 2>&1
check "run --bench: exit 0" [ $? = 0 ]
check "run --bench: the target is the file's" grep -q "\"target\": \"card=sim:card?profile=$src/fixtures/profiles/bob.lua\"" "$tmp/r1/results.json"
check "run --bench: CARD-00 passes on bob's card" grep -q '^1 passed, 0 failed' "$tmp/r1.log"

"$bin" run scenarios/card --filter CARD-00 --out "$tmp/r2" --bench "$tmp/bob.lua" --target sim:card >"$tmp/r2.log" 2>&1
check "--target beats --bench" grep -q '"target": "card=sim:card"' "$tmp/r2/results.json"
"$bin" run scenarios/card --filter CARD-00 --out "$tmp/r3" --target sim:card --bench "$tmp/bob.lua" >/dev/null 2>&1
check "--target beats --bench in either order" grep -q '"target": "card=sim:card"' "$tmp/r3/results.json"

cat >"$tmp/two.lua" <<'EOS'
return { se = "sim:se", card = "sim:card" }
EOS
"$bin" list scenarios/card --bench "$tmp/two.lua" >/dev/null 2>"$tmp/two.err"
check "a file binding two roles loads" [ $? = 0 ]

printf '00A4040C0AD392F000260100000001\n00A4020C020018\n002000800435363738\n' |
	"$bin" apdu --bench "$tmp/bob.lua" >"$tmp/a.out" 2>&1
check "apdu --bench: bob's auth PIN 5678 verifies" [ "$(sed -n 3p "$tmp/a.out")" = 9000 ]

bad() { # description, file content, expected message
	printf '%s\n' "$2" >"$tmp/bad.lua"
	"$bin" run scenarios/card --out "$tmp/rb" --bench "$tmp/bad.lua" >/dev/null 2>"$tmp/bad.err"
	st=$?
	check "$1: exit 2" [ "$st" = 2 ]
	check "$1: says '$3'" grep -qF "$3" "$tmp/bad.err"
	check "$1: names the file" grep -qF "$tmp/bad.lua" "$tmp/bad.err"
}
bad "not a table" 'return "sim:card"' "must return a table"
bad "a number for a URI" 'return { card = 5 }' "role card: expected a target URI string"
bad "a bad role name" 'return { ["the card"] = "sim:card" }' "is not a role name"
bad "syntax error" 'return { card = }' "unexpected symbol"
bad "no os in a bench file" 'return { card = os.getenv("HOME") }' "global 'os'"
bad "no io in a bench file" 'return { card = io.open("/etc/passwd"):read() }' "global 'io'"
bad "runaway" 'while true do end' "too much computation"
"$bin" run scenarios/card --out "$tmp/rb" --bench "$tmp/none.lua" >/dev/null 2>"$tmp/none.err"
check "missing file: exit 2" [ $? = 2 ]
check "missing file: named" grep -qF "$tmp/none.lua" "$tmp/none.err"
printf 'return { se = "sim:se" }\n' >"$tmp/nocard.lua"
"$bin" apdu --bench "$tmp/nocard.lua" </dev/null >/dev/null 2>"$tmp/nocard.err"
check "apdu --bench without a card role: exit 2, said" sh -c "[ $? = 2 ] && grep -q 'binds no card role' '$tmp/nocard.err'"

finish
