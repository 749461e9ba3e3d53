#!/bin/sh
# The iPhone's device methods from a scenario (tests/cli/ios/00_device.lua,
# docs/ios.md#lua): the scenario passes, and its expects were run.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

"$bin" run tests/cli/ios --out "$tmp/r" >"$tmp/r.log" 2>&1
st=$?
check "IOS-LUA passes" [ "$st" = 0 ]
[ "$st" = 0 ] || cat "$tmp/r.log"
check "one scenario, passed" has '^1 passed, 0 failed' "$tmp/r.log"
check "its expects ran (at least 25)" sh -c "[ \$(grep -o 'assertions=\"[0-9]*\"' '$tmp/r/junit.xml' | head -1 | tr -dc 0-9) -ge 25 ]"
finish
