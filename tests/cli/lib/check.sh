# tests/cli/lib/check.sh — sourced by the tests/cli scripts (not a test).
# Usage, first thing after `set -u`:  . "$2/tests/cli/lib/check.sh"
# It sets bin=$1 (the mynahil binary) and src=$2 (the source tree), makes
# a scratch $tmp removed on exit, and gives:
#   check DESCRIPTION COMMAND...  counts COMMAND's success, names a failure
#   has PATTERN FILE              grep -q
#   finish                        prints "N passed, N failed"; its status
#                                 is the test's
# shellcheck shell=sh
bin=$1 src=${2:-}
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() {
	_what=$1
	shift
	if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $_what"; fi
}
has() { grep -q -- "$1" "$2"; }
lacks() { ! grep -q -- "$1" "$2"; }
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" = 0 ]
}
