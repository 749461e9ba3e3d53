#!/bin/sh
# Scenarios written to do harm (tests/cli/hostile/) each fail alone, with
# a message that says what was refused, while the run goes on and writes
# its reports; nothing is written outside the run directory.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1
# result ID STATUS TEXT: results.json has ID with STATUS and TEXT in its reason.
result() {
	python3 - "$tmp/r/results.json" "$1" "$2" "$3" <<'PY'
import json, sys
path, sid, status, text = sys.argv[1:]
for s in json.load(open(path))["scenarios"]:
    if s["id"] == sid:
        ok = s["status"] == status and text in (s.get("reason") or "")
        if not ok:
            print(f"  {sid}: {s['status']}: {s.get('reason')}")
        sys.exit(0 if ok else 1)
print(f"  {sid}: not in results.json")
sys.exit(1)
PY
}

# A fixture tree with a symlink out of it, as a careless lab might have.
cp -r fixtures "$tmp/fx"
echo "secret" >"$tmp/secret.lua"
ln -s "$tmp/secret.lua" "$tmp/fx/profiles/leak.lua"
rm -f /tmp/mynahil-hostile-abs.img
cp fixtures/profiles/default.lua "$tmp/default.before"

start=$(date +%s)
MYNAHIL_FIXTURES="$tmp/fx" "$bin" run tests/cli/hostile --out "$tmp/r" --timeout 5 --memory 128 -j 2 \
	>"$tmp/out" 2>&1
st=$?
took=$(($(date +%s) - start))
check "exit status 1: scenarios failed, none took the run down" [ "$st" = 1 ]
check "reports written" has "<testsuite" "$tmp/r/junit.xml"
check "the honest one passed" result H-OK pass ""
check "its state file is in its run directory" [ -s "$tmp/r/run/H-OK/se.img" ]

check "state= absolute path refused" result H-STATE-ABS error "state: '/tmp/mynahil-hostile-abs.img' is outside the run directory"
check "  and nothing written there" [ ! -e /tmp/mynahil-hostile-abs.img ]
check "state= ../ refused" result H-STATE-REL error "state: '../../../escaped.img' is outside the run directory"
check "  and nothing written there" [ ! -e "$tmp/escaped.img" ]
check "state= into the fixtures refused" result H-STATE-FIXTURE error "is outside the run directory"
check "  the fixture untouched" cmp -s "$tmp/fx/profiles/default.lua" "$tmp/default.before"
check "profile= symlink out of the fixtures refused" result H-PROFILE-LINK error "profile: 'profiles/leak.lua' is outside the fixture tree"
check "w:fixture ../ refused" result H-FIXTURE-DOTDOT error "w:fixture: '../scripts/deps.sh' is outside the fixture tree"
check "nfc: port must be a device" result H-NFC-FILE error "reader port: '/etc/passwd' is outside /dev"
check "package is gone" result H-PACKAGE error "hostile/package_path.lua:4: attempt to index a nil value (global 'package')"
check "require of a path refused" result H-REQUIRE-PATH error "require '../../../etc/passwd': a module name is dotted identifiers"
check "require of a binary chunk refused" result H-REQUIRE-BINARY error "attempt to load a binary chunk (mode is 't')"
check "a binary scenario file refused" result binary_scenario error "attempt to load a binary chunk"
check "__gc refused" result H-GC-LOOP error "gc_loop.lua:5: setmetatable: __gc is not available in a scenario"
check "pattern bomb killed by the watchdog" result H-PATTERN error "watchdog: no result while running after 17 s; killed"
check "pattern bomb at top level killed while loading" result pattern_top error "watchdog: no result while loading after 7 s; killed"
check "memory bomb stopped" result H-MEMORY error "memory limit of 128 MiB exhausted"
# Stopped by the hook at 5 s, or by the hard kill at 7 s on a loaded machine.
check "a scenario cannot raise --timeout" result H-TIMEOUT error "watchdog"
check "timeout out of range refused" result timeout_huge error "field 'timeout' must be a number of seconds, at least 1"
check "an id that is a path refused" result bad_id error "field 'id' must be 1-64 letters"
check "no trace or run dir outside the reports" [ ! -e "$tmp/x" ] && [ ! -e "$tmp/x.jsonl" ]
# 2 jobs, two 7 s kills and a 5 s watchdog: well under a minute.
check "the run ended in bounded time ($took s)" [ "$took" -lt 120 ]

"$bin" list tests/cli/hostile --timeout 2 >"$tmp/list" 2>&1
check "list survives a top-level pattern bomb" has "pattern_top.lua: watchdog" "$tmp/list"

finish
