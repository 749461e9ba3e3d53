#!/bin/sh
# `make run` keeps mynahil run's exit statuses apart (README "CI"): GNU
# make exits 2 whenever a recipe fails, so the status itself is in
# BUILD/reports/exit-status and in make's "Error N" line — 0, 1 (a
# scenario failed), 2 (usage, a target that does not answer) and 128+N
# (a signal) each as mynahil gave it.  A stub stands in for the built
# binary (make -o build: nothing is built).
set -u
. "$2/tests/cli/lib/check.sh"
mkdir -p "$tmp/b"
printf '#!/bin/sh\n[ "$1 $2 $3 $4" = "run scenarios --out %s/b/reports" ] || exit 99\nexit ${STUB_STATUS:-0}\n' "$tmp" >"$tmp/b/mynahil"
chmod +x "$tmp/b/mynahil"
for st in 0 1 2 130 143; do
	STUB_STATUS=$st make -s -C "$src" -o build run BUILD="$tmp/b" >"$tmp/out" 2>&1
	mst=$?
	check "mynahil exits $st: exit-status says $st" [ "$(cat "$tmp/b/reports/exit-status")" = "$st" ]
	if [ "$st" = 0 ]; then
		check "mynahil exits 0: make exits 0" [ "$mst" = 0 ]
	else
		check "mynahil exits $st: make fails" [ "$mst" != 0 ]
		check "mynahil exits $st: make's line says Error $st" grep -q "Error $st\$" "$tmp/out"
		check "mynahil exits $st: said by make run" grep -q "mynahil run exited $st" "$tmp/out"
	fi
done
finish
