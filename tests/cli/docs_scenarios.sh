#!/bin/sh
# docs/scenarios.md runs as written.  Every ```lua block of the page is a
# whole file whose first line is "-- file: PATH": each is written to PATH
# in a lab's tree (mylab/), and `mynahil run mylab` must pass every
# scenario outside refused/.  A refused/ file carries "-- refused: TEXT":
# run alone it must not pass, and the first line of its reason must start
# with TEXT (the FILE:LINE the page shows).  A block without the marker
# fails the test: no example goes unrun.
#
# Then a newcomer's scenario written from the page alone
# (tests/cli/docs_scenarios/newcomer.lua: issue phone certificates, sign,
# revoke) must pass, with its relying party's OCSP and CRL checks in its
# report; with the CA's OCSP or CRL broken on purpose (the mutation
# switches, docs/mutations.md) it must fail.
set -u
. "$2/tests/cli/lib/check.sh"
page="$src/docs/scenarios.md"
lab="$tmp/mylab"
mkdir -p "$lab"

# the files the blocks name, in order (UNMARKED N: block N has no name)
awk '
	/^```lua$/ { inb = 1; n++; first = 1; next }
	inb && /^```$/ { inb = 0; next }
	inb && first {
		first = 0
		if ($0 ~ /^-- file: [A-Za-z0-9_.\/-]+\.lua$/) print substr($0, 10); else print "UNMARKED " n
	}' "$page" >"$tmp/files"
grep -v '^UNMARKED' "$tmp/files" | while read -r path; do mkdir -p "$(dirname "$lab/$path")"; done
awk -v lab="$lab" '
	/^```lua$/ { inb = 1; first = 1; next }
	inb && /^```$/ { inb = 0; if (f != "/dev/null") close(f); next }
	inb && first { first = 0; f = ($0 ~ /^-- file: /) ? lab "/" substr($0, 10) : "/dev/null" }
	inb { print > f }' "$page"

nblocks=$(grep -c '^```lua$' "$page")
check "the page has Lua blocks ($nblocks)" [ "$nblocks" -ge 10 ]
check "every Lua block is a file (-- file: PATH)" sh -c "! grep -q '^UNMARKED' '$tmp/files'"
grep '^UNMARKED' "$tmp/files" | sed 's/^/  block /'
check "no two blocks name one file" sh -c "[ \"\$(sort '$tmp/files' | uniq -d)\" = '' ]"

# The lab's scenarios pass (refused/ holds the ones that must not).
(cd "$tmp" && "$bin" run mylab/card mylab/phones --out "$tmp/r" -j 2) >"$tmp/out" 2>&1
st=$?
check "mynahil run mylab/card mylab/phones: every example passes (exit $st)" [ "$st" = 0 ]
nscen=$(grep -c '^\(card\|phones\)/' "$tmp/files")
check "as many passes as example scenarios ($nscen)" grep -q "^$nscen passed, 0 failed, 0 skipped" "$tmp/out"
for id in $(sed -n 's/^  *id = "\([A-Z0-9-]*\)".*/\1/p' "$lab"/card/*.lua "$lab"/phones/*.lua); do
	check "$id passes" grep -q "^ok [0-9]* - $id " "$tmp/out"
done
grep '^not ok' -A3 "$tmp/out" | head -40

# refused/: each fails with the FILE:LINE the page shows.
for f in "$lab"/refused/*.lua; do
	rel=${f#"$lab/"}
	want=$(sed -n 's/^-- refused: //p' "$f")
	(cd "$lab" && "$bin" run "$rel" --out "$tmp/rr") >"$tmp/refused.out" 2>&1
	got=$(sed -n 's/^#   //p' "$tmp/refused.out" | head -n 1)
	check "$rel does not pass" grep -q "^not ok" "$tmp/refused.out"
	case $got in
	"$want"*) check "$rel: $want" true ;;
	*) check "$rel: want '$want', got '$got'" false ;;
	esac
done

# The error example's line as the page prints it.
check "the page shows the error's text as run prints it" sh -c \
	"(cd '$lab' && '$bin' run refused/bad_argument.lua --out '$tmp/rb') | grep -q 'bad_argument.lua:10: .*scenarios/lib/jpki.lua:[0-9]*: attempt to get length of a number value'"

# A newcomer's scenario, written from the page alone.
new="$src/tests/cli/docs_scenarios/newcomer.lua"
"$bin" run "$new" --out "$tmp/n" >"$tmp/new.out" 2>&1
check "the newcomer's issue-and-revoke scenario passes" grep -q "^1 passed, 0 failed" "$tmp/new.out"
python3 - "$tmp/n/results.json" >"$tmp/new.expects" <<'PY' || echo "FAIL: results.json unreadable"
import json, sys
for s in json.load(open(sys.argv[1]))["scenarios"]:
    for e in s["expects"]:
        if e["file"].endswith("newcomer.lua"):
            print("%s|%s" % (e["ok"], e["what"]))
PY
check "the relying party checked OCSP" grep -qi '^True|.*ocsp.*is "revoked:' "$tmp/new.expects"
check "the relying party checked the CRL" grep -qi '^True|.*crl.*is "revoked:' "$tmp/new.expects"
# With a CA whose OCSP says good to everything, or whose CRLs list
# nothing, the newcomer's scenario must fail: its checks are real.
if "$bin" run --mutate ocsp_good "$new" --out "$tmp/m0" >"$tmp/m0.out" 2>&1; [ $? = 2 ]; then
	echo "note: this build has no mutation switches (MYNAHIL_MUTANTS off)"
	[ "${CI:-}" = "" ] || check "mutation switches in the CI build" false
else
	check "OCSP broken on purpose: the newcomer's scenario fails" grep -q "^0 passed, 1 failed" "$tmp/m0.out"
	"$bin" run --mutate crl_omits "$new" --out "$tmp/m1" >"$tmp/m1.out" 2>&1
	check "CRLs broken on purpose: the newcomer's scenario fails" grep -q "^0 passed, 1 failed" "$tmp/m1.out"
	# ... and so does the page's own issue-and-revoke example
	for m in ocsp_good crl_omits; do
		(cd "$tmp" && "$bin" run --mutate "$m" mylab/phones/issue_revoke.lua --out "$tmp/p-$m") >"$tmp/p-$m.out" 2>&1
		check "$m: the page's LAB-ISSUE-REVOKE fails" grep -q "^0 passed, 1 failed" "$tmp/p-$m.out"
	done
fi

finish
