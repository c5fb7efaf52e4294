#!/usr/bin/env bash
# hash_bench.sh -- build bench/hash_bench.c (x86_64, -O2, against libhop) and
# print ns per object of the digest's hash beside BLAKE2s and memcpy.
set -eu
cd "$(dirname "$0")/.."
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
gcc -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Wno-unused-parameter -Iinclude -Isrc/lib \
	bench/hash_bench.c build/x86_64/libhop.a -lpthread -o "$T/hash_bench"
"$T/hash_bench"
