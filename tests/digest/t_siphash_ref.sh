#!/usr/bin/env bash
# t_siphash_ref.sh -- the state digest's hash (src/lib/digest.c, SipHash-1-3)
# built with 2 and 4 rounds instead and checked against libsodium's
# SipHash-2-4-128 (siphash_ref.c): our SipHash is SipHash.
# timeout: 120
set -u
cd "${HOP_ROOT:-$(dirname "$0")/../..}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -f build/x86_64/libhop.a ] || { echo "no build/x86_64/libhop.a (make first)"; exit 77; }
[ -f /usr/include/sodium.h ] || { echo "no libsodium headers"; exit 77; }
gcc -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Wno-unused-parameter -Iinclude -Isrc/lib -DHOP_SIP_C=2 -DHOP_SIP_D=4 \
	-c src/lib/digest.c -o "$tmp/digest24.o" || exit 1
# digest24.o comes first, so the archive's digest.o (1-3 rounds) is never pulled in
gcc -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iinclude -Isrc/lib tests/digest/siphash_ref.c \
	"$tmp/digest24.o" build/x86_64/libhop.a -lsodium -lpthread -o "$tmp/ref" || exit 1
"$tmp/ref"
