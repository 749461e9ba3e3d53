#!/bin/sh
# bench_vpcd.sh BUILD SRC — APDU/s through pcscd + vpcd for `mynahil
# serve card` and, under the same pcscd, for Debian's Python vicc
# (-t iso7816): patched to re-arm TCP_QUICKACK, and stock (which stalls
# on delayed ACKs, so its run is kept short).  The same APDUs for each
# (SELECT EF + READ BINARY, by bench_pcsc).  Runs isolated like the
# interop tests (root, unshare -m -n); exits 77 when it cannot.
# Not a test: nothing fails on a timing.
set -u
build=$1 src=$2
bin=$build/mynahil
. "$src/tests/interop/lib/pcscd.sh"
interop_enter "$0" "$@"

secs=${BENCH_SECONDS:-3}
out() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

start_pcscd
start_serve
wait_card 10000 || { echo "mynahil serve: the card did not appear"; exit 1; }
"$build/bench_pcsc" "$READER" "$secs" --jpki >"$tmp/ours" 2>>"$tmp/bench.log" || exit 1
stop_serve
wait_no_card 5000 || exit 1
ours=$(out apdu_per_s "$tmp/ours")
echo "mynahil serve card: $(out apdus "$tmp/ours") APDUs, SW $(out sw_select "$tmp/ours")/$(out sw_read "$tmp/ours")" >&2

# The ceiling: a card that does nothing but answer 9000.
"$build/bench_vpcd_echo" "$VPCD_PORT" >>"$tmp/echo.log" 2>&1 &
serve_pid=$!
wait_card 10000 || { echo "bench_vpcd_echo: the card did not appear"; exit 1; }
"$build/bench_pcsc" "$READER" "$secs" >"$tmp/echo" 2>>"$tmp/bench.log" || exit 1
kill "$serve_pid" 2>/dev/null
wait "$serve_pid" 2>/dev/null
serve_pid=
wait_no_card 5000 || exit 1
echo "vpcd_echo_apdu_per_s $(out apdu_per_s "$tmp/echo")"

vicc_py=
for d in $(dpkg -L python3-virtualsmartcard 2>/dev/null | grep '/virtualsmartcard/__init__\.py$'); do
	vicc_py=$(dirname "$(dirname "$d")")
done
[ -n "$vicc_py" ] || vicc_py=$(find /usr/lib/python3 -path '*/virtualsmartcard/__init__.py' 2>/dev/null | head -n 1 | xargs -r dirname | xargs -r dirname)
if ! command -v vicc >/dev/null 2>&1 || [ -z "$vicc_py" ]; then
	echo "vpcd_apdu_per_s $ours"
	echo "vicc_skipped vsmartcard-vpicc (python3-virtualsmartcard) not installed"
	exit 0
fi

# Debian's vicc imports PyCrypto's "Crypto"; Debian's python3-pycryptodome
# installs it as "Cryptodome": alias it.  With --quickack, vicc's socket
# re-arms TCP_QUICKACK around every recv, as our server does.
cat >"$tmp/vicc_run.py" <<'EOPY'
import runpy, socket, sys
try:
    import Crypto  # noqa: F401
except ImportError:
    import Cryptodome, Cryptodome.Cipher, Cryptodome.Hash
    sys.modules.update({"Crypto": Cryptodome, "Crypto.Cipher": Cryptodome.Cipher, "Crypto.Hash": Cryptodome.Hash})
if sys.argv[1] == "--quickack":
    sys.argv.pop(1)
    class QuickAckSocket(socket.socket):
        def recv(self, *args):
            self.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            data = super().recv(*args)
            self.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            return data
    socket.socket = QuickAckSocket
vicc = sys.argv.pop(1)
sys.argv[0] = vicc
runpy.run_path(vicc, run_name="__main__")
EOPY
python=/usr/bin/python3 # vicc's own interpreter, whatever python3 is first in PATH
[ -x $python ] || python=python3

run_vicc() { # label seconds [--quickack]
	PYTHONPATH=$vicc_py $python "$tmp/vicc_run.py" ${3:-} "$(command -v vicc)" -t iso7816 \
		-H 127.0.0.1 -P "$VPCD_PORT" >>"$tmp/vicc.log" 2>&1 &
	serve_pid=$!
	wait_card 20000 || { echo "vicc ($1): the card did not appear" >&2; return 1; }
	"$build/bench_pcsc" "$READER" "$2" >"$tmp/$1" 2>>"$tmp/bench.log" || return 1
	kill "$serve_pid" 2>/dev/null
	wait "$serve_pid" 2>/dev/null
	serve_pid=
	wait_no_card 5000
	echo "vicc ($1): $(out apdus "$tmp/$1") APDUs, SW $(out sw_select "$tmp/$1")/$(out sw_read "$tmp/$1")" >&2
}
run_vicc quickack "$secs" --quickack || exit 1
run_vicc stock 2 || exit 1

echo "vpcd_apdu_per_s $ours"
echo "vicc_quickack_apdu_per_s $(out apdu_per_s "$tmp/quickack")"
echo "vicc_stock_apdu_per_s $(out apdu_per_s "$tmp/stock")"
