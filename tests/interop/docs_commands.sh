#!/bin/sh
# The docs run as written: every shell block (```sh, ```shell, ```bash,
# ```console) of README.md and of every docs/*.md runs, in its page's
# order, in one shell session per page (sh -eu: a failing command fails
# the page, unless the block says it expects it: `|| echo "exit status
# $?"`), in a fresh directory holding the repository's scenarios/ and
# fixtures/ and the build's binary as build/mynahil (and
# build-test/mynahil).  `mynahil` is NOT put on the PATH: a page that
# calls it bare must say how it gets there (export PATH=...), as a reader
# of a fresh clone has to.  Fixed ports (8080, 35963, ...) and pcscd are
# the test's own: it runs in its own network and mount namespaces
# (lib/pcscd.sh), with a private /tmp.
#
# Marks, in the markdown, on the line before a block's opening fence:
#   <!-- not run: REASON -->   the block is printed as not run, with REASON
#                              (real hardware, the whole suite, ...)
#   <!-- file: PATH -->        the block (any language) is written to PATH
#                              in the page's directory when the session
#                              gets there, for the blocks after it
# A block whose lines start with `$ ` is a transcript: those lines (and
# their `\` continuations) are the commands, the others the output they
# must print, in that order.
#
# Each block has BLOCK_LIMIT seconds; at a page's end every process it
# left (servers started with `&`) is stopped by its process group.
# Then what the pages say their commands print is checked (says ...).
# Usage: sh docs_commands.sh <mynahil> <source-dir>
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/pcscd.sh"
interop_enter "$0" "$@"

BLOCK_LIMIT=${MYNAHIL_DOCS_BLOCK_LIMIT:-240}
case "$bin" in /*) ;; *) bin=$(pwd)/$bin ;; esac
case "$src" in /*) ;; *) src=$(pwd)/$src ;; esac

# A private /tmp: the pages write /tmp/... as a reader would, and nothing
# of theirs may meet another test's files or an earlier run's.
if [ "${MYNAHIL_INTEROP_NS:-}" = 1 ]; then
	case "$bin" in /tmp/*) ;; *)
		rmdir "$tmp" && mount -t tmpfs -o mode=1777 tmpfs /tmp && mkdir "$tmp" ||
			{ echo "FAIL: cannot mount a private /tmp"; exit 1; } ;;
	esac
fi
if command -v mynahil >/dev/null 2>&1; then
	echo "note: a mynahil is on this PATH ($(command -v mynahil)): bare calls would find it"
fi

# extract PAGE DIR: the page's blocks into DIR: NN.txt (the text), NN.kind
# (run, transcript, notrun, file), NN.line, NN.arg (the reason or path);
# for a transcript NN.txt holds the commands and NN.expect the output.
extract() {
	mkdir -p "$2"
	awk -v dir="$2" '
	function flush_mark() { mark = ""; markarg = "" }
	!inb && /^[ \t]*<!--[ \t]*(not run|file):.*-->[ \t]*$/ {
		mark = $0
		sub(/^[ \t]*<!--[ \t]*/, "", mark); sub(/[ \t]*-->[ \t]*$/, "", mark)
		markarg = mark; sub(/^[^:]*:[ \t]*/, "", markarg); sub(/:.*/, "", mark)
		next
	}
	!inb && /^[ \t]*```/ {
		lang = $0; sub(/^[ \t]*```[ \t]*/, "", lang); sub(/[ \t].*$/, "", lang)
		indent = $0; sub(/```.*/, "", indent)
		shell = (lang == "sh" || lang == "shell" || lang == "bash" || lang == "console")
		if (!shell && mark != "file") { skip = 1; inb = 1; flush_mark(); next }
		n++; f = sprintf("%s/%02d", dir, n); inb = 1; skip = 0; tr = 0; cont = 0
		kind = mark == "not run" ? "notrun" : mark == "file" ? "file" : "run"
		print NR > (f ".line"); close(f ".line")
		printf "%s\n", markarg > (f ".arg"); close(f ".arg")
		printf "" > (f ".txt")
		flush_mark(); next
	}
	inb && /^[ \t]*```[ \t]*$/ {
		inb = 0
		if (!skip) {
			if (tr && kind == "run") kind = "transcript"
			print kind > (f ".kind"); close(f ".kind"); close(f ".txt")
			if (tr) close(f ".expect")
		}
		next
	}
	inb && !skip {
		line = $0
		if (indent != "" && index(line, indent) == 1) line = substr(line, length(indent) + 1)
		if (kind == "file") { print line > (f ".txt"); next }
		if (line ~ /^\$ /) { tr = 1; cont = line ~ /\\$/; print substr(line, 3) > (f ".txt"); next }
		if (tr && cont) { cont = line ~ /\\$/; print line > (f ".txt"); next }
		if (tr) { print line > (f ".expect"); next }
		print line > (f ".txt")
		next
	}
	!inb && !/^[ \t]*$/ { flush_mark() }
	' "$1"
}

# session DIR > SCRIPT: the page's blocks as one sh script; each block
# notes its start in DIR/progress and writes DIR/NN.out and NN.err.
session() {
	printf 'trap '\''echo "exit $?" >>"%s/progress"'\'' EXIT\n' "$1"
	for k in "$1"/*.kind; do
		[ -e "$k" ] || continue
		b=${k%.kind}
		nn=${b##*/}
		case "$(cat "$k")" in
		notrun) ;;
		file)
			p=$(cat "$b.arg")
			printf 'echo "start %s" >>"%s/progress"\n' "$nn" "$1"
			printf 'mkdir -p "$(dirname '\''%s'\'')" && cp "%s.txt" '\''%s'\''\n' "$p" "$b" "$p"
			;;
		*)
			printf 'echo "start %s" >>"%s/progress"\n{\n' "$nn" "$1"
			cat "$b.txt"
			printf '\n} >"%s.out" 2>"%s.err"\n' "$b" "$b"
			;;
		esac
	done
	printf 'echo "start end" >>"%s/progress"\n' "$1"
}

# stop_group PID: TERM to the page's process group (servers it left), up
# to 10 s for them to go, then KILL.
stop_group() {
	kill -TERM "-$1" 2>/dev/null
	waited=0
	while kill -0 "-$1" 2>/dev/null; do
		if [ "$waited" -ge 10000 ]; then
			echo "note: processes of the page still there after SIGTERM: SIGKILL"
			kill -KILL "-$1" 2>/dev/null
			break
		fi
		sleep 0.1
		waited=$((waited + 100))
	done
}

# run_page PAGE: extract, run as one session under its own process
# group, watch each block's time; then one check per block.
run_page() {
	page=$1
	id=$(printf '%s' "$page" | tr '/.' '__')
	d=$tmp/blocks/$id w=$tmp/work/$id
	extract "$src/$page" "$d"
	ls "$d"/*.kind >/dev/null 2>&1 || return 0
	mkdir -p "$w/build" "$w/build-test"
	ln -s "$src/scenarios" "$w/scenarios"
	ln -s "$src/fixtures" "$w/fixtures"
	ln -s "$bin" "$w/build/mynahil"
	ln -s "$bin" "$w/build-test/mynahil"
	session "$d" >"$d/session.sh"
	: >"$d/progress"
	(cd "$w" && exec setsid sh -eu "$d/session.sh" </dev/null >"$d/session.out" 2>&1) &
	pid=$! page_pid=$!
	cur= started=$(date +%s) timed_out=
	while :; do
		last=$(tail -n 1 "$d/progress")
		case "$last" in exit\ *) break ;; esac
		if [ "$last" != "$cur" ]; then
			cur=$last started=$(date +%s)
		elif [ $(($(date +%s) - started)) -ge "$BLOCK_LIMIT" ]; then
			timed_out=${cur#start }
			kill -TERM "-$pid" 2>/dev/null
			break
		fi
		sleep 0.2
	done
	wait "$pid" 2>/dev/null
	stop_group "$pid"
	page_pid=
	[ "${MYNAHIL_INTEROP_NS:-}" = 1 ] && rm -f /run/pcscd/pcscd.comm /run/pcscd/pcscd.pid
	reached=$(sed -n 's/^start //p' "$d/progress" | grep -v '^end$' | tail -n 1)
	status=$(sed -n 's/^exit //p' "$d/progress" | tail -n 1)
	for k in "$d"/*.kind; do
		b=${k%.kind}
		nn=${b##*/}
		where="$page:$(cat "$b.line")"
		kind=$(cat "$k")
		if [ "$kind" = notrun ]; then
			reason=$(cat "$b.arg")
			check "$where: a block not run says why" [ -n "$reason" ]
			echo "not run: $where: $reason"
			notrun=$((notrun + 1))
			continue
		fi
		if [ -z "$reached" ] || [ "${nn#0}" -gt "${reached#0}" ]; then
			check "$where: reached (an earlier block failed)" false
			continue
		fi
		if [ "$nn" = "$reached" ] && { [ -n "$timed_out" ] || [ "${status:-1}" != 0 ]; }; then
			if [ "$nn" = "$timed_out" ]; then
				check "$where runs as written (stopped after ${BLOCK_LIMIT} s)" false
			else
				check "$where runs as written (exit ${status:-?})" false
			fi
			sed 's/^/  | /' "$b.txt"
			cat "$b.out" "$b.err" 2>/dev/null | tail -n 20 | sed 's/^/  > /'
			continue
		fi
		check "$where runs as written" true
		ran=$((ran + 1))
		if [ "$kind" = transcript ]; then
			check "$where prints what the page shows" in_order "$b.expect" "$b.out"
		fi
	done
	[ -s "$d/session.out" ] && sed 's/^/  session: /' "$d/session.out" | tail -n 5
	return 0
}

# in_order EXPECTED ACTUAL: every line of EXPECTED is a line of ACTUAL,
# in the same order.
in_order() {
	awk 'NR == FNR { want[++n] = $0; next } i < n && $0 == want[i + 1] { i++ } END { exit i < n }' "$1" "$2" ||
		{ echo "  expected, in order:"; sed 's/^/  | /' "$1"; echo "  got:"; sed 's/^/  > /' "$2"; return 1; }
}

# says [-i] PAGE TEXT: some block of PAGE printed a line containing TEXT
# (-i: in any case).
says() {
	_i=
	[ "$1" = -i ] && { _i=-i; shift; }
	id=$(printf '%s' "$1" | tr '/.' '__')
	cat "$tmp/blocks/$id"/*.out "$tmp/blocks/$id"/*.err 2>/dev/null | grep -qF $_i -- "$2"
}

# The harness itself, on a page of its own: a failing block fails and
# stops its page, a transcript that prints otherwise fails, a block past
# its time is stopped, a server a page left behind is stopped with it.
selftest() {
	mkdir -p "$tmp/self/docs"
	ln -s "$src/scenarios" "$tmp/self/scenarios"
	ln -s "$src/fixtures" "$tmp/self/fixtures"
	cat >"$tmp/self/docs/self.md" <<-'EOF'
	```sh
	sleep 1000 & echo $! >server.pid
	```
	<!-- not run: a reason -->
	```sh
	exit 3
	```
	```console
	$ printf 'a\nb\n'
	a
	c
	```
	```sh
	false
	```
	```sh
	echo never
	```
	EOF
	printf '```sh\nsleep 30\n```\n' >"$tmp/self/docs/slow.md"
	(src=$tmp/self pass=0 fail=0 ran=0 notrun=0
		run_page docs/self.md
		BLOCK_LIMIT=2 run_page docs/slow.md
		echo "counts $pass $fail $ran $notrun") >"$tmp/self.out" 2>&1
	_pid=$(cat "$tmp/work/docs_self_md/server.pid" 2>/dev/null)
	check "harness: the counts (pass fail ran notrun) of its own page" grep -qx "counts 3 4 2 1" "$tmp/self.out"
	check "harness: a failing block is named with its status" grep -q "FAIL: docs/self.md:13 runs as written (exit 1)" "$tmp/self.out"
	check "harness: the blocks after it are not reached" grep -q "FAIL: docs/self.md:16: reached" "$tmp/self.out"
	check "harness: a transcript that prints otherwise fails" grep -q "FAIL: docs/self.md:8 prints what the page shows" "$tmp/self.out"
	check "harness: a block past its time is stopped" grep -q "FAIL: docs/slow.md:1 runs as written (stopped after 2 s)" "$tmp/self.out"
	check "harness: the server the page left is stopped" sh -c "[ -n '$_pid' ] && ! kill -0 '$_pid' 2>/dev/null"
	check "harness: a not-run block is printed with its reason" grep -q "not run: docs/self.md:5: a reason" "$tmp/self.out"
	grep -q "counts 3 4 2 1" "$tmp/self.out" || sed 's/^/  self: /' "$tmp/self.out"
}

# A test stopped midway stops the page it was running too.
page_pid=
trap 'st=$?; [ -n "$page_pid" ] && kill -KILL "-$page_pid" 2>/dev/null; (exit $st); interop_cleanup' EXIT

selftest
ran=0 notrun=0
# MYNAHIL_DOCS_PAGES="docs/x.md ..." runs only those pages (to work on
# them; the checks of the others then fail).
for page in ${MYNAHIL_DOCS_PAGES:-README.md $(cd "$src" && ls docs/*.md)}; do
	run_page "$page"
done
echo "$ran blocks run, $notrun not run (marked)"

# --- What the pages say the commands print.
# README
check "README: the SE answers GET DATA CF" says README.md "CF0A4790504000000000A0019000"
check "README: OCSP says alice's auth certificate is good" says README.md "alice-auth.pem: good"
check "README: after the hold, OCSP says revoked, certificateHold" says README.md "Reason: certificateHold"
check "README: the CRL verifies" says README.md "verify OK"
check "README: the TSM scenarios pass in process and over HTTP" \
	[ "$(cat "$tmp/blocks/README_md"/*.out | grep -c '^[0-9]* passed, 0 failed')" -ge 2 ]
check "README: opensc-tool lists the Virtual PCD with a card" says README.md "Virtual PCD 00 00"
check "README: pkcs15-tool shows the JPKI PIN" says README.md "PIN"
check "README: pkcs11-tool signed doc" [ -s "$tmp/work/README_md/doc.sig" ]
check "README: nfc-list finds the card" says README.md "1 ISO14443B passive target(s) found"
check "README: the example scenario passes" says README.md "ok 1 - MINE-01"
check "README: the summary line has the form README gives (P passed, F failed, S skipped)" \
	sh -c "grep -q 'and a summary line, \`P passed, F failed, S skipped\`' '$src/README.md' &&
		cat '$tmp/blocks/README_md/'*.out | grep -Eq '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$'"
# docs/cli.md
check "cli: the role typo is named" says docs/cli.md "unknown role 'crd'"
check "cli: the query key typo is named" says docs/cli.md "unknown query key 'profle'"
check "cli: sim:crad: one line" says docs/cli.md "role card: sim:crad: unknown simulator"
check "cli: the TSM nobody answers at" says -i docs/cli.md "cannot reach the TSM at http://127.0.0.1:1: connection refused"
check "cli: nothing selected, said" says docs/cli.md "nothing selected"
check "cli: the second run's traces only" \
	sh -c "grep -q 'CARD-01.jsonl' '$tmp/blocks/docs_cli_md/'*.out && ! grep -q 'CARD-00.jsonl' '$tmp/blocks/docs_cli_md/'*.out"
# docs/tsm.md
check "tsm: the scenarios pass in process and against the served TSM with its token" \
	[ "$(cat "$tmp/blocks/docs_tsm_md"/*.out | grep -c '^[0-9]* passed, 0 failed')" -ge 2 ]
check "tsm: serve tsm --ca reaching a serve ca: TSM-00, TSM-01 and TSM-12 pass" says docs/tsm.md "3 passed, 0 failed"
# docs/invariants.md
check "invariants: mynahil check, the TSM alone and the bench: both clean" \
	[ "$(cat "$tmp/blocks/docs_invariants_md"/*.out | grep -c '^1 passed, 0 failed')" = 2 ]
# docs/mutations.md
check "mutations: ocsp_good is caught (exit 1)" says docs/mutations.md "exit status 1"
check "mutations: an unknown name, exit 2" says docs/mutations.md "exit status 2"
# docs/reports.md
check "reports: the diff names what vanished" says docs/reports.md "CARD-05"
check "reports: the diff's exit status is 1 (runs gone)" says docs/reports.md "exit status 1"
check "reports: doctor says the bench is ready" says docs/reports.md "the bench is ready"
# docs/ca.md
check "ca: OCSP says good" says docs/ca.md "alice-auth.pem: good"
check "ca: after the hold, revoked with certificateHold" says docs/ca.md "Reason: certificateHold"
check "ca: the CRL verifies" says docs/ca.md "verify OK"
# docs/incidents.md
check "incidents: the packed failure reproduces" says docs/incidents.md "reproduced: 1 run as recorded (1 failed as recorded)"
check "incidents: the fault plan shrinks to one fault" says docs/incidents.md "minimal: 1 of 3 faults"
check "incidents: the OpenSC log shrinks to what the mistyped PIN needs" says docs/incidents.md "002000800430303030 -> 63C2  (differs)"
check "incidents: the scenario fails at the mistyped VERIFY on the misbehaving card" \
	says docs/incidents.md "got 63C3, want 63C2"

# MYNAHIL_DOCS_KEEP=DIR keeps every block's script and output there.
[ -n "${MYNAHIL_DOCS_KEEP:-}" ] && cp -r "$tmp/blocks" "$MYNAHIL_DOCS_KEEP"
finish
