#!/usr/bin/env bash
# hash_bench.sh -- build bench/hash_bench.c (x86_64, -O2, with hop cc for its
# index) and print ns per object of the digest's hash beside BLAKE2s and
# memcpy, then the whole object hash of a kvd-like struct.
set -eu
cd "$(dirname "$0")/.."
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
bin/hop cc --target x86_64 -O2 -Isrc/lib -o "$T/hash_bench" bench/hash_bench.c
"$T/hash_bench"
