#!/bin/sh
# mynahil run --redact: no PIN of the run is anywhere under --out — not
# in the traces (the data of VERIFY 20, CHANGE REFERENCE DATA 24 and
# RESET RETRY COUNTER 2C become "**" a byte, the length kept), not in
# report.html, record.json, junit.xml (a failed expect's last APDUs, the
# scenario's printed log), results.json, not in a state file left in
# run/.  Without --redact the same run holds every one of them, so the
# greps below would see a PIN if it were there.  The PINs: the card's
# sign PIN (CARD scenarios, a scenario of this test that prints it and
# fails with it in its last APDUs), and a phone's PINs set, changed and
# reset through the TSM (TSM-22: VERIFY, CHANGE REFERENCE DATA, and the
# STORE DATA that sets them, shown plain beside its SCP03 wrapping).
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

cat >"$tmp/red.lua" <<'EOS'
local jpki = require "jpki"
return scenario {
  id = "RED-01", title = "a PIN in every place a report takes it",
  run = function(w)
    local pins = w.profile.pins
    expect(jpki.select(w.card)).sw(0x9000)
    expect(jpki.verify(w.card, "sign", pins.sign)).sw(0x9000)
    print("the sign PIN is " .. pins.sign)
    expect(jpki.verify(w.card, "sign", pins.sign), "fails on purpose: the trail holds the VERIFY").sw(0x6A82)
    local f = assert(io.open("state.txt", "w"))
    f:write(pins.sign)
    f:close()
  end,
}
EOS
sel="scenarios/card scenarios/tsm/22_pins_both.lua $tmp/red.lua"
# shellcheck disable=SC2086
"$bin" run $sel -j 2 --out "$tmp/clear" >"$tmp/clear.log" 2>&1
check "without --redact: exit 1 (RED-01 fails on purpose)" [ $? = 1 ]
# shellcheck disable=SC2086
"$bin" run $sel -j 2 --redact --out "$tmp/red" >"$tmp/red.log" 2>&1
check "with --redact: exit 1 too (redaction changes no verdict)" [ $? = 1 ]
check "with --redact: the same tally" sh -c "[ \"\$(grep passed '$tmp/clear.log')\" = \"\$(grep passed '$tmp/red.log')\" ]"

hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
# where PIN appears under DIR: its text (as is) or its hex (either case).
# A PIN of digits only is looked for as hex alone: as text, "2580" may
# well be part of a duration.
found() {
	h=$(hex "$1") t=$1
	case $1 in *[!0-9]*) ;; *) t=$h ;; esac
	grep -rla -e "$t" -e "$h" -e "$(printf '%s' "$h" | tr a-f A-F)" "$2" 2>/dev/null
}
# MYNAHIL1: the card's sign PIN; the rest TSM-22's phone PINs (VERIFY,
# CHANGE REFERENCE DATA, and VERIFY after a reset by the TSM)
for pin in MYNAHIL1 BOTHPINS1 CHANGED3 RESETPIN2 2580 1593 7410; do
	found "$pin" "$tmp/clear" >"$tmp/where"
	check "without --redact $pin is in the traces" grep -q '/traces/' "$tmp/where"
	check "without --redact $pin is in report.html" grep -q 'report.html$' "$tmp/where"
	check "with --redact $pin is nowhere under --out" [ -z "$(found "$pin" "$tmp/red")" ]
done
found MYNAHIL1 "$tmp/clear" >"$tmp/where"
for f in junit.xml record.json run/RED-01/state.txt; do
	check "without --redact MYNAHIL1 is in $f" grep -q "/$f\$" "$tmp/where"
done
check "without --redact the log line is in junit.xml" has 'the sign PIN is MYNAHIL1' "$tmp/clear/junit.xml"
check "with --redact the log line is masked" has 'the sign PIN is \*\{8\}$' "$tmp/red/junit.xml"
check "with --redact the failed expect's last APDUs are masked, lengths kept" \
	has 'after 0020008008\*\{16\} -> 9000' "$tmp/red/results.json"
check "VERIFY: the data masked, the header and Lc kept" has '"cmd":"0020008008\*\{16\}"' "$tmp/red/traces/RED-01.jsonl"
check "VERIFY without data (the tries left) untouched" has '"cmd":"00200080"' "$tmp/red/traces/CARD-00.jsonl"
check "CHANGE REFERENCE DATA: masked" has '"cmd":"0124018008\*\{16\}"' "$tmp/red/traces/TSM-22.jsonl"
check "STORE DATA's DGI 81ss (a PIN the TSM sets) in clear beside its SCP03 wrapping, without --redact" \
	has '"plain":"80E2[0-9A-F]\{6\}81[0-9A-F]\{4\}32353830' "$tmp/clear/traces/TSM-22.jsonl"
check "... masked with it" has '"plain":"80E2[0-9A-F]\{6\}81[0-9A-F]\{4\}\*\{8\}' "$tmp/red/traces/TSM-22.jsonl"
check "other commands untouched (SELECT by AID)" has '"cmd":"00A4040C0AD392F000260100000001"' "$tmp/red/traces/CARD-00.jsonl"
check "the page's reproduce line says --redact" has 'mynahil run .*--redact' "$tmp/red/report.html"
check "the run directories are gone (a state file holds PINs)" [ ! -e "$tmp/red/run/RED-01" ]

# RESET RETRY COUNTER (2C), and the extended form, through apdu-free
# means: a scenario that sends them raw.
cat >"$tmp/rrc.lua" <<'EOS'
return scenario {
  id = "RED-02", title = "RESET RETRY COUNTER and an extended VERIFY",
  run = function(w)
    expect(w.card:transmit("002C00800C" .. mynahil.hex("PUKPUK") .. mynahil.hex("NEWPIN"))).ok()
    expect(w.card:transmit("0020008000000A" .. mynahil.hex("EXTENDEDPN"))).ok()
  end,
}
EOS
"$bin" run "$tmp/rrc.lua" --redact --out "$tmp/rrc" >/dev/null 2>&1
check "RESET RETRY COUNTER: the 12 data bytes masked" has '"cmd":"002C00800C\*\{24\}"' "$tmp/rrc/traces/RED-02.jsonl"
check "extended VERIFY: the 10 data bytes masked" has '"cmd":"0020008000000A\*\{20\}"' "$tmp/rrc/traces/RED-02.jsonl"
check "neither in clear anywhere" sh -c "[ -z \"\$(grep -rla -e '$(hex PUKPUK | tr a-f A-F)' -e '$(hex EXTENDEDPN | tr a-f A-F)' '$tmp/rrc')\" ]"
finish
