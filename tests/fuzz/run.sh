#!/bin/sh
# tests/fuzz/run.sh — fuzz one libFuzzer target for a while.
#
# Usage: sh run.sh BINARY NAME SECONDS WORKDIR
#
# Replays the committed corpus tests/fuzz/corpus/NAME first, then fuzzes
# with the target's dictionary, growing a scratch corpus WORKDIR/NAME (the
# committed one is never written).  A crash leaves WORKDIR/NAME-crash-*:
# add it to tests/fuzz/corpus/NAME and write the unit test that fails on
# it, so the gcc build replays it too.
set -u
bin=$1 name=$2 secs=$3 work=$4
src=$(cd "$(dirname "$0")/../.." && pwd)
case $name in
http) dict=http.dict ;;
profile | se_profile) dict=lua.dict ;;
*) dict=apdu.dict ;;
esac
mkdir -p "$work/$name"
# -timeout: a single input running this long is a hang, reported as one.
# ASan's leak check stays on: the targets free what they build.
"$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
	-dict="$src/tests/fuzz/$dict" -artifact_prefix="$work/$name-" \
	"$work/$name" "$src/tests/fuzz/corpus/$name" 2>"$work/$name.log"
st=$?
grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::new_units_added)|^==[0-9]+==ERROR|SUMMARY' "$work/$name.log"
if [ "$st" != 0 ]; then
	tail -n 60 "$work/$name.log"
	echo "FAIL: fuzz_$name: exit $st; the input is in $work/$name-* (log: $work/$name.log)"
	exit 1
fi
exit 0
