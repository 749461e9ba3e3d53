# tests/interop/lib/ca.sh — sourced by the CA interop tests (not a test).
#
# `mynahil serve ca` listens on 127.0.0.1 port 0 (a free port: no
# collision with a parallel test); the port is read from its "listening
# on" line, waited for with a deadline.  Every POST says its Content-Type
# (the servers refuse any other, http.h); $TOKEN, when set, goes with
# every request as a bearer token.  The server is stopped by PID
# (SIGTERM, or SIGKILL where a test wants a crash) on exit.  Needs curl
# and openssl (exit 77, skip, without them).
#
# Usage:
#   bin=$1 src=$2
#   . "$src/tests/interop/lib/ca.sh"
#   ca_enter
# shellcheck shell=sh

SKIP=77
FX=${src:?}/fixtures
. "$src/tests/interop/lib/skip.sh"

ca_enter() {
	for tool in curl openssl; do
		command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not installed"; exit $SKIP; }
	done
	tmp=$(mktemp -d)
	serve_pid= extra_pids=
	trap ca_cleanup EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	pass=0 fail=0
	# PEM copies of the fixtures openssl wants.
	for c in auth-ca sign-ca alice-auth alice-sign bob-auth bob-sign chika-auth; do
		openssl x509 -inform DER -in "$FX/pki/$c.der" -out "$tmp/$c.pem"
	done
}

ca_cleanup() {
	st=$?
	for p in $extra_pids $serve_pid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
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

# has TEXT PATTERN: TEXT has a line matching PATTERN (grep -q).
has() { printf '%s\n' "$1" | grep -q -- "$2"; }

finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" = 0 ]
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

# start_http ca|tsm [OPTIONS...]: the server in the background, on
# 127.0.0.1 port 0 unless OPTIONS say otherwise (a later --listen wins);
# $B is its base URL (through 127.0.0.1 when it listens on every
# address), $printed_token the token on its start-up lines, if any.
start_http() {
	_what=$1
	shift
	: >"$tmp/serve.out"
	"$bin" serve "$_what" --listen 127.0.0.1:0 "$@" >"$tmp/serve.out" 2>>"$tmp/serve.log" &
	serve_pid=$!
	if ! wait_log "$tmp/serve.out" "listening on http://" 10000; then
		echo "FAIL: serve $_what did not listen within 10 s"
		exit 1
	fi
	cat "$tmp/serve.out" >>"$tmp/serve.log"
	B=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$tmp/serve.out" | sed 's,//0\.0\.0\.0:,//127.0.0.1:,')
	printed_token=$(sed -n 's/.*: token \([^ ]*\) .*/\1/p' "$tmp/serve.out")
	# Ready means answering: one request, with a deadline, no sleep.
	_ready=/v1/clock
	[ "$_what" = tsm ] && _ready=/v1/tsm/devices
	curl -fsS --max-time 5 "$B$_ready" >/dev/null || { echo "FAIL: serve $_what does not answer"; exit 1; }
}

# start_ca [OPTIONS...]: start_http ca.
start_ca() { start_http ca "$@"; }

# stop_ca [SIGNAL]: the server's exit status in $serve_status.
stop_ca() {
	kill "-${1:-TERM}" "$serve_pid" 2>/dev/null
	wait "$serve_pid" 2>/dev/null
	serve_status=$?
	serve_pid=
}

# api METHOD PATH [JSON]: the body on stdout, the status in $code.  A
# POST says it is JSON, with a body or without.
api() {
	_m=$1 _p=$2 _b=${3-}
	set -- -sS --max-time 10 -o "$tmp/api.body" -w '%{http_code}' -X "$_m"
	[ "$_m" = POST ] && set -- "$@" -H 'Content-Type: application/json'
	[ -n "${TOKEN-}" ] && set -- "$@" -H "Authorization: Bearer $TOKEN"
	[ -n "$_b" ] && set -- "$@" --data-binary "$_b"
	code=$(curl "$@" "$B$_p")
	cat "$tmp/api.body"
}

# jget KEY < JSON: the first string value of KEY (flat, unescaped values).
jget() { grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | sed 's/^"[^"]*":"//; s/"$//'; }

b64() { openssl base64 -A; }
unb64() { openssl base64 -d -A; }

# spki N: base64 DER SubjectPublicKeyInfo of pool key N.
spki() { openssl pkey -in "$FX/keys/pool-$1.pem" -pubout -outform DER | b64; }

# phone_req PURPOSE CARD_SERIAL POOLKEY NONCE SIGNKEY: the JSON of a phone
# certificate request, signed by pool key SIGNKEY over the CA's
# PhoneCertRequest bytes (from /v1/phone-certs/tbs).
phone_req() {
	phone_req_spki "$1" "$2" "$(spki "$3")" "$4" "$5"
}

# phone_req_spki PURPOSE CARD_SERIAL SPKI_BASE64 NONCE SIGNKEY: the same.
phone_req_spki() {
	_nonce=$(printf '%s' "$4" | b64)
	_base="\"card_serial\":\"$2\",\"purpose\":\"$1\",\"spki\":\"$3\",\"nonce\":\"$_nonce\""
	curl -fsS --max-time 10 -H 'Content-Type: application/json' ${TOKEN:+-H "Authorization: Bearer $TOKEN"} \
		--data-binary "{$_base}" "$B/v1/phone-certs/tbs" | jget tbs | unb64 >"$tmp/tbs.der"
	_sig=$(openssl dgst -sha256 -sign "$FX/keys/pool-$5.pem" "$tmp/tbs.der" | b64)
	printf '{%s,"signature":"%s"}' "$_base" "$_sig"
}

# tbs PURPOSE CARD_SERIAL NONCE SPKI_DER_FILE > DER: the PhoneCertRequest
# of sim/ca/ca.h built here, independently of the CA (perl, essential in
# Debian): SEQUENCE { UTF8String label, ENUMERATED purpose, INTEGER
# serial, OCTET STRING nonce, SubjectPublicKeyInfo }.
tbs() {
	perl -e '
		my ($purpose, $serial, $nonce, $f) = @ARGV;
		open(my $fh, "<", $f) or die; binmode $fh; local $/; my $spki = <$fh>;
		sub len { my $n = shift; $n < 128 ? chr($n) : $n < 256 ? "\x81" . chr($n) : "\x82" . pack("n", $n) }
		sub tlv { chr($_[0]) . len(length $_[1]) . $_[1] }
		my $s = pack("H*", $serial);
		$s =~ s/^\x00+(?=.)//s;
		$s = "\x00$s" if ord($s) & 0x80;
		my $c = tlv(0x0C, "mynahil phone-cert-request v1") . tlv(0x0A, chr($purpose eq "sign" ? 1 : 0))
		      . tlv(0x02, $s) . tlv(0x04, $nonce) . $spki;
		binmode STDOUT; print tlv(0x30, $c);' "$@"
}

# ocsp_status ISSUER_PEM CERT_PEM: openssl ocsp's verdict lines (the CA
# at $CA_URL, default $B).
ocsp_status() {
	openssl ocsp -issuer "$1" -cert "$2" -url "${CA_URL:-$B}/ocsp" -CAfile "$FX/pki/ca-chain.pem" \
		-validity_period 1000000000 2>&1
}

# der_to_pem < DER-in-base64 > PEM
b64der_to_pem() { unb64 | openssl x509 -inform DER; }
