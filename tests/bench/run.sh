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
: "$here"
