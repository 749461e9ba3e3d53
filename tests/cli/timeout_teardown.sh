#!/bin/sh
# A scenario its watchdog stops still leaves the bench as it found it
# (issue 11 point 4): TO-01 issues on a bound SE, then loops forever
# under --timeout 2.  The watchdog ends it as an error, and then the
# invariants are checked and app.lua's teardown runs in a window of its
# own (hil/run/lua/lhil.h, LHIL_TEARDOWN_S): the phone's certificates
# revoked and the applet deleted (its DELETE in the trace after the
# loop), and the teardown's own look at the SE finds it without the
# applet.  Before, the watchdog fired again in the teardown and the SE
# was left holding the holder's certificates (the watchdog looks at the
# clock every 10,000 Lua instructions: a teardown of any weight met it).
set -u
. "$2/tests/cli/lib/check.sh"

mkdir -p "$tmp/sc"
cat >"$tmp/sc/to.lua" <<'LUA'
local app = require "app"
return scenario {
  id = "TO-01", title = "issues on the bound SE, then never ends",
  needs = { "se", "tsm" },
  run = function(w)
    local phone = app.phone(w)
    local card = app.card(w.card, w.profile.pins)
    local r = app.issue(w, phone, card, { pins = { auth = "1357", sign = "PHONE2026" } })
    expect(r.ok, "issued").is_true()
    -- a teardown of some weight (run first: the last registered first),
    -- as a real bench's clearing and checks are: past the watchdog's
    -- next look at the clock
    mynahil.teardown("count", function() local x = 0 for i = 1, 200000 do x = x + i end end)
    while true do end
  end,
}
LUA
"$bin" run "$tmp/sc" --timeout 2 --target 'se=sim:se?serial=0746C916' --out "$tmp/out" >"$tmp/log" 2>&1
check "the run fails (exit 1)" [ $? = 1 ]
r=$tmp/out/results.json
q() { python3 -c "import json, sys; s = json.load(open('$r'))['scenarios'][0]; sys.exit(0 if ($1) else 1)"; }
check "TO-01 an error: the watchdog" q "s['status'] == 'error' and 'wall-clock watchdog' in s['reason']"
check "not killed by the runner" q "'killed' not in s['reason']"
check "the invariants were checked" q "'invariants not checked' not in s['reason'] and any(e['file'] == 'docs/domain.md#invariants' for e in s['expects'])"
check "it issued before the loop" q "any(e['what'] == 'issued is true' and e['ok'] for e in s['expects'])"
check "the teardown ran and passed" q "[e['ok'] for e in s['expects'] if e['what'].startswith('teardown')] == [True] * 2"
check "the teardown found the SE without the applet" \
	q "any(e['what'].startswith('teardown: ') and 'without the applet' in e['what'] and e['ok'] for e in s['expects'])"
# the trace: the issuance's INSTALL, then, after the loop, a DELETE (E4)
# wrapped under SCP03 (CLA 84) on the se
t=$tmp/out/traces/TO-01.jsonl
check "the trace: an INSTALL (E6) of the issuance" has '"cmd":"84E6' "$t"
check "the trace: a DELETE (E4) after it" sh -c "sed -n '/\"cmd\":\"84E6/,\$p' '$t' | grep -q '\"cmd\":\"84E4'"
finish
