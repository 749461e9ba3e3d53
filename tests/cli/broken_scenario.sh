#!/bin/sh
# A broken scenario file is reported as "file:line: what is wrong", fails
# alone, and the run's exit status says so.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

"$bin" run tests/cli/data --out "$tmp/r" --budget 50000000 >"$tmp/out" 2>&1
st=$?
check "exit status 1 when scenarios fail" [ "$st" = 1 ]
check "syntax error: file:line" has "tests/cli/data/broken_syntax.lua:3:" "$tmp/out"
check "runtime error: file:line" has "tests/cli/data/broken_runtime.lua:5: attempt to index a nil value" "$tmp/out"
check "bad field: file:line" has "tests/cli/data/broken_field.lua:1: scenario: field 'id' must be a string" "$tmp/out"
check "failed expect: file:line" has "tests/cli/data/failing_expect.lua:5" "$tmp/out"
check "failed expect shows status words" has "got 9000, want 6982" "$tmp/out"
check "failed expect shows the APDUs before it" has "after 00A4040C0AD392F000260100000001 -> 9000" "$tmp/out"
check "runaway stopped by the budget, at its line" has "tests/cli/data/runaway.lua:4: instruction budget of 50000000 exhausted" "$tmp/out"
check "escape: absolute path refused at its line" has "tests/cli/data/escape.lua:14: io.open: '/etc/shadow' is outside the run directory" "$tmp/out"
check "escape: file written inside the run dir" [ -f "$tmp/r/run/ESCAPE/note.txt" ]
check "results.json carries the line" has "broken_syntax.lua:3:" "$tmp/r/results.json"
check "junit.xml written" has "<testsuite" "$tmp/r/junit.xml"
check "summary line" has "^0 passed, 7 failed, 0 skipped$" "$tmp/out"
check "a broken invariant fails the scenario, named" has "invariant 9 (docs/domain.md#invariants): broken on purpose" "$tmp/out"
check "an invariant that does not apply is not reported" python3 -c "import json, sys; sys.exit(any(e['file'] == 'docs/domain.md#invariants' and e['line'] == 8 for r in json.load(open('$tmp/r/results.json'))['scenarios'] for e in r.get('expects') or []))"

"$bin" list tests/cli/data >"$tmp/list" 2>&1
check "list names the broken file's line" has "broken_syntax.lua:3:" "$tmp/list"
"$bin" run --filter 'NOSUCH' tests/cli/data --out "$tmp/r2" >"$tmp/out2" 2>&1
check "empty selection is not a pass: exit 2" [ $? = 2 ]
"$bin" run tests/cli/data/nonexistent.lua --out "$tmp/r3" >"$tmp/out3" 2>&1
check "missing path: exit 2" [ $? = 2 ]
check "missing path named" has "nonexistent.lua" "$tmp/out3"

cp tests/cli/data/failing_expect.lua "$tmp/dup.lua"
"$bin" run "$tmp/dup.lua" tests/cli/data/failing_expect.lua --out "$tmp/r4" >"$tmp/out4" 2>&1
check "duplicate ids: the later file is an error" has "failing_expect.lua:1: duplicate scenario id 'FAILING-EXPECT'" "$tmp/out4"

finish
