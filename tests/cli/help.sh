#!/bin/sh
# --help everywhere, --version, usage errors with status 2, and the
# wall-clock watchdog stopping a scenario that outlives its timeout.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1
check "--version" sh -c "'$bin' --version | grep -Eq '^mynahil [0-9]+\.[0-9]+\.[0-9]+$'"
check "--help" sh -c "'$bin' --help | grep -q '^commands:'"
for c in run list apdu; do
	check "$c --help" sh -c "'$bin' $c --help | grep -q '^usage: mynahil $c'"
done
"$bin" frobnicate >/dev/null 2>"$tmp/e"; st=$?
check "unknown command: status 2" [ "$st" = 2 ]
check "unknown command named" grep -q "unknown command 'frobnicate'" "$tmp/e"
"$bin" run --shard 3/2 >/dev/null 2>"$tmp/e"; st=$?
check "bad --shard: status 2 and why" sh -c "[ $st = 2 ] && grep -q 'shard takes I/N' '$tmp/e'"
"$bin" apdu </dev/null >/dev/null 2>"$tmp/e"; st=$?
check "apdu without --target: status 2" sh -c "[ $st = 2 ] && grep -q 'target is required' '$tmp/e'"

# The scenario's own timeout = 1 s stops an endless loop that the
# instruction budget (default) would let run far longer.
"$bin" run tests/cli/slow --out "$tmp/r" >"$tmp/o" 2>&1; st=$?
check "watchdog: status 1" [ "$st" = 1 ]
check "watchdog: file:line named" grep -q "tests/cli/slow/slow.lua:4: wall-clock watchdog" "$tmp/o"

finish
