#!/bin/sh
# A reader that is not there is said once, at once, before any scenario:
# `run --target pcsc:NoSuchReader` exits 2 with one line naming the role,
# the target and the readers that are there — not a reader timeout per
# scenario (10 s each by default).  An empty reader (no card served) is
# the same one line after the reader wait, not a failure per scenario.
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/pcscd.sh"
interop_enter "$0" "$@"

start_pcscd
start_serve
check "the served card appears" wait_card 10000
cd "$src" || exit 1

t0=$(date +%s)
MYNAHIL_PCSC_WAIT=60000 "$bin" run scenarios/card --target pcsc:NoSuchReader --out "$tmp/r" >"$tmp/r.log" 2>"$tmp/r.err"
st=$?
t1=$(date +%s)
check "pcsc:NoSuchReader: exit 2 (got $st)" [ "$st" = 2 ]
check "pcsc:NoSuchReader: one line naming role, target and the readers there" \
	sh -c "[ \$(wc -l <'$tmp/r.err') = 1 ] && grep -q \"role card: pcsc:NoSuchReader: no reader matches /NoSuchReader/ (readers: $READER\" '$tmp/r.err'"
check "pcsc:NoSuchReader: at once ($((t1 - t0)) s), not after the 60 s reader wait" [ $((t1 - t0)) -lt 30 ]
check "pcsc:NoSuchReader: no scenario ran" sh -c "[ ! -e '$tmp/r/results.json' ] && ! grep -q passed '$tmp/r.log'"

# The typo in a bench file: the same.
printf 'return { card = "pcsc:Virtual PDC" }\n' >"$tmp/bench.lua"
"$bin" run scenarios/card --bench "$tmp/bench.lua" --out "$tmp/b" >/dev/null 2>"$tmp/b.err"
check "a bench file's reader typo: exit 2, the readers named" \
	sh -c "[ $? = 2 ] && grep -q 'readers: $READER' '$tmp/b.err'"

# The reader is there, its card is not: one line after the wait, once.
stop_serve
wait_no_card 10000
MYNAHIL_PCSC_WAIT=1000 "$bin" run scenarios/card --target "pcsc:$READER" --out "$tmp/e" >/dev/null 2>"$tmp/e.err"
check "an empty reader: exit 2" [ $? = 2 ]
check "an empty reader: said once" sh -c "[ \$(grep -c 'has no card' '$tmp/e.err') = 1 ]"

# The right name runs (the probe let go of the card: -j 2 takes turns).
start_serve
check "the served card is back" wait_card 10000
"$bin" run scenarios/card --filter CARD-00 --target "pcsc:$READER" --out "$tmp/ok" >"$tmp/ok.log" 2>&1
check "the right reader: CARD-00 passes" sh -c "[ $? = 0 ] && grep -q '^1 passed' '$tmp/ok.log'"

finish
