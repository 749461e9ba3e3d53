#!/bin/sh
# bench_ca_http.sh BUILD SRC — `mynahil serve ca` over HTTP with 1, 8 and
# 64 concurrent clients (curl --parallel, one process): requests per
# second and p99 latency for OCSP (POST /ocsp) and for phone certificate
# issuance (POST /v1/phone-certs, requests signed beforehand by alice's
# card key).  Prints "key value" lines for run.sh.  Not a test.
set -eu
build=$1 src=$2
bin=$build/mynahil
. "$src/tests/interop/lib/ca.sh"
tmp=$(mktemp -d)
serve_pid=
trap 'kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
N_OCSP=${N_OCSP:-1000}
N_ISSUE=${N_ISSUE:-128}

start_ca --db "$tmp/ca.db" >/dev/null

# run NAME CLIENTS CFG: rps and p99 of the transfers in CFG.
run() {
	t0=$(date +%s%N)
	curl -sS --max-time 300 -Z --parallel-immediate --parallel-max "$2" -K "$3" >"$tmp/times" 2>/dev/null
	t1=$(date +%s%N)
	n=$(grep -c '^20[01] ' "$tmp/times" || true)
	total=$(wc -l <"$tmp/times")
	p99=$(awk '{ print $2 }' "$tmp/times" | sort -n | awk '{ a[NR] = $1 } END { i = int(NR * 0.99 + 0.999); if (i < 1) i = 1; printf "%.1f", a[i] * 1000 }')
	echo "$1_c$2_rps $(awk -v n="$n" -v t=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (t / 1e9) }')"
	echo "$1_c$2_p99_ms $p99"
	[ "$n" = "$total" ] || echo "$1_c$2_failed $((total - n))"
}

# OCSP: one request for alice's auth certificate, N_OCSP times.
openssl x509 -inform DER -in "$FX/pki/alice-auth.der" -out "$tmp/leaf.pem"
openssl x509 -inform DER -in "$FX/pki/auth-ca.der" -out "$tmp/ca.pem"
openssl ocsp -issuer "$tmp/ca.pem" -cert "$tmp/leaf.pem" -no_nonce -reqout "$tmp/q.der" >/dev/null 2>&1
: >"$tmp/ocsp.cfg"
i=0
while [ "$i" -lt "$N_OCSP" ]; do
	[ "$i" = 0 ] || echo next >>"$tmp/ocsp.cfg"
	printf 'url = "%s/ocsp"\nheader = "Content-Type: application/ocsp-request"\ndata-binary = "@%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code} %%{time_total}\\n"\n' \
		"$B" "$tmp/q.der" >>"$tmp/ocsp.cfg"
	i=$((i + 1))
done
for c in 1 8 64; do run ocsp "$c" "$tmp/ocsp.cfg"; done

# Issuance: N_ISSUE distinct signed requests per concurrency level.
openssl pkey -in "$FX/keys/pool-30.pem" -pubout -outform DER -out "$tmp/spki.der"
sp=$(b64 <"$tmp/spki.der")
for c in 1 8 64; do
	: >"$tmp/issue.$c.cfg"
	i=0
	while [ "$i" -lt "$N_ISSUE" ]; do
		i=$((i + 1))
		tbs auth 0700A002 "bench-$c-$i" "$tmp/spki.der" >"$tmp/tbs.der"
		sig=$(openssl dgst -sha256 -sign "$FX/keys/pool-04.pem" "$tmp/tbs.der" | b64)
		printf '{"card_serial":"0700A002","purpose":"auth","spki":"%s","nonce":"%s","signature":"%s"}' \
			"$sp" "$(printf 'bench-%s-%s' "$c" "$i" | b64)" "$sig" >"$tmp/req.$c.$i"
		[ "$i" = 1 ] || echo next >>"$tmp/issue.$c.cfg"
		printf 'url = "%s/v1/phone-certs"\nheader = "Content-Type: application/json"\ndata-binary = "@%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code} %%{time_total}\\n"\n' \
			"$B" "$tmp/req.$c.$i" >>"$tmp/issue.$c.cfg"
	done
done
for c in 1 8 64; do run issue "$c" "$tmp/issue.$c.cfg"; done
