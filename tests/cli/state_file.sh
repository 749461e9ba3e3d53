#!/bin/sh
# `mynahil apdu --target sim:card|sim:se --state FILE` never destroys a
# state file it cannot use: a truncated file, a flipped byte, bytes that
# are no image, and a checksum-valid image with a record out of range
# (the issue's reproducer: a registry entry bound to ROM applet 5, a PIN
# counter above its tries) each fail the run with a message that names
# the file and says why, and leave it byte-identical.  --state naming a
# directory, a FIFO or a file above the size cap is a clear error, with
# no huge allocation.  A good run replaces the file atomically
# (a new file renamed over it, no temporary file left) and it reloads.
set -u
. "$2/tests/cli/lib/check.sh"
: "$src"

# One command per chip: SELECT of the JPKI AP (card), of the ISD (SE).
printf '00A4040C0AD392F000260100000001\n' >"$tmp/card.in"
printf '00A4040000\n' >"$tmp/se.in"

# run CHIP FILE [INPUT]: status in $rc, stderr in $tmp/err.
run() {
	"$bin" apdu --target "sim:$1" --state "$2" "${3:-$tmp/$1.in}" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

no_tmp_left() { [ -z "$(find "$tmp/st" -name '*.tmp*' -print)" ]; }
no_asan() { ! grep -q 'Sanitizer' "$tmp/err"; }

# refused NAME CHIP FILE WHY
refused() {
	cp "$3" "$tmp/copy"
	run "$2" "$3"
	check "$1: exit status non-zero" [ "$rc" != 0 ]
	check "$1: the message names the file" grep -qF "state $3:" "$tmp/err"
	check "$1: the message says why ($4)" grep -qF "$4" "$tmp/err"
	check "$1: the file is byte-identical" cmp -s "$3" "$tmp/copy"
	check "$1: no crash" no_asan
	check "$1: no temporary file left" no_tmp_left
	grep -qF "$4" "$tmp/err" || cat "$tmp/err"
}

# with_record IN OUT KEY HEX: the image IN with record KEY set to HEX,
# sorted and sealed with a valid checksum (sim/core/nvm.c's format),
# built outside mynahil so that only the chip's own checks stand between
# it and the simulator.
with_record() {
	python3 - "$@" <<'PY'
import struct, sys
src, dst, key, val = sys.argv[1], sys.argv[2], sys.argv[3].encode(), bytes.fromhex(sys.argv[4])
b = open(src, 'rb').read()
assert b[:7] == b'MYNVM1\x01'
n, off, recs = struct.unpack('>I', b[7:11])[0], 11, {}
for _ in range(n):
    kl = struct.unpack('>H', b[off:off + 2])[0]; k = b[off + 2:off + 2 + kl]; off += 2 + kl
    vl = struct.unpack('>I', b[off:off + 4])[0]; recs[k] = b[off + 4:off + 4 + vl]; off += 4 + vl
assert b[off:off + 5] == b'\0' * 5, 'an image with a journal'
recs[key] = val
out = b'MYNVM1\x01' + struct.pack('>I', len(recs))
for k in sorted(recs):
    out += struct.pack('>H', len(k)) + k + struct.pack('>I', len(recs[k])) + recs[k]
out += b'\0' * 5
h = 0xCBF29CE484222325
for c in out:
    h = ((h ^ c) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
open(dst, 'wb').write(out + struct.pack('>Q', h))
PY
}

# flip FILE OFFSET: xor one byte with 10.
flip() {
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %03o $((b ^ 16)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

inode() { ls -i "$1" | cut -d' ' -f1; }

mkdir "$tmp/st"
for chip in card se; do
	good=$tmp/st/$chip.good
	# A fresh state file: created by the run, no temporary file left.
	run $chip "$good"
	check "$chip fresh: exit status 0" [ "$rc" = 0 ]
	check "$chip fresh: the state file is written" [ -s "$good" ]
	check "$chip fresh: no temporary file left" no_tmp_left
	# It reloads, and a second good run replaces it by a new file.
	cp "$good" "$tmp/before"
	ino=$(inode "$good")
	run $chip "$good"
	check "$chip reload: exit status 0" [ "$rc" = 0 ]
	check "$chip reload: saved again, same state" cmp -s "$good" "$tmp/before"
	check "$chip reload: a new file renamed over the old" [ "$(inode "$good")" != "$ino" ]
	check "$chip reload: no temporary file left" no_tmp_left

	size=$(wc -c <"$good")
	f=$tmp/st/$chip.trunc
	head -c $((size / 2)) "$good" >"$f"
	refused "$chip truncated" $chip "$f" "checksum mismatch"
	head -c 9 "$good" >"$f"
	refused "$chip truncated to 9 bytes" $chip "$f" "too short"
	f=$tmp/st/$chip.flip
	cp "$good" "$f"
	flip "$f" $((size / 2))
	refused "$chip flipped byte" $chip "$f" "checksum mismatch"
	f=$tmp/st/$chip.junk
	head -c 4096 "$bin" >"$f"
	refused "$chip not an image" $chip "$f" "not an NVM image"
	: >"$f"
	refused "$chip empty file" $chip "$f" "too short"
done

# The issue's reproducer: an application bound to ROM applet 5 of an SE
# that has one: tag-length-value kind 02, AID A00000055910100001, life
# cycle 07, applet 05.
f=$tmp/st/se.applet
with_record "$tmp/st/se.good" "$f" gp/reg/0001 010102''0209A00000055910100001''030107''0C0105
refused "se applet index out of range" se "$f" "record gp/reg/0001: applet index out of range"
# A PIN counter above the PIN's 3 tries: the tries restored.
f=$tmp/st/card.ctr
with_record "$tmp/st/card.good" "$f" jpki/pin/0018/ctr FF
refused "card PIN counter above its tries" card "$f" "record jpki/pin/0018/ctr: PIN retry counter"
# A card image is no SE, and the reverse.
f=$tmp/st/other
cp "$tmp/st/card.good" "$f"
refused "card image as an SE" se "$f" "record card/personalised: no part of the SE"
cp "$tmp/st/se.good" "$f"
refused "SE image as a card" card "$f" "no part of this chip"

# --state naming a directory: a clear error, no read of 2^63 bytes, the
# directory untouched.
mkdir "$tmp/st/dir"
for chip in card se; do
	run $chip "$tmp/st/dir"
	check "$chip directory: exit status non-zero" [ "$rc" != 0 ]
	check "$chip directory: says so" grep -qF "state $tmp/st/dir: cannot read: Is a directory" "$tmp/err"
	check "$chip directory: no crash" no_asan
	check "$chip directory: left empty" [ -z "$(ls -A "$tmp/st/dir")" ]
done
# Nor a FIFO, which must not block the open.
mkfifo "$tmp/st/fifo"
run se "$tmp/st/fifo"
check "fifo: exit status non-zero" [ "$rc" != 0 ]
check "fifo: says why" grep -qF "state $tmp/st/fifo: cannot read:" "$tmp/err"

# Nor a file above the size cap (sparse: nothing is written to disk).
truncate -s 65M "$tmp/st/huge"
run card "$tmp/st/huge"
check "huge: exit status non-zero" [ "$rc" != 0 ]
check "huge: says why" grep -qF "state $tmp/st/huge: cannot read: File too large" "$tmp/err"
check "huge: no crash" no_asan

# The state persists: a wrong PIN spends a try, which the next run sees.
printf '00A4040C0AD392F000260100000001\n00A4020C020018\n0020008004 30303030\n' >"$tmp/wrong.in"
printf '00A4040C0AD392F000260100000001\n00A4020C020018\n00200080\n' >"$tmp/tries.in"
f=$tmp/st/pin
run card "$f" "$tmp/wrong.in"
check "wrong PIN: exit status 0" [ "$rc" = 0 ]
run card "$f" "$tmp/tries.in"
check "next run: two tries left" [ "$(sed -n 3p "$tmp/out")" = 63C2 ]

finish
