#!/bin/sh
# mynahil report merge / diff and list --matrix (issue 15): two shards of
# a matrix run merged give the unsharded run's junit.xml, results.json,
# results.tap, record.json and report.html, timing aside; merging a
# directory twice or another run's shard is refused; diff of a run
# against itself says nothing and exits 0, against a run with one
# scenario broken names that scenario (newly failing, status words
# changed) and exits 1, as text and as HTML; list --matrix prints each
# run's seed sections and the coverage matrix with its uncovered cells.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1
sel="scenarios/card scenarios/tsm/03_half_valid.lua scenarios/tsm/10_revoke_without_card.lua"

# shellcheck disable=SC2086
"$bin" run $sel --matrix --seed 7 -j 2 --out "$tmp/all" >"$tmp/all.log" 2>&1
check "the unsharded run passes" [ $? = 0 ]
for i in 1 2; do
	# shellcheck disable=SC2086
	"$bin" run $sel --matrix --seed 7 -j 2 --shard "$i/2" --out "$tmp/s$i" >"$tmp/s$i.log" 2>&1
done
n1=$(grep -c '"id"' "$tmp/s1/results.json") n2=$(grep -c '"id"' "$tmp/s2/results.json")
check "each shard ran part of the run" [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ]
"$bin" report merge "$tmp/s2" "$tmp/s1" --out "$tmp/m" >"$tmp/merge.log" 2>&1
check "merge exits 0" [ $? = 0 ]

# timing aside: durations in JSON, time= in JUnit, the timing section
# and the per-run durations of the page
untimed_json() {
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
d.pop("timing", None); d.pop("total_ms", None)
for s in d.get("scenarios", []): s.pop("ms", None)
print(json.dumps(d, indent=1, ensure_ascii=False))' "$1"
}
untimed_html() {
	sed -E '/<section id="timing">/,/<\/section>/d; s/\([0-9.]+ ms, /(/; s/; [0-9.]+ s</</' "$1"
}
for f in results.json record.json; do
	untimed_json "$tmp/all/$f" >"$tmp/a.$f"
	untimed_json "$tmp/m/$f" >"$tmp/m.$f"
	check "merged $f is the unsharded one's, timing aside" cmp -s "$tmp/a.$f" "$tmp/m.$f"
done
sed 's/ time="[^"]*"//g' "$tmp/all/junit.xml" >"$tmp/a.junit"
sed 's/ time="[^"]*"//g' "$tmp/m/junit.xml" >"$tmp/m.junit"
check "merged junit.xml is the unsharded one's, timing aside" cmp -s "$tmp/a.junit" "$tmp/m.junit"
check "merged results.tap is the unsharded one's" cmp -s "$tmp/all/results.tap" "$tmp/m/results.tap"
untimed_html "$tmp/all/report.html" >"$tmp/a.html"
untimed_html "$tmp/m/report.html" >"$tmp/m.html"
check "merged report.html is the unsharded one's, timing aside" cmp -s "$tmp/a.html" "$tmp/m.html"
check "the page holds the traces (merged traces/ copied)" has '"00A4040C0AD392F000260100000001"' "$tmp/m/report.html"
check "the page's reproduce line has no --shard" has 'mynahil run scenarios/card scenarios/tsm/03_half_valid.lua' "$tmp/m/report.html"
check "the page's reproduce line has no --shard (really)" sh -c "! grep -q -- '--shard' '$tmp/m/report.html'"

"$bin" report merge "$tmp/s1" "$tmp/s1" --out "$tmp/m2" >"$tmp/dup.log" 2>&1
check "a shard given twice: exit 2" [ $? = 2 ]
check "a shard given twice: said so" has "in two shards" "$tmp/dup.log"
"$bin" run scenarios/card --seed 8 --shard 1/2 --out "$tmp/other" >/dev/null 2>&1
"$bin" report merge "$tmp/s1" "$tmp/other" --out "$tmp/m3" >"$tmp/other.log" 2>&1
check "another run's shard: exit 2" [ $? = 2 ]
check "another run's shard: said so" has "is not a shard of the run" "$tmp/other.log"

# diff against itself: nothing; against its merged shards: nothing but
# perhaps timing (another machine's load)
"$bin" report diff "$tmp/all" "$tmp/all" --html "$tmp/same.html" >"$tmp/same.txt" 2>&1
check "diff of a run against itself: exit 0" [ $? = 0 ]
check "diff of a run against itself: no differences" [ "$(cat "$tmp/same.txt")" = "no differences" ]
check "diff page: no differences" has '<p id="verdict">no differences</p>' "$tmp/same.html"
"$bin" report diff "$tmp/all" "$tmp/m" >"$tmp/merged.txt" 2>&1
check "diff of a run against its merge: exit 0" [ $? = 0 ]
check "diff of a run against its merge: no result or status word changed" \
	sh -c "! grep -q -e '^newly' -e '^gone' -e '^new ' -e '^status words' '$tmp/merged.txt'"

# one scenario broken in a copy of the scenarios: the wrong PIN is the right one
mkdir -p "$tmp/sc"
cp -r scenarios/card scenarios/lib "$tmp/sc/"
sed -i 's/expect(jpki.verify(card, "auth", wrong)).sw(0x63C2)/expect(jpki.verify(card, "auth", pins.auth)).sw(0x63C2)/' \
	"$tmp/sc/card/00_session.lua"
check "the copy is broken" has 'verify(card, "auth", pins.auth)).sw(0x63C2)' "$tmp/sc/card/00_session.lua"
"$bin" run scenarios/card --seed 7 --out "$tmp/good" >/dev/null 2>&1
"$bin" run "$tmp/sc/card" --seed 7 --out "$tmp/bad" >/dev/null 2>&1
"$bin" report diff "$tmp/good" "$tmp/bad" --html "$tmp/diff.html" >"$tmp/diff.txt" 2>&1
check "diff with a broken scenario: exit 1" [ $? = 1 ]
check "diff names it as newly failing" sh -c "sed -n '/^newly failing:/,/^[a-z]/p' '$tmp/diff.txt' | grep -q '^  CARD-00: pass -> fail'"
check "diff names its changed status word" sh -c "grep -A3 '^status words changed:' '$tmp/diff.txt' | grep -q 'CARD-00: exchange .*63C2 -> .*9000'"
check "diff names no other scenario as failing" [ "$(grep -c -- '-> fail' "$tmp/diff.txt")" = 1 ]
check "diff says regressed" has "^regressed$" "$tmp/diff.txt"
check "diff page names it" has 'data-id="CARD-00"' "$tmp/diff.html"
"$bin" report diff "$tmp/bad" "$tmp/good" >"$tmp/fixed.txt" 2>&1
check "the other way round: newly passing, exit 0" [ $? = 0 ]
check "the other way round: CARD-00 newly passes" has "CARD-00: fail -> pass" "$tmp/fixed.txt"
"$bin" report diff "$tmp/good" "$tmp/nothing" >"$tmp/none.txt" 2>&1
check "diff of a missing directory: exit 2" [ $? = 2 ]

# traceability
"$bin" list scenarios --matrix >"$tmp/list.txt" 2>&1
check "list --matrix: each run's seed sections" has "^  LC-05\[se_model=shared_isd\] .* §1 revoke; §2 5$" "$tmp/list.txt"
check "list --matrix: both se_model runs" has "^  LC-05\[se_model=ssd\] .* §1 revoke; §2 5$" "$tmp/list.txt"
check "list --matrix: the coverage grid" has "^revoke " "$tmp/list.txt"
check "list --matrix: case 2 covered (LC-02), no case left uncovered" lacks "no scenario" "$tmp/list.txt"
check "list --matrix: uncovered cells counted" has "cells (operation x case) uncovered" "$tmp/list.txt"
"$bin" list scenarios >"$tmp/plain.txt" 2>&1
check "plain list: no matrix" sh -c "! grep -q coverage '$tmp/plain.txt'"
finish
