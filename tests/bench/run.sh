#!/bin/sh
# make bench: the figures the issues ask for, beside their baselines.
# Not a test: nothing here fails on a timing.
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)

echo "== card simulator, in process (issue: harness core) =="
out=$("$build/bench_card" 2)
apdu=$(echo "$out" | awk '/^apdu_per_s/ {print $2}')
sign=$(echo "$out" | awk '/^sign_per_s/ {print $2}')
ossl=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6}')
printf '%-44s %12s APDU/s\n' "SELECT + READ BINARY" "$apdu"
printf '%-44s %12s APDU/s\n' "  baseline: vsmartcard Python card, in process" "38700"
printf '%-44s %12s APDU/s\n' "  target" "1000000"
awk -v a="$apdu" 'BEGIN { printf "  ratio to the baseline: %.1fx\n", a / 38700 }'
printf '%-44s %12s sign/s\n' "JPKI signature (80 2A, RSA-2048)" "$sign"
printf '%-44s %12s sign/s\n' "  openssl speed rsa2048 (same machine)" "$ossl"
awk -v s="$sign" -v o="$ossl" 'BEGIN { if (o > 0) printf "  card / openssl: %.1f%% (target: within 10%%)\n", 100 * s / o }'

echo
echo "== SCP03 (sim/gp), in process, card and host side together (issue 4) =="
out=$("$build/bench_scp03" 2)
s128=$(echo "$out" | awk '/^scp03_sessions_per_s / {print $2}')
s256=$(echo "$out" | awk '/^scp03_sessions_per_s_aes256 / {print $2}')
w128=$(echo "$out" | awk '/^scp03_wrapped_per_s / {print $2}')
w256=$(echo "$out" | awk '/^scp03_wrapped_per_s_aes256 / {print $2}')
printf '%-44s %12s sessions/s\n' "SCP03 sessions opened (IU + EA), AES-128" "$s128"
printf '%-44s %12s sessions/s\n' "  AES-256" "$s256"
printf '%-44s %12s commands/s\n' "wrapped commands at level 33, AES-128" "$w128"
printf '%-44s %12s commands/s\n' "  AES-256" "$w256"
echo "  (session: both sides, pseudo-random challenge; command: host wrap +"
echo "   card unwrap + card R-MAC + host check of a 200-byte STORE DATA)"
echo "  baseline: none given in the issue"
: "$here"
