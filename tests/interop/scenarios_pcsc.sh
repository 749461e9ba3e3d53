#!/bin/sh
# The card scenarios run unchanged over pcscd + vpcd: bound with
# --target card=pcsc:..., or by a bench file; the ones that need a
# simulator's insides are skipped with the reason; power cycles and
# resets go through PC/SC to the served simulator (CARD-04).  An
# explicit --target beats the bench file.
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/pcscd.sh"
interop_enter "$0" "$@"

start_pcscd
start_serve
check "the served card appears" wait_card 10000
cd "$src" || exit 1

json_status() { # file id -> status
	perl -0ne 'while (/"id": "([^"]+)".*?"status": "([^"]+)"(?:,\s*"reason": "([^"]*)")?/sg) { print "$1 $2 ", ($3 // ""), "\n" }' "$1" |
		awk -v id="$2" '$1 == id { print $2; exit }'
}

"$bin" run scenarios/card --out "$tmp/r1" --target "card=pcsc:Virtual PCD" >"$tmp/r1.log" 2>&1
check "run over pcsc: exit 0" [ $? = 0 ]
check "6 passed, 0 failed, 2 skipped" grep -q '^6 passed, 0 failed, 2 skipped' "$tmp/r1.log"
for id in CARD-00 CARD-01 CARD-02 CARD-04 CARD-05 CARD-06; do
	check "$id passes over pcsc" [ "$(json_status "$tmp/r1/results.json" $id)" = pass ]
done
for id in CARD-03 CARD-07; do
	check "$id (needs sim) skipped" [ "$(json_status "$tmp/r1/results.json" $id)" = skip ]
done
check "the skip says why" grep -q "CARD-03 .*# SKIP needs a simulator's insides; card is bound to pcsc:Virtual PCD" "$tmp/r1.log"
check "results.json names the target" grep -q '"target": "card=pcsc:Virtual PCD"' "$tmp/r1/results.json"

# The same through a bench file.
cat >"$tmp/bench.lua" <<'EOS'
-- the lab bench: the card in the virtual reader
return { card = "pcsc:Virtual PCD" }
EOS
"$bin" run scenarios/card --out "$tmp/r2" --bench "$tmp/bench.lua" >"$tmp/r2.log" 2>&1
check "run --bench: exit 0" [ $? = 0 ]
check "run --bench: 6 passed, 2 skipped" grep -q '^6 passed, 0 failed, 2 skipped' "$tmp/r2.log"
check "run --bench: bound to pcsc" grep -q '"target": "card=pcsc:Virtual PCD"' "$tmp/r2/results.json"

# --target wins over the bench file: everything runs in process.
"$bin" run scenarios/card --out "$tmp/r3" --bench "$tmp/bench.lua" --target card=sim:card >"$tmp/r3.log" 2>&1
check "--target beats --bench: exit 0" [ $? = 0 ]
check "--target beats --bench: 8 passed, none skipped" grep -q '^8 passed, 0 failed, 0 skipped' "$tmp/r3.log"

# CARD-04 talks to the card only through power and APDUs: its expects
# over pcsc are those over sim.
"$bin" run scenarios/card --filter CARD-04 --out "$tmp/r4" >/dev/null 2>&1
check "CARD-04: same number of APDUs over pcsc as over sim" \
	[ "$(perl -0ne 'print $1 if /"id": "CARD-04".*?"apdus": (\d+)/s' "$tmp/r1/results.json")" = \
	  "$(perl -0ne 'print $1 if /"id": "CARD-04".*?"apdus": (\d+)/s' "$tmp/r4/results.json")" ]

# -j 2 on one card: each scenario process owns the card while it runs
# (the link connects exclusively and waits), so they still pass.
"$bin" run scenarios/card -j 2 --out "$tmp/rj" --target "card=pcsc:Virtual PCD" >"$tmp/rj.log" 2>&1
check "-j 2 over one pcsc card: exit 0, 6 passed" grep -q '^6 passed, 0 failed, 2 skipped' "$tmp/rj.log"

# Power through PC/SC reaches the simulator: off makes the card mute,
# cold and warm clear the security status, NVM (a PIN miss) survives.
mkdir -p "$tmp/power"
cat >"$tmp/power/power.lua" <<'EOS'
local jpki = require "jpki"

local function sign_cert(card) -- (no re-SELECT of the AP: that clears it too)
  expect(jpki.select_ef(card, jpki.EF.sign_cert)).sw(0x9000)
  return jpki.read_binary(card, 0, 4)
end

return scenario {
  id = "PCSC-POWER", title = "power off, cold and warm through PC/SC",
  run = function(w)
    local card, pins = w.card, w.profile.pins
    local atr = card:atr()
    expect(#atr, "ATR length").gt(1)
    expect(jpki.select(card)).sw(0x9000)
    expect(jpki.verify(card, "auth", "0000"), "a miss").sw(0x63C2)
    expect(jpki.verify(card, "sign", pins.sign)).sw(0x9000)
    expect(sign_cert(card), "sign cert open").sw(0x9000)

    expect(card:power "off", "power off").is_true()
    local r, err = card:transmit("00A4040C0AD392F000260100000001")
    expect(r, "no answer while off").is(nil)
    expect(err, "the error says so").matches("powered off")
    expect(card:power "cold", "power on").is_true()
    expect(card:atr(), "same ATR after power on").is(atr)
    expect(jpki.select(card)).sw(0x9000)
    expect(sign_cert(card), "sign cert closed after power off/on").sw(0x6982)
    expect(jpki.retries(card, "auth"), "the miss survived the power cycle").is(2)

    expect(jpki.verify(card, "sign", pins.sign)).sw(0x9000)
    expect(sign_cert(card)).sw(0x9000)
    expect(card:power "cold", "cold reset while on").is_true()
    expect(jpki.select(card)).sw(0x9000)
    expect(sign_cert(card), "sign cert closed after cold").sw(0x6982)

    expect(jpki.verify(card, "sign", pins.sign)).sw(0x9000)
    expect(card:power "warm", "warm reset").is_true()
    expect(jpki.select(card)).sw(0x9000)
    expect(sign_cert(card), "sign cert closed after warm").sw(0x6982)
    expect(jpki.verify(card, "auth", pins.auth), "the right PIN").sw(0x9000)
    expect(jpki.retries(card, "auth"), "counter restored").is(3)
  end,
}
EOS
"$bin" run "$tmp/power" --out "$tmp/rp" --target "card=pcsc:Virtual PCD" >"$tmp/rp.log" 2>&1
check "power off/cold/warm through PC/SC: the scenario passes" grep -q '^1 passed, 0 failed' "$tmp/rp.log"
"$bin" run "$tmp/power" --out "$tmp/rps" >"$tmp/rps.log" 2>&1
check "and it passes on sim:card too (same semantics)" grep -q '^1 passed, 0 failed' "$tmp/rps.log"

# A second card, bob's, in the second vpcd slot.  ?profile= tells the
# scenarios which card is in that reader; without it they assume the
# default card (alice's) and its PINs fail on bob's card.
"$bin" serve card --vpcd 127.0.0.1:35964 --profile "$src/fixtures/profiles/bob.lua" >>"$tmp/serve2.log" 2>&1 &
serve2_pid=$!
extra_pids=$serve2_pid
check "bob's card appears in the second slot" sh -c "MYNAHIL_PCSC_WAIT=10000 '$bin' apdu --target 'pcsc:Virtual PCD 00 01' </dev/null"
"$bin" run scenarios/card --filter 'CARD-0[01]' --out "$tmp/r5" \
	--target "card=pcsc:Virtual PCD 00 01?profile=$src/fixtures/profiles/bob.lua" >"$tmp/r5.log" 2>&1
check "bob's card with ?profile=bob.lua: CARD-00 and CARD-01 pass" grep -q '^2 passed, 0 failed' "$tmp/r5.log"
"$bin" run scenarios/card --filter 'CARD-00' --out "$tmp/r6" --target "card=pcsc:Virtual PCD 00 01" >"$tmp/r6.log" 2>&1
check "bob's card described as alice's: CARD-00 fails (exit 1)" [ $? = 1 ]
kill "$serve2_pid" && wait "$serve2_pid"
check "second server: SIGTERM, exit 0" [ $? = 0 ]
extra_pids=

finish
