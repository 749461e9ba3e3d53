#!/bin/sh
# Errors and failures that pass through a helper (scenarios/lib, or a
# lab's own lib/ beside its scenarios) are reported at the scenario's own
# line: an error raised inside a helper prints the scenario's file:line
# first (the innermost frame in the scenario file), then the helper's;
# a helper's `nil, why` handed to expect is shown as the reason of the
# failure, never as the expect's label.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1
d=tests/cli/helper_errors

"$bin" run "$d" --out "$tmp/r" >"$tmp/out" 2>&1
st=$?
check "exit status 1: the scenarios fail" [ "$st" = 1 ]

# The first file:line of a scenario's reason, as the terminal prints it
# ("#   FILE:LINE: ...") after the scenario's "not ok ... ID" line.
first_at() {
	awk -v id="$1" '$0 ~ "^not ok .* " id " " { getline; sub(/^#   /, ""); print; exit }' "$tmp/out" |
		sed -n 's/^\([^: ]*:[0-9]*\):.*/\1/p'
}
check "bad argument to jpki: the scenario's line first" [ "$(first_at HELPER-BAD-ARGS)" = "$d/bad_args.lua:9" ]
check "... then jpki.lua's" has "bad_args.lua:9: [^ ]*scenarios/lib/jpki.lua:[0-9]*: attempt to get length" "$tmp/out"
check "a lab helper in step(): the callback's line, not step()'s" [ "$(first_at HELPER-IN-STEP)" = "$d/lab_step.lua:10" ]
check "... then the lab's lib/" has "lab_step.lua:10: [^ ]*$d/lib/lab.lua:15: lab.checked_hex: want a hex string" "$tmp/out"
check "a bad card to app.issue, three helpers down a flow: the call's line" [ "$(first_at HELPER-IN-FLOW)" = "$d/app_flow.lua:11" ]
check "results.json keeps the order" has "app_flow.lua:11: [^ ]*scenarios/lib/jpki.lua:" "$tmp/r/results.json"
check "the flow's first traceback is in the log" has "raised in a flow:" "$tmp/r/junit.xml"

# expect(helper()) after nil, why: the why is the reason, not the label.
python3 - "$tmp/r/results.json" >"$tmp/expects" <<'PY' || echo "FAIL: results.json unreadable"
import json, sys
for s in json.load(open(sys.argv[1]))["scenarios"]:
    if s["id"] == "EXPECT-REASON":
        for e in s["expects"]:
            if e["file"].endswith("expect_reason.lua"):
                print("%d|%s|%s|%s" % (e["line"], e["ok"], e["what"], e["msg"]))
PY
check "jpki.verify's nil, \"format\": a failure" has '^10|False|sw 9000|no response: nil (format)' "$tmp/expects"
check "a lab helper's nil, why: a failure with the why" has "^11|False|is \"alice\"|got nil (no holder 'nobody' in this lab), want \"alice\"" "$tmp/expects"
check "the why is no label" sh -c "! grep -q '|format \|no holder.*is \"alice\"|' '$tmp/expects'"
check "a refusal expected to fail passes" has '^12|True|fails|' "$tmp/expects"
check "a label after a value is still a label" has '^13|True|a label after a value is "alice"|' "$tmp/expects"
check "the terminal shows the reason at the scenario's line" has "expect_reason.lua:10: no response: nil (format)" "$tmp/out"

# A lab's lib/ is found from the scenario's directory as the kernel
# resolves it, whatever the path spells: from inside the directory, and
# from the lab's root with a relative path one level down.
(cd "$d" && "$bin" run expect_reason.lua --out "$tmp/r2") >"$tmp/out2" 2>&1
check "run from the scenario's directory: lib/ beside it found" sh -c "! grep -q \"module 'lab' not found\" '$tmp/out2' && grep -q 'no holder' '$tmp/out2'"
mkdir -p "$tmp/lab/phones" "$tmp/lab/lib/lab"
printf 'return { greet = function() return "hi" end }\n' >"$tmp/lab/lib/lab/util.lua"
printf 'local u = require "lab.util"\nreturn scenario { id = "LAB-1", title = "t",\n  run = function(w) expect(u.greet()).is "hi" end }\n' >"$tmp/lab/phones/one.lua"
(cd "$tmp/lab" && "$bin" run phones --out "$tmp/r3") >"$tmp/out3" 2>&1
check "run phones from the lab's root: lib/lab/util.lua as lab.util" has "^1 passed, 0 failed" "$tmp/out3"

finish
