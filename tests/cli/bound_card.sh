#!/bin/sh
# Roles, not fixtures (issue 11 point 3): the whole suite passes with
# bob's card bound as the card (fixtures/profiles/bob.lua) — holder
# names, PINs and serials come from w.profile, the card and the CA, and
# "another holder" is alice then — and the registry names bob as the
# holder of the phone TSM-00 issued.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

total=$("$bin" list scenarios 2>/dev/null | grep -c '^[A-Z]')
"$bin" run scenarios -j 2 --target "card=sim:card?profile=$src/fixtures/profiles/bob.lua" \
	--out "$tmp/bob" >"$tmp/bob.log" 2>&1
check "bob's card bound: exit 0" [ $? = 0 ]
check "bob's card bound: all $total pass" has "^$total passed, 0 failed, 0 skipped" "$tmp/bob.log"
grep '^not ok\|^#' "$tmp/bob.log" | head -n 20
# the registry's holder, as TSM-00 asserted it against the CA
check "TSM-00 saw the holder named by the CA (bob's card)" \
	has '"what": "registry: holder, as the CA knows the card is \\"bob\\""' "$tmp/bob/results.json"
finish
