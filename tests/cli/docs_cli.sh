#!/bin/sh
# The docs run as written: every ```sh block of docs/cli.md runs under
# sh -eu with `mynahil` on the PATH, in a directory holding the
# repository's scenarios/ and fixtures/ (a block that shows a failure
# says so itself: `|| echo "exit status $?"`).  A block that fails, or a
# page that lost its blocks, fails the test.
set -u
. "$2/tests/cli/lib/check.sh"

mkdir "$tmp/bin" "$tmp/work"
ln -s "$bin" "$tmp/bin/mynahil"
ln -s "$src/scenarios" "$tmp/work/scenarios"
ln -s "$src/fixtures" "$tmp/work/fixtures"

for page in docs/cli.md; do
	# each block into its own file: blocks/PAGE-N.sh
	mkdir -p "$tmp/blocks"
	awk -v dir="$tmp/blocks" -v name="$(basename "$page" .md)" '
		/^```sh$/ { n++; f = sprintf("%s/%s-%02d.sh", dir, name, n); inb = 1; next }
		/^```/ { inb = 0; next }
		inb { print > f }' "$src/$page"
	nblocks=$(ls "$tmp/blocks" | grep -c "^$(basename "$page" .md)-")
	check "$page has shell blocks ($nblocks)" [ "$nblocks" -gt 0 ]
	for b in "$tmp/blocks/$(basename "$page" .md)"-*.sh; do
		(cd "$tmp/work" && PATH="$tmp/bin:$PATH" sh -eu "$b") >"$b.out" 2>&1
		st=$?
		check "$page block $(basename "$b" .sh) runs as written (exit $st)" [ "$st" = 0 ]
		[ "$st" = 0 ] || { sed 's/^/  | /' "$b"; sed 's/^/  > /' "$b.out" | tail -n 15; }
	done
done

# What the blocks show is what the page says.
check "the role typo is named" grep -q "unknown role 'crd'" "$tmp/blocks/cli-01.sh.out"
check "the query key typo is named" grep -q "unknown query key 'profle'" "$tmp/blocks/cli-01.sh.out"
check "sim:crad: one line" grep -q "role card: sim:crad: unknown simulator" "$tmp/blocks/cli-02.sh.out"
check "the TSM nobody answers at" grep -qi "cannot reach the TSM at http://127.0.0.1:1: connection refused" "$tmp/blocks/cli-02.sh.out"
check "nothing selected, said" grep -q "nothing selected" "$tmp/blocks/cli-03.sh.out"
check "the second run's traces only" sh -c "grep -q 'CARD-01.jsonl' '$tmp/blocks/cli-05.sh.out' && ! grep -q 'CARD-00.jsonl' '$tmp/blocks/cli-05.sh.out'"

finish
