#!/bin/sh
# The whole suite on one bench (issue 11 point 4), twice in a row on the
# same servers: one SE served behind pcscd + vpcd (se, Virtual PCD 00 00),
# a second SE on the other slot (se2, Virtual PCD 00 01), the card in
# process, and one persistent serve ca and serve tsm --ca (the TSM
# reaching that CA over HTTP) reached over HTTP.  Every scenario finds each device as the one before left it:
# scenarios/lib/app.lua clears a bound SE at set-up and at teardown, and
# the simulated SEs a served TSM remembers at teardown.  Run 1 and run 2
# must both pass everything; between them, the TSM's registry must show
# the served SEs without certificates (each left as found).
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/pcscd.sh"
interop_enter "$0" "$@"

start_pcscd
"$bin" serve se --vpcd "127.0.0.1:$VPCD_PORT" --state "$tmp/se1.nvm" >>"$tmp/serve.log" 2>&1 &
serve_pid=$!
# the second handset: another CPLC serial and IDm, so the TSM sees two devices
sed -e 's/60910000A001/60910000A002/' -e 's/012E4C617A93B5D7/012E4C617A93B5D8/' \
	"$src/fixtures/se/default.lua" >"$tmp/se2.lua"
"$bin" serve se --vpcd "127.0.0.1:$((VPCD_PORT + 1))" --profile "$tmp/se2.lua" --state "$tmp/se2.nvm" \
	>>"$tmp/serve2.log" 2>&1 &
extra_pids=$!
"$bin" serve ca --listen 127.0.0.1:0 --db "$tmp/ca.db" >"$tmp/ca.log" 2>&1 &
ca_pid=$!
extra_pids="$extra_pids $ca_pid"
check "serve ca listens" wait_log "$tmp/ca.log" "listening on http" 10000
ca=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$tmp/ca.log" | head -n 1)
# --ca refused when it cannot work: not an http URL (exit 2), nobody
# there (exit 1, naming the URL), with --time (the clock is the CA's).
"$bin" serve tsm --listen 127.0.0.1:0 --ca "ftp://$ca" >"$tmp/bad.log" 2>&1
check "serve tsm --ca ftp://...: exit 2" [ $? = 2 ]
check "... naming what --ca takes" grep -q 'an http://HOST:PORT URL' "$tmp/bad.log"
"$bin" serve tsm --listen 127.0.0.1:0 --ca http://127.0.0.1:1 >"$tmp/bad.log" 2>&1
check "serve tsm --ca with no CA there: exit 1" [ $? = 1 ]
check "... cannot reach the CA at the URL" grep -q 'cannot reach the CA at http://127.0.0.1:1' "$tmp/bad.log"
"$bin" serve tsm --listen 127.0.0.1:0 --ca "$ca" --time 20270101000000Z >"$tmp/bad.log" 2>&1
check "serve tsm --ca with --time: exit 2" [ $? = 2 ]
"$bin" serve tsm --listen 127.0.0.1:0 --db "$tmp/tsm.db" --ca "$ca" >"$tmp/tsm.log" 2>&1 &
extra_pids="$extra_pids $!"
check "the first served SE appears" wait_card 10000
check "the second served SE appears" sh -c "MYNAHIL_PCSC_WAIT=10000 '$bin' apdu --target 'pcsc:Virtual PCD 00 01' </dev/null >/dev/null 2>&1"
check "serve tsm listens" wait_log "$tmp/tsm.log" "listening on http" 10000
url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$tmp/tsm.log" | head -n 1)
check "serve tsm says where its CA is" grep -q "the CA at $ca" "$tmp/tsm.log"
check "serve tsm does not serve a CA of its own (421 naming the CA)" \
	sh -c "curl -s -m 5 '$url/ca/v1/clock' | grep -q 'served at $ca'"
cd "$src" || exit 1

total=$("$bin" list scenarios 2>/dev/null | grep -c '^[A-Z]')
for n in 1 2; do
	"$bin" run scenarios -j 1 --out "$tmp/run$n" \
		--target "se=pcsc:Virtual PCD 00 00" --target "se2=pcsc:Virtual PCD 00 01" \
		--target "tsm=$url" --target "ca=$ca" >"$tmp/run$n.log" 2>&1
	check "run $n on the bench: exit 0" [ $? = 0 ]
	check "run $n: every scenario passed ($total)" grep -q "^$total passed, 0 failed, 0 skipped" "$tmp/run$n.log"
	grep '^not ok\|^#' "$tmp/run$n.log" | head -n 20
	# Each served SE left as found: the TSM's check-in finds no applet
	# and no live certificate on it (the registry is the TSM's, asked by
	# a scenario of this test through the same bench).
	cat >"$tmp/left.lua" <<'EOS'
local app = require "app"
return scenario {
  id = "BENCH-LEFT", title = "the served SEs left as found", needs = { "se", "tsm" },
  run = function(w)
    for _, se in ipairs { w.se, w.se2 } do
      local ph = require("phone").new(w, { se = se })
      local s = app.sync(w, ph)
      expect(s.ok, se:uri() .. ": checks in").is_true()
      local d = s.ok and app.device(w, s.result.device) or {}
      expect(d.status == "active" or d.status == "hold" or d.status == "half", se:uri() .. ": live certificates").is(false)
      expect(app.applet_present(ph), se:uri() .. ": the applet").is(false)
    end
  end,
}
EOS
	"$bin" run "$tmp/left.lua" --out "$tmp/left$n" --target "se=pcsc:Virtual PCD 00 00" \
		--target "se2=pcsc:Virtual PCD 00 01" --target "tsm=$url" --target "ca=$ca" >"$tmp/left$n.log" 2>&1
	check "after run $n: both SEs left without the applet or live certificates" grep -q '^1 passed, 0 failed' "$tmp/left$n.log"
done
# The TSM's certificates are the separate CA's: its records hold the
# holder's phone certificates the two runs issued, which a TSM with a CA
# of its own would have kept to itself.
check "the phone certificates were issued by serve ca" \
	sh -c "curl -s -m 5 '$ca/v1/holders/alice/certs' | grep -q '\"kind\": *\"phone\"'"
# The CA hung (SIGSTOP: connections are accepted, nothing answers): the
# TSM's next request gives up at its deadline (10 s a call, one call: the
# calls after a failed one fail at once) with 502 naming the CA; the CA
# back, the TSM answers again.
kill -STOP "$ca_pid"
t0=$(date +%s)
check "the CA hung: the TSM answers 502 within its deadline" \
	sh -c "[ \"\$(curl -s -m 30 -o '$tmp/hung.json' -w '%{http_code}' '$url/v1/tsm/devices')\" = 502 ]"
check "... in less than 15 s" [ $(($(date +%s) - t0)) -lt 15 ]
check "... saying the CA's URL and the timeout" grep -q "cannot reach the CA at $ca: Timeout" "$tmp/hung.json"
kill -CONT "$ca_pid"
check "the CA back: the TSM answers again" \
	sh -c "[ \"\$(curl -s -m 30 -o /dev/null -w '%{http_code}' '$url/v1/tsm/devices')\" = 200 ]"
# The CA gone: the TSM's next request says so (502, naming the CA's URL),
# within the client's deadline, and does not hang.
kill -TERM "$ca_pid" && wait "$ca_pid"
check "the CA stopped: the TSM answers 502" \
	sh -c "[ \"\$(curl -s -m 20 -o '$tmp/gone.json' -w '%{http_code}' '$url/v1/tsm/devices')\" = 502 ]"
check "... cannot reach the CA at its URL" grep -q "cannot reach the CA at $ca" "$tmp/gone.json"
finish
