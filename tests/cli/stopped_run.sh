#!/bin/sh
# A run stopped by SIGTERM (a CI timeout) or SIGINT (^C) stops its
# scenario processes — none is left behind holding a reader — and still
# writes junit.xml, results.json and results.tap: what ran, as it ended;
# the run it cut short and the runs it never started as skips that say
# "not run".  Its exit status is 128 + the signal.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

mkdir "$tmp/s"
cat >"$tmp/s/a_quick.lua" <<'EOS'
return scenario {
  id = "STOP-A", title = "runs before the signal",
  run = function(w) expect(1 + 1).is(2) end,
}
EOS
cat >"$tmp/s/b_endless.lua" <<'EOS'
return scenario {
  id = "STOP-B", title = "still running when the signal comes",
  run = function(w) while true do end end,
}
EOS
cat >"$tmp/s/c_later.lua" <<'EOS'
return scenario {
  id = "STOP-C", title = "never started",
  run = function(w) expect(true).is(true) end,
}
EOS

# stop SIGNAL STATUS: run the three, send SIGNAL once STOP-A is reported
# (TAP lines as each ends: stdout is not a tty) and STOP-B's process is up.
stop() {
	sig=$1 want=$2 out="$tmp/r-$1"
	"$bin" run "$tmp/s" --out "$out" --budget 1000000000000 >"$tmp/o-$sig" 2>"$tmp/e-$sig" &
	pid=$!
	waited=0
	until grep -q '^ok 1 - STOP-A' "$tmp/o-$sig" 2>/dev/null && kids=$(ps -o pid= --ppid "$pid") && [ -n "$kids" ]; do
		[ "$waited" -ge 20000 ] && break
		sleep 0.05
		waited=$((waited + 50))
	done
	check "$sig: STOP-B's process is running before the signal" [ -n "${kids:-}" ]
	kill -"$sig" "$pid"
	wait "$pid"
	st=$?
	check "$sig: exit $want (got $st)" [ "$st" = "$want" ]
	gone=1
	for k in ${kids:-}; do kill -0 "$k" 2>/dev/null && gone=0 && kill -9 "$k"; done
	check "$sig: no scenario process left" [ "$gone" = 1 ]
	for f in junit.xml results.json results.tap; do
		check "$sig: $f written" [ -s "$out/$f" ]
	done
	check "$sig: results.json: STOP-A passed" \
		sh -c "tr -d '\n' <'$out/results.json' | grep -q '\"id\": \"STOP-A\".*\"status\": \"pass\"'"
	check "$sig: results.json: STOP-B not run, cut short" \
		sh -c "tr -d '\n' <'$out/results.json' | grep -q '\"id\": \"STOP-B\".*\"status\": \"skip\",[ ]*\"reason\": \"not run: the run was stopped by [A-Za-z]* while it ran\"'"
	check "$sig: results.json: STOP-C not run, never started" \
		sh -c "tr -d '\n' <'$out/results.json' | grep -q '\"id\": \"STOP-C\".*\"status\": \"skip\",[ ]*\"reason\": \"not run: the run was stopped by [A-Za-z]* before it started\"'"
	check "$sig: junit.xml: 3 testcases, 2 skipped" \
		sh -c "grep -q 'tests=\"3\" failures=\"0\" errors=\"0\" skipped=\"2\"' '$out/junit.xml'"
	check "$sig: results.tap: a plan of 3, STOP-C skipped as not run" \
		sh -c "grep -q '^1..3' '$out/results.tap' && grep -q 'STOP-C never started # SKIP not run' '$out/results.tap'"
	check "$sig: said on stderr" grep -q 'stopped by' "$tmp/e-$sig"
	check "$sig: no temporary report file left" sh -c "! ls '$out' | grep -q tmp"
}
stop TERM 143
stop INT 130

finish
