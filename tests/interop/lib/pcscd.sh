# tests/interop/lib/pcscd.sh — sourced by the interop tests (not a test).
#
# Each test runs in its own mount and network namespaces (unshare -m -n,
# as root): a tmpfs on /run/pcscd and a private loopback, so its pcscd
# and vpcd ports collide with nothing — not another test running in
# parallel, not a pcscd of the machine.  Where namespaces are not allowed
# (an unprivileged container) the tests take turns on the host's
# /run/pcscd (flock), and skip if a pcscd of the machine runs.  It starts pcscd in the
# foreground with a reader.conf of its own (the vpcd reader only),
# serves the simulator to it, and stops both by PID on exit.
#
# Usage, at the top of a test:
#   bin=$1 src=$2
#   . "$src/tests/interop/lib/pcscd.sh"
#   interop_enter "$0" "$@"      # re-runs the test isolated; exits 77 (skip) if it cannot
#
# Readiness is always an event with a deadline: the pcscd socket appearing
# (a bounded poll), the served card appearing in the reader
# (SCardGetStatusChange inside `mynahil apdu --target pcsc:...`).
# shellcheck shell=sh

. "${src:?}/tests/interop/lib/skip.sh"
SKIP=77
READER="Virtual PCD 00 00"
VPCD_PORT=35963

interop_enter() {
	script=$1
	shift
	case "${MYNAHIL_INTEROP_NS:-}" in
	1) # inside the namespaces: a private /run/pcscd and loopback
		mount -t tmpfs -o mode=0755 tmpfs /run/pcscd ||
			{ echo "FAIL: cannot mount a tmpfs on /run/pcscd"; exit 1; }
		if command -v ip >/dev/null 2>&1; then
			ip link set lo up
		else
			# No iproute2: SIOCSIFFLAGS(lo, IFF_UP|IFF_LOOPBACK|IFF_RUNNING) with perl-base.
			perl -e 'socket(my $s, 2, 2, 0) or die; my $r = pack("a16 s x22", "lo", 0x49); ioctl($s, 0x8914, $r) or die "lo: $!\n"'
		fi || { echo "FAIL: cannot bring up lo in the new network namespace"; exit 1; }
		;;
	host) # no namespaces (an unprivileged container): the host's /run/pcscd,
		# one test at a time (the lock), and only if no other pcscd runs
		if [ -s /run/pcscd/pcscd.pid ] && kill -0 "$(cat /run/pcscd/pcscd.pid)" 2>/dev/null; then
			echo "SKIP: cannot unshare, and a pcscd already runs here (pid $(cat /run/pcscd/pcscd.pid))"
			exit $SKIP
		fi
		;;
	*)
		if [ "$(id -u)" != 0 ]; then
			echo "SKIP: interop tests need root (unshare -m -n, a tmpfs on /run/pcscd)"
			exit $SKIP
		fi
		command -v pcscd >/dev/null 2>&1 || { echo "SKIP: pcscd not installed"; exit $SKIP; }
		[ -f /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] || [ -f /etc/reader.conf.d/vpcd ] ||
			{ echo "SKIP: vsmartcard-vpcd not installed"; exit $SKIP; }
		mkdir -p /run/pcscd
		if [ -z "${MYNAHIL_INTEROP_NO_UNSHARE:-}" ] && unshare -m -n -- true 2>/dev/null; then
			MYNAHIL_INTEROP_NS=1 exec unshare -m -n -- sh "$script" "$@"
		fi
		echo "note: cannot unshare -m -n here; running against the host's /run/pcscd, one test at a time"
		MYNAHIL_INTEROP_NS=host exec flock -w 250 /tmp/mynahil-interop.lock sh "$script" "$@"
		;;
	esac

	tmp=$(mktemp -d)
	pcscd_pid= serve_pid= extra_pids=
	trap interop_cleanup EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	pass=0 fail=0
}

interop_cleanup() {
	st=$?
	for p in $extra_pids $serve_pid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ -n "$pcscd_pid" ] && kill "$pcscd_pid" 2>/dev/null && wait "$pcscd_pid" 2>/dev/null
	if [ "$st" != 0 ] && [ "$st" != $SKIP ]; then
		for f in "$tmp"/*.log; do
			[ -s "$f" ] || continue
			echo "--- $f (last lines)"
			tail -n 30 "$f"
		done >&2
	fi
	rm -rf "$tmp"
	exit "$st"
}

check() {
	d=$1
	shift
	if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $d"; fi
}

finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" = 0 ]
}

# Wait until path exists as a socket, up to ms milliseconds.
wait_socket() {
	path=$1 ms=$2 waited=0
	while [ ! -S "$path" ]; do
		[ "$waited" -ge "$ms" ] && return 1
		sleep 0.05
		waited=$((waited + 50))
	done
}

# start_pcscd: pcscd in the foreground with the vpcd reader only.
start_pcscd() {
	mkdir -p "$tmp/reader.conf.d"
	if [ -f /etc/reader.conf.d/vpcd ]; then
		cp /etc/reader.conf.d/vpcd "$tmp/reader.conf.d/vpcd"
	else
		printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:0x8C7B\nLIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID 0x8C7B\n' \
			>"$tmp/reader.conf.d/vpcd"
	fi
	pcscd --foreground --config "$tmp/reader.conf.d" >>"$tmp/pcscd.log" 2>&1 &
	pcscd_pid=$!
	wait_socket /run/pcscd/pcscd.comm 10000 || { echo "FAIL: pcscd did not create its socket in 10 s"; exit 1; }
}

stop_pcscd() {
	kill "$pcscd_pid" 2>/dev/null
	wait "$pcscd_pid" 2>/dev/null
	pcscd_pid=
	rm -f /run/pcscd/pcscd.comm
}

# start_serve [OPTIONS...]: mynahil serve card on the first vpcd slot.
start_serve() {
	"$bin" serve card --vpcd "127.0.0.1:$VPCD_PORT" "$@" >>"$tmp/serve.log" 2>&1 &
	serve_pid=$!
}

# stop_serve: SIGTERM, and the server's exit status in $serve_status.
stop_serve() {
	kill -TERM "$serve_pid" 2>/dev/null
	wait "$serve_pid"
	serve_status=$?
	serve_pid=
}

# wait_card [ms]: until the served card is present and answers in the
# reader (the pcsc: link waits for it with SCardGetStatusChange).
wait_card() {
	MYNAHIL_PCSC_WAIT=${1:-10000} "$bin" apdu --target "pcsc:$READER" </dev/null >>"$tmp/wait.log" 2>&1
}

# wait_no_card [ms]: until pcscd has noticed the card left (its presence
# poll, every 400 ms, finds the served card gone).  pcsc_scan -c reads the
# reader state without connecting: a probe that connected to a card whose
# server just died would leave pcscd with a failed reset to recover from.
# There is no command that blocks on removal, so this polls, with a
# deadline.
wait_no_card() {
	limit=${1:-10000} waited=0
	while :; do
		state=$(timeout 5 pcsc_scan -c -n 2>/dev/null |
			awk -v r="$READER" 'index($0, "Reader") && index($0, r) { on = 1; next }
				on && /Card state:/ { print; exit }')
		case "$state" in *"Card removed"*) return 0 ;; esac
		[ "$waited" -ge "$limit" ] && return 1
		sleep 0.05
		waited=$((waited + 50))
	done
}

# wait_log FILE TEXT [ms]: until FILE has a line containing TEXT.
wait_log() {
	limit=${3:-10000} waited=0
	until grep -qF "$2" "$1" 2>/dev/null; do
		[ "$waited" -ge "$limit" ] && return 1
		sleep 0.05
		waited=$((waited + 50))
	done
}

# apdus: hex APDUs on stdin -> responses on stdout, through pcscd.
apdus() {
	"$bin" apdu --target "pcsc:$READER" "$@"
}

hex_of() { od -An -tx1 | tr -d ' \n' | tr a-f A-F; }
unhex() { perl -ne 'chomp; print pack "H*", $_'; }
