#!/bin/sh
# What a bench will skip, said before it runs and as it runs: `mynahil
# list` with targets bound names each scenario the bindings cannot meet
# (needs = { "sim" } on a real card) and why, as run reports it; without
# targets nothing is skipped.  A card profile that lacks a field a
# scenario reads (chika's card has no sign PIN) skips that scenario
# naming the field, where it used to fail on a nil; a real card's
# profile is partial (docs/bench.md): any field may be left out, but a
# misspelt one is exit 2 before any scenario, on run and on list.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

"$bin" list scenarios/card >"$tmp/l0" 2>&1
check "list, nothing bound: exit 0" [ $? = 0 ]
check "list, nothing bound: nothing skipped" sh -c "! grep -q skipped '$tmp/l0'"
"$bin" list scenarios/card --target 'pcsc:Some Reader' >"$tmp/l1" 2>&1
check "list, a real card bound: exit 0 (no reader is opened to list)" [ $? = 0 ]
for id in CARD-03 CARD-07; do
	check "list: $id would skip, and why" \
		grep -q "^$id .*(skipped: needs a simulator's insides; card is bound to pcsc:Some Reader)" "$tmp/l1"
done
check "list: the others would run" [ "$(grep -c skipped "$tmp/l1")" = 2 ]
printf 'return { card = "nfc:pn532_uart:/dev/null" }\n' >"$tmp/bench.lua"
"$bin" list scenarios/card --bench "$tmp/bench.lua" >"$tmp/l2" 2>&1
check "list --bench: the bench file's card, the same skips" [ "$(grep -c "skipped: needs a simulator's insides; card is bound to nfc:" "$tmp/l2")" = 2 ]

# chika: a card without a sign PIN
"$bin" run scenarios/card --filter 'CARD-0[0-2]' --target "sim:card?profile=$src/fixtures/profiles/chika.lua" \
	--out "$tmp/c" >"$tmp/c.log" 2>&1
check "chika: CARD-00 (auth PIN only) passes" grep -q '^ok .* CARD-00 [^#]*$' "$tmp/c.log"
for id in CARD-01 CARD-02; do
	check "chika: $id skips, naming pins.sign" grep -q "^ok .* $id .*# SKIP the card profile .*chika.lua gives no pins.sign" "$tmp/c.log"
done

# a partial profile's typo: refused at once, naming the field
printf 'return { pins = { auth = "1234", sgin = "ABCDEF" } }\n' >"$tmp/typo.lua"
for cmd in run list; do
	"$bin" $cmd scenarios/card --target "pcsc:Some Reader?profile=$tmp/typo.lua" --out "$tmp/t" >"$tmp/t.out" 2>"$tmp/t.err"
	check "$cmd: a partial profile's misspelt field: exit 2" [ $? = 2 ]
	check "$cmd: ... naming it" grep -q "field 'pins.sgin'" "$tmp/t.err"
done
printf 'return { pins = { auth = "12345" } }\n' >"$tmp/bad.lua"
"$bin" list scenarios/card --target "pcsc:Some Reader?profile=$tmp/bad.lua" >/dev/null 2>"$tmp/b.err"
check "a partial profile's field is checked as in a full one" sh -c "[ $? = 2 ] && grep -q \"field 'pins.auth' must be 4 digits\" '$tmp/b.err'"
printf 'return { pins = { auth = "1234" } }\n' >"$tmp/ok.lua"
"$bin" list scenarios/card --target "pcsc:Some Reader?profile=$tmp/ok.lua" >/dev/null 2>&1
check "a partial profile with the auth PIN alone is accepted" [ $? = 0 ]
finish
