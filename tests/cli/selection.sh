#!/bin/sh
# Selecting nothing is not a pass: an empty directory, a --filter or
# --tags that match nothing exit 2 with a line saying nothing was
# selected.  Overlapping paths select each file once.  Shards split the
# runs after the matrix is expanded: balanced (sizes differ by one at
# most), disjoint, and together the unsharded run.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

nothing() { # description, args...: exit 2, "nothing selected", no report
	_d=$1
	shift
	"$bin" run "$@" --out "$tmp/r" >"$tmp/o" 2>"$tmp/e"
	_st=$?
	check "$_d: run exits 2 (got $_st)" [ "$_st" = 2 ]
	check "$_d: says nothing was selected" grep -q 'nothing selected' "$tmp/e"
	check "$_d: no results.json" [ ! -e "$tmp/r/results.json" ]
	"$bin" list "$@" >"$tmp/l" 2>"$tmp/le"
	_st=$?
	check "$_d: list exits 2 too (got $_st)" [ "$_st" = 2 ]
	check "$_d: list says so" grep -q 'nothing selected' "$tmp/le"
}
mkdir "$tmp/empty" "$tmp/empty/lib"
printf 'return {}\n' >"$tmp/empty/lib/helper.lua" # lib/ holds modules, not scenarios
nothing "an empty directory" "$tmp/empty"
nothing "a --filter that matches nothing" scenarios/card --filter 'NO-SUCH-ID'
nothing "--tags that match nothing" scenarios/card --tags no-such-tag
check "the filter is named" grep -q "none of .* scenario files matches --tags 'no-such-tag'" "$tmp/e"

# Overlapping paths: each file once (a second copy would be a duplicate id).
n1=$("$bin" list scenarios/card | wc -l)
n2=$("$bin" list scenarios scenarios/card scenarios/card/ ./scenarios/card | grep -c 'scenarios/card/')
check "overlapping paths select each file once ($n1 = $n2)" [ "$n1" = "$n2" ]
"$bin" list scenarios/card scenarios/card >"$tmp/ov" 2>&1
check "no duplicate id from overlapping paths" sh -c "! grep -q 'duplicate' '$tmp/ov'"
f=$(ls scenarios/card/*.lua | head -1)
check "a file named twice (./x and x) once" [ "$("$bin" list "$f" "./$f" | grep -c .)" = 1 ]

# Shards after the matrix: tests/cli/matrix/ok is 5 runs (4 of MX-01, 1 of MX-02).
runs() { "$bin" list tests/cli/matrix/ok --matrix "$@" | sed -n '/^MX-/s/ .*//p'; }
runs >"$tmp/all"
check "the matrix is 5 runs" [ "$(wc -l <"$tmp/all")" = 5 ]
: >"$tmp/union"
for i in 1 2 3; do
	runs --shard "$i/3" >"$tmp/s$i"
	cat "$tmp/s$i" >>"$tmp/union"
done
check "3 shards of 5 runs: 2, 2, 1" sh -c "[ \$(wc -l <'$tmp/s1') = 2 ] && [ \$(wc -l <'$tmp/s2') = 2 ] && [ \$(wc -l <'$tmp/s3') = 1 ]"
sort "$tmp/all" >"$tmp/all.sorted"
check "the shards together are the unsharded run" sh -c "sort '$tmp/union' | cmp -s - '$tmp/all.sorted'"
check "the shards are disjoint" [ -z "$(sort "$tmp/union" | uniq -d)" ]
# More shards than runs: an empty shard is not an error (a CI matrix is
# fixed), and says so.
"$bin" run tests/cli/matrix/ok --shard 6/6 --out "$tmp/e6" >"$tmp/o6" 2>"$tmp/e6.err"
check "an empty shard: exit 0, said" sh -c "[ $? = 0 ] && grep -q 'shard 6/6: nothing to run' '$tmp/e6.err'"

finish
