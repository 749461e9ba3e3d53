# tests/interop/lib/skip.sh — sourced by ca.sh and pcscd.sh (not a test).
# shellcheck shell=sh

# skip_part REASON: some checks of a test cannot run here (a tool is
# missing).  Outside CI a note; under CI (CI set and non-empty) a failed
# check, as a whole skip is there (see run.sh): deps.sh installs every tool.
skip_part() {
	if [ -n "${CI:-}" ]; then
		fail=$((fail + 1))
		echo "FAIL: skipped under CI: $1"
	else
		echo "SKIP (part): $1"
	fi
}
