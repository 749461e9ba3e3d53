#!/bin/sh
# Card and SE profiles are data from anyone, loaded in a sandbox, and
# checked field by field.  The bad profiles of tests/cli/profiles/
# (a binary chunk, a loop past the instruction budget, a string past the
# memory cap, an auth key that is not the auth certificate's, a wrong
# check digit in the individual number, a misspelt field) are each
# refused (exit 2) with a message naming the file and what is wrong.
# key_mismatch.lua is the default profile but for its auth key: it was
# accepted before.
set -u
. "$2/tests/cli/lib/check.sh"
d=$src/tests/cli/profiles
select=00A4040C0AD392F000260100000001

# refused TARGET PROFILE PATTERN: exit 2, and stderr matches PATTERN.
refused() {
	printf '%s\n' "$select" | "$bin" apdu --target "$1" --profile "$2" >"$tmp/out" 2>"$tmp/err"
	st=$?
	check "$(basename "$2"): exit 2 (got $st)" [ "$st" = 2 ]
	check "$(basename "$2"): says '$3'" grep -q -- "$3" "$tmp/err" || cat "$tmp/err"
	check "$(basename "$2"): nothing answered" [ ! -s "$tmp/out" ]
}

printf '%s\n' "$select" | "$bin" apdu --target sim:card --profile "$src/fixtures/profiles/default.lua" >"$tmp/ok"
check "the fixture the bad ones are made from is taken" [ "$(cat "$tmp/ok")" = 9000 ]

refused sim:card "$d/binary.luac" "$d/binary.luac: attempt to load a binary chunk"
refused sim:card "$d/loop.lua" "loop.lua:[0-9]*: more than 10000000 instructions"
refused sim:card "$d/memory.lua" "$d/memory.lua: more than 64 MiB of memory"
refused sim:card "$d/key_mismatch.lua" \
	"$d/key_mismatch.lua: field 'auth.key' does not match the certificate in 'auth.cert'"
refused sim:card "$d/check_digit.lua" \
	"$d/check_digit.lua: field 'holder.number' has a wrong check digit (9; its first 11 digits give 8)"
refused sim:card "$d/typo.lua" "$d/typo.lua: unknown field 'text_kye'"
refused sim:se "$d/se_loop.lua" "se_loop.lua:[0-9]*: more than 10000000 instructions"

# The ATR set by its name (docs/card.md#atrs): `generation`, the year
# that named one before, is refused with its replacement; an unknown
# name, with the names there are.
sed -e 's|^  atr_set = .*|  generation = 2020,|' -e "s|\"\\.\\./|\"$src/fixtures/|g" \
	"$src/fixtures/profiles/default.lua" >"$tmp/gen.lua"
refused sim:card "$tmp/gen.lua" \
	"$tmp/gen.lua: field 'generation' is replaced by atr_set (2015 is now \"pcsc-tools-e0\", 2020 \"opensc-3021\", 2021 \"pcsc-tools-c5\"; 2024's ATR was a contactless reader's"
sed -e 's|^  atr_set = .*|  atr_set = "2024",|' -e "s|\"\\.\\./|\"$src/fixtures/|g" \
	"$src/fixtures/profiles/default.lua" >"$tmp/set.lua"
refused sim:card "$tmp/set.lua" \
	"$tmp/set.lua: field 'atr_set' must be one of \"pcsc-tools-e0\", \"opensc-3021\", \"pcsc-tools-c5\"$"

# A field in a nested table is named with its path.
sed -e 's|auth = "1234"|auth = "12345"|' -e "s|\"\\.\\./|\"$src/fixtures/|g" \
	"$src/fixtures/profiles/default.lua" >"$tmp/pins.lua"
refused sim:card "$tmp/pins.lua" "$tmp/pins.lua: field 'pins.auth' must be 4 digits"

# The card's layout fields (docs/card.md#files, #jpki-ap): a certificate
# larger than the EF the profile gives it, an 80 FC answer the card
# cannot give, a token record of the wrong length.
extra() { # NAME LUA-FIELDS: the default profile with fields added
	sed -e "s|^return {|return {\n  $2|" -e "s|\"\\.\\./|\"$src/fixtures/|g" \
		"$src/fixtures/profiles/default.lua" >"$tmp/$1.lua"
}
extra small 'cert_efs = { sign_ca = 900 },'
refused sim:card "$tmp/small.lua" "$tmp/small.lua: field 'sign.ca' is [0-9]* bytes, more than its EF holds (900; cert_efs)"
extra sw 'sw_80fc = "6A86",'
refused sim:card "$tmp/sw.lua" "$tmp/sw.lua: field 'sw_80fc' must be \"6700\", \"6D00\" or \"9000\""
extra tok 'token_info = "00",'
refused sim:card "$tmp/tok.lua" "$tmp/tok.lua: field 'token_info'"
extra atr 'atr = "3BDA13FF8131FB468012392F31C173C601C03C",'
refused sim:card "$tmp/atr.lua" "$tmp/atr.lua: field 'atr' is not a well-formed ATR"
extra efs 'cert_efs = { sign_ca = 40000 },'
refused sim:card "$tmp/efs.lua" "$tmp/efs.lua: field 'cert_efs.sign_ca'"

# ... and given right, the card follows them: EF 000B of 1,800 bytes with
# FF filler (the last byte at 0x0707, 6B00 at 0x0708), 80 FC as 6D00, the
# token record's first bytes.
extra good 'cert_efs = { auth_ca = 1800, filler = 0xFF }, sw_80fc = "6D00", token_info = "'"$(printf 'AB%.0s' $(seq 128))"'",'
printf '%s\n' "$select" 00A4020C02000B 00B0070701 00B0070801 80FC0000 00A4020C020006 00B0002002 |
	"$bin" apdu --target sim:card --profile "$tmp/good.lua" >"$tmp/good.out" 2>&1
check "layout fields followed" [ "$(tr '\n' ' ' <"$tmp/good.out")" = "9000 9000 FF9000 6B00 6D00 9000 ABAB9000 " ] ||
	cat "$tmp/good.out"
# ... and what from-card reads back from such a card (docs/real-card.md).
"$bin" profile from-card --target sim:card --profile "$tmp/good.lua" >"$tmp/good.fields"
check "from-card: the EF size and filler" sh -c "grep -q '^    auth_ca = 1800,\$' '$tmp/good.fields' && grep -q '^    filler = 0xFF,\$' '$tmp/good.fields'"
extra ownatr 'atr = "3B021450", atqb = "01020304050607",'
"$bin" profile from-card --target sim:card --profile "$tmp/ownatr.lua" >"$tmp/ownatr.fields"
check "a profile's own ATR served" grep -q '^  atr = "3B021450", -- of no known ATR set$' "$tmp/ownatr.fields"
# ... and a set's, read back as the set (bob's card: pcsc-tools-e0).
"$bin" profile from-card --target sim:card --profile "$src/fixtures/profiles/bob.lua" >"$tmp/bob.fields"
check "a set's contact ATR read back as the set" \
	grep -qx '  atr_set = "pcsc-tools-e0", -- the contact ATR 3BE000FF8131FE4514, as in pcsc-tools'"'"' list' "$tmp/bob.fields"

finish
