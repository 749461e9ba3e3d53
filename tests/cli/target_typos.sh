#!/bin/sh
# The command line never tests something else than it was told: a typo
# in a role (--target crd=..., a bench file's crad = ...), an unknown
# URI query key, an unknown link kind or simulator, a service nobody
# answers at — each is exit 2 before any scenario runs, with one line
# naming the typo and the valid choices, and no report that could pass
# for a run.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

# usage MESSAGE ARGS...: `mynahil ARGS` exits 2, says MESSAGE, runs nothing
usage() {
	_msg=$1
	shift
	"$bin" "$@" --out "$tmp/r" >"$tmp/out" 2>"$tmp/err"
	_st=$?
	check "$*: exit 2 (got $_st)" [ "$_st" = 2 ]
	check "$*: says '$_msg'" grep -qF -- "$_msg" "$tmp/err"
	check "$*: no scenario ran" sh -c "! grep -q 'passed' '$tmp/out' && [ ! -e '$tmp/r/results.json' ]"
}

usage "unknown role 'crd' in crd=pcsc:Virtual PCD (roles: card, se, se2, ios, tsm, ca)" \
	run scenarios/card --target 'crd=pcsc:Virtual PCD'
usage "unknown role 'crad'" run scenarios/card --target crad=sim:card
usage "unknown query key 'profle' (valid: profile, state, serial, keys)" \
	run scenarios/card --target 'sim:card?profle=fixtures/profiles/bob.lua'
usage "unknown query key 'profle' (valid: profile, keys)" run scenarios/card --target 'pcsc:Virtual PCD?profle=x.lua'
usage "unknown query key 'tpye' (valid: type, profile)" run scenarios/card --target 'nfc:pn532_uart:/dev/null?tpye=a'
usage "query key 'state' needs a value" run scenarios/card --target 'sim:card?state'
usage "serial= is for sim:se" run scenarios/card --target 'sim:card?serial=01020304'
usage "unknown target kind (expected sim:card, sim:se, pcsc:READER, nfc:DRIVER:PORT, replay:FILE)" \
	run scenarios/card --target 'pcsx:Virtual PCD'
usage "tsm=https://x: expected sim or http://HOST:PORT" run scenarios/card --target tsm=https://x
usage "unknown role 'crd'" list scenarios/card --target crd=sim:card

# A value too long for the link is an error, not a silently cut path.
long=$(printf '%01100d' 0)
usage "profile=: path longer than" run scenarios/card --target "sim:card?profile=$long"

# A bench file's unknown field is a usage error too.
printf 'return { crad = "sim:card?profile=fixtures/profiles/bob.lua" }\n' >"$tmp/bench.lua"
usage "$tmp/bench.lua: unknown role 'crad'" run scenarios/card --bench "$tmp/bench.lua"
printf 'return { card = "sim:card?profle=fixtures/profiles/bob.lua" }\n' >"$tmp/bench2.lua"
usage "unknown query key 'profle'" run scenarios/card --bench "$tmp/bench2.lua"
"$bin" apdu --bench "$tmp/bench2.lua" </dev/null >/dev/null 2>"$tmp/a.err"
check "apdu --bench with a typo: exit 2, named" sh -c "[ $? = 2 ] && grep -q \"unknown query key 'profle'\" '$tmp/a.err'"

# sim:crad: said once, before the first scenario — not once per scenario.
"$bin" run scenarios/card --target sim:crad --out "$tmp/c" >"$tmp/c.out" 2>"$tmp/c.err"
check "sim:crad: exit 2" [ $? = 2 ]
check "sim:crad: one line naming the role and the simulators" \
	sh -c "[ \$(grep -c 'sim:crad' '$tmp/c.err') = 1 ] && grep -q 'role card: sim:crad: unknown simulator (expected sim:card, sim:se or sim:ios)' '$tmp/c.err'"
check "sim:crad: no scenario ran" sh -c "[ ! -s '$tmp/c.out' ] && [ ! -e '$tmp/c/results.json' ]"

# A missing profile of a bound simulator: once, at start.
"$bin" run scenarios/card --target 'sim:card?profile=no/such.lua' --out "$tmp/p" >"$tmp/p.out" 2>"$tmp/p.err"
check "a missing profile: exit 2, named once" \
	sh -c "[ $? = 2 ] && [ \$(grep -c 'no/such.lua' '$tmp/p.err') = 1 ]"

# A service nobody answers at: named, with the reason, before any scenario.
# The port is one this test bound and closed, so nothing listens there.
port=$(perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0") or die; print $s->sockport')
"$bin" run scenarios/tsm --target "tsm=http://127.0.0.1:$port" --out "$tmp/t" >"$tmp/t.out" 2>"$tmp/t.err"
check "unreachable TSM: exit 2" [ $? = 2 ]
check "unreachable TSM: cannot reach the TSM at URL: connection refused" \
	grep -qi "role tsm: cannot reach the TSM at http://127.0.0.1:$port: connection refused" "$tmp/t.err"
check "unreachable TSM: no scenario ran" [ ! -e "$tmp/t/results.json" ]
"$bin" run scenarios/tsm --target "ca=http://127.0.0.1:$port/ca" --out "$tmp/t2" >/dev/null 2>"$tmp/t2.err"
check "unreachable CA: named" grep -qi "role ca: cannot reach the CA at http://127.0.0.1:$port/ca: connection refused" "$tmp/t2.err"

# A service that answers, but is not the one the role names (the CA's
# port bound as tsm=, the TSM's root as ca=): exit 2 at start, naming it,
# not a run whose every scenario fails deep in a helper.
"$bin" serve ca --listen 127.0.0.1:0 >"$tmp/ca.log" 2>&1 &
ca_pid=$!
end=$(($(date +%s) + 10))
until grep -q 'listening on' "$tmp/ca.log"; do
	kill -0 "$ca_pid" 2>/dev/null && [ "$(date +%s)" -lt "$end" ] || { cat "$tmp/ca.log"; break; }
	sleep 0.05
done
ca=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$tmp/ca.log")
"$bin" run scenarios/tsm --filter TSM-00 --target "tsm=$ca" --out "$tmp/w" >"$tmp/w.out" 2>"$tmp/w.err"
check "a CA bound as the TSM: exit 2" [ $? = 2 ]
check "... named: does not answer as the TSM" grep -q "role tsm: $ca does not answer as the TSM (GET /v1/tsm/devices: HTTP 404)" "$tmp/w.err"
check "... no scenario ran" [ ! -e "$tmp/w/results.json" ]
"$bin" run scenarios/tsm --filter TSM-00 --target "ca=$ca/ca" --out "$tmp/w2" >/dev/null 2>"$tmp/w2.err"
check "a wrong CA path: exit 2, named" sh -c "[ $? = 2 ] && grep -q 'role ca: $ca/ca does not answer as the CA' '$tmp/w2.err'"
"$bin" run scenarios/card --filter CARD-00 --target "ca=$ca" --out "$tmp/w3" >"$tmp/w3.out" 2>&1
check "the same CA bound as ca=: the probe lets the run go" grep -q '^1 passed' "$tmp/w3.out"
kill "$ca_pid"
wait "$ca_pid" 2>/dev/null

# Usage errors are one line and a hint, not the whole usage.
"$bin" run --jobs 0 >/dev/null 2>"$tmp/u.err"
check "a usage error is two lines: what and where the options are" \
	sh -c "[ \$(wc -l <'$tmp/u.err') = 2 ] && grep -q 'mynahil run --help' '$tmp/u.err'"
"$bin" frobnicate >/dev/null 2>"$tmp/f.err"
check "an unknown command: named, where the commands are, no usage dump" \
	sh -c "[ \$(wc -l <'$tmp/f.err') = 2 ] && grep -q \"unknown command 'frobnicate'\" '$tmp/f.err' && grep -q 'mynahil --help for the commands' '$tmp/f.err'"
"$bin" list --help >"$tmp/lh"
check "list --help shows list's usage" grep -q '^usage: mynahil list' "$tmp/lh"
"$bin" --help >"$tmp/h"
check "top-level help lists every serve kind" grep -q 'serve card|se|ios|pn532|ca|tsm|wallet' "$tmp/h"
"$bin" run --help >"$tmp/rh"
check "--target help names the link kinds and the roles" \
	sh -c "grep -q 'nfc:DRIVER:PORT' '$tmp/rh' && grep -q 'Roles: card, se' '$tmp/rh' && grep -q 'tsm, ca' '$tmp/rh'"

# The right spellings still run.
"$bin" run scenarios/card --filter CARD-00 --target 'card=sim:card?profile=fixtures/profiles/alice.lua' \
	--out "$tmp/ok" >"$tmp/ok.out" 2>&1
check "a well-formed binding runs" sh -c "[ $? = 0 ] && grep -q '^1 passed' '$tmp/ok.out'"

finish
