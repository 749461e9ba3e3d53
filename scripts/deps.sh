#!/bin/sh
# Install the Debian packages mynahil needs, and only those that are missing.
# Idempotent: a second run with everything present does nothing and needs no root.
set -eu

# Every tool a test uses is here: under CI a test that would skip for a
# missing tool fails instead (tests/interop/lib/run.sh).  clang with
# libclang-rt-14-dev (libFuzzer, --no-install-recommends leaves it out)
# and llvm (llvm-symbolizer, for readable stacks) build tests/fuzz.
# chromium (headless) opens report.html in tests/interop/report_chromium.sh
# and make bench.
PKGS="build-essential cmake pkg-config git
liblua5.4-dev lua5.4 libssl-dev openssl libsqlite3-dev
libpcsclite-dev pcscd vsmartcard-vpcd libnfc-dev libnfc-bin
libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev libcmocka-dev
opensc pcsc-tools socat tshark vsmartcard-vpicc python3-pycryptodome
curl sqlite3 clang libclang-rt-14-dev llvm chromium strace"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done

[ -z "$missing" ] && exit 0

echo "deps: missing Debian packages:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: not root; install them with:" >&2
	echo "  sudo apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
