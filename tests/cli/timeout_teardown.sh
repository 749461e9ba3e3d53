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
#
# Then the next scenario, TO-02, on the same SE (a state file: the NVM
# saved when TO-01's link closes, loaded by TO-02's) and the same TSM (a
# served one, so that its registry outlives a scenario) looks before
# anything clears it: no applet on the SE, no live device of the holder
# in the registry, which does know the device TO-01 issued on.  With
# --keep-devices (no teardown) the same look finds the applet and the
# live device: the look sees what TO-01 left.
set -u
. "$2/tests/cli/lib/check.sh"
tsm_pid=
trap '[ -n "$tsm_pid" ] && kill "$tsm_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

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
cat >"$tmp/sc/to2.lua" <<'LUA'
local app = require "app"
return scenario {
  id = "TO-02", title = "the next scenario finds the SE as TO-01 should have left it",
  needs = { "se", "tsm" },
  run = function(w)
    -- w.se as it is: no app.phone, whose set-up would clear it first
    expect(app.applet_present({ se = w.se }), "the SE without the applet").is(false)
    local holder = app.holder(w, app.card(w.card, w.profile.pins))
    local s, l = w.tsm:call("GET", "/v1/tsm/holders/" .. tostring(holder) .. "/devices")
    expect(s, "the registry answers").is(200)
    local live, known = 0, 0
    for _, d in ipairs(s == 200 and l.devices or {}) do
      known = known + 1
      if d.status == "active" or d.status == "hold" or d.status == "half" then live = live + 1 end
    end
    expect(known >= 1, "the registry knows the device TO-01 issued on").is_true()
    expect(live, "the holder's live devices in the registry").is(0)
  end,
}
LUA
"$bin" serve tsm --listen 127.0.0.1:0 >"$tmp/tsm.log" 2>&1 &
tsm_pid=$!
end=$(($(date +%s) + 10))
until grep -q 'listening on' "$tmp/tsm.log"; do
	kill -0 "$tsm_pid" 2>/dev/null && [ "$(date +%s)" -lt "$end" ] || { cat "$tmp/tsm.log"; echo "FAIL: serve tsm did not start"; exit 1; }
	sleep 0.05
done
tsm=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$tmp/tsm.log")
"$bin" run "$tmp/sc" -j 1 --timeout 2 --target "se=sim:se?serial=0746C916&state=$tmp/se.nvm" --target "tsm=$tsm" \
	--out "$tmp/out" >"$tmp/log" 2>&1
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
s2() { python3 -c "import json, sys; s = [x for x in json.load(open('$1'))['scenarios'] if x['id'] == 'TO-02'][0]; sys.exit(0 if ($2) else 1)"; }
check "TO-02 ran after TO-01 and passed: the SE clean, no live device of the holder" \
	s2 "$r" "s['status'] == 'pass' and len(s['expects']) >= 4"
# the control: no teardown, and TO-02's look finds what TO-01 left
"$bin" run "$tmp/sc" -j 1 --keep-devices --timeout 2 --target "se=sim:se?serial=0746C917&state=$tmp/se2.nvm" \
	--target "tsm=$tsm" --out "$tmp/keep" >"$tmp/keep.log" 2>&1
check "--keep-devices: TO-02 finds the applet" \
	s2 "$tmp/keep/results.json" "any(e['what'].startswith('the SE without the applet') and not e['ok'] for e in s['expects'])"
check "--keep-devices: TO-02 finds the holder's live device" \
	s2 "$tmp/keep/results.json" "any(e['what'].startswith(\"the holder's live devices\") and not e['ok'] for e in s['expects'])"
finish
