#!/bin/sh
# Reports of one run only: a run into an --out that an earlier run used
# leaves none of the earlier run's reports, traces or run directories
# behind (a scenario that is not in this run has no trace here; a run
# that stops before its reports leaves no earlier pass to be read as
# its own).  A --out that holds a run/ or traces/ mynahil did not write
# is refused, not emptied.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

mkdir "$tmp/s"
for id in OLD NEW; do
	cat >"$tmp/s/$id.lua" <<EOS
return scenario {
  id = "$id", title = "one run's scenario",
  run = function(w) expect(w.card:transmit("00A4040C0AD392F000260100000001").sw).is(0x9000) end,
}
EOS
done
out="$tmp/out"
"$bin" run "$tmp/s" --out "$out" >/dev/null 2>&1
check "first run: a trace and a run directory of each" \
	sh -c "[ -s '$out/traces/OLD.jsonl' ] && [ -s '$out/traces/NEW.jsonl' ] && [ -d '$out/run/OLD' ]"
touch "$out/run/OLD/left-behind"

"$bin" run "$tmp/s" --filter NEW --out "$out" >/dev/null 2>&1
check "second run: its own trace" [ -s "$out/traces/NEW.jsonl" ]
check "second run: no trace of the earlier run's OLD" [ ! -e "$out/traces/OLD.jsonl" ]
check "second run: no run directory of OLD" [ ! -e "$out/run/OLD" ]
check "second run: results.json names NEW only" \
	sh -c "grep -q '\"id\": \"NEW\"' '$out/results.json' && ! grep -q '\"id\": \"OLD\"' '$out/results.json'"
check "second run: junit.xml names NEW only" sh -c "! grep -q 'OLD' '$out/junit.xml'"

# A run that stops before its reports (nothing selected) leaves none.
"$bin" run "$tmp/s" --filter NOTHING --out "$out" >/dev/null 2>&1
for f in junit.xml results.json results.tap; do
	check "a run with nothing selected leaves no earlier $f" [ ! -e "$out/$f" ]
done
# So does one whose target does not answer (a port this test bound and
# closed: nothing listens there).
port=$(perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0") or die; print $s->sockport')
"$bin" run "$tmp/s" --out "$out" >/dev/null 2>&1
check "(a results.json again)" [ -s "$out/results.json" ]
"$bin" run "$tmp/s" --target "tsm=http://127.0.0.1:$port" --out "$out" >/dev/null 2>&1
check "a run whose target does not answer leaves no earlier results.json" [ ! -e "$out/results.json" ]

# Somebody else's directory is not emptied.
mkdir -p "$tmp/mine/run/keep"
touch "$tmp/mine/run/keep/precious"
"$bin" run "$tmp/s" --out "$tmp/mine" >/dev/null 2>"$tmp/mine.err"
check "a --out with a foreign run/: exit 2" [ $? = 2 ]
check "a --out with a foreign run/: said" grep -q "holds a run/ that is not a mynahil run's" "$tmp/mine.err"
check "a --out with a foreign run/: untouched" [ -e "$tmp/mine/run/keep/precious" ]

# Written atomically: each report rendered into a temporary file beside
# it and renamed over its name, never opened for writing under its own
# name (a CI job that collects --out while a run dies finds the old
# complete report or the new one, never half of one).  Seen with strace.
if command -v strace >/dev/null 2>&1; then
	strace -f -qq -e trace=openat,rename,renameat,renameat2 -o "$tmp/st" \
		"$bin" run "$tmp/s" --filter NEW --out "$tmp/at" >/dev/null 2>&1
	for f in junit.xml results.json results.tap record.json report.html; do
		check "$f: renamed into place from a temporary file beside it" \
			grep -Eq "rename(at2?)?\(.*\"$tmp/at/$f\.[^\"]+\", .*\"$tmp/at/$f\"(, [0-9A-Z_|]+)?\) = 0" "$tmp/st"
		check "$f: never opened for writing under its own name" \
			sh -c "! grep -q 'openat(.*\"$tmp/at/$f\", O_WRONLY' '$tmp/st'"
	done
elif [ -n "${CI:-}" ]; then
	check "strace installed (scripts/deps.sh) to see the reports written atomically" false
else
	echo "note: strace not installed: the atomic writes not checked"
fi

finish
