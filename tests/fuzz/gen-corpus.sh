#!/bin/sh
# tests/fuzz/gen-corpus.sh — rewrite the seeds of tests/fuzz/corpus/*
# (files named seed-* and the profiles' copies) from mkcorpus.c, with a
# built fuzz_mkcorpus (any build directory).  Crash reproducers (crash-*,
# named after the issue they prove) are kept.
#
# Usage: sh tests/fuzz/gen-corpus.sh [BUILD-DIR]   (default build-test)
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build-test}
cmake --build "$build" --target fuzz_mkcorpus >/dev/null
find "$src/tests/fuzz/corpus" -type f ! -name 'crash-*' -delete 2>/dev/null || true
mkdir -p "$src/tests/fuzz/corpus"
"$build/fuzz_mkcorpus" "$src/tests/fuzz/corpus"
