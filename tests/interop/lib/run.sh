#!/bin/sh
# tests/interop/lib/run.sh — how ctest runs each interop test.
#
# Usage: sh run.sh TEST.sh MYNAHIL SOURCE-DIR
#
# A test exits 77 (a skip: root, a tool or a namespace missing) after a
# "SKIP: reason" line.  On a bench that is a note; under CI (the CI
# variable set and non-empty, read now rather than when CMake configured
# the build, which may have been long before) nothing may be skipped:
# scripts/deps.sh installs every tool the tests use, so a skip there means
# a broken environment, and it fails the run instead of hiding a test.
test=$1
shift
sh "$test" "$@"
st=$?
if [ "$st" = 77 ] && [ -n "${CI:-}" ]; then
	echo "FAIL: skipped under CI: $(basename "$test") exited 77 (its SKIP line above says why)"
	exit 1
fi
exit "$st"
