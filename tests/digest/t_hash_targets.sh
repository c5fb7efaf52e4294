#!/usr/bin/env bash
# t_hash_targets.sh -- tests/unit/test_digest.c (the digest's fixed vectors,
# the normal form of one struct in both byte orders, bit flips) built for
# i686, aarch64, s390x and powerpc and run under qemu-user: the object hash
# is the same number on all five targets (x86_64 runs it as a unit test).
# timeout: 300
set -u
cd "${HOP_ROOT:-$(dirname "$0")/../..}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
declare -A QEMU=([i686]=qemu-i386 [s390x]=qemu-s390x [powerpc]=qemu-ppc [aarch64]=qemu-aarch64)
rc=0 ran=0
for t in i686 aarch64 s390x powerpc; do
	tr=$t-linux-gnu q=${QEMU[$t]}
	if ! command -v "$q" >/dev/null || ! command -v "$tr-gcc" >/dev/null || [ ! -f "build/$t/libhop.a" ]; then
		echo "$t: no $q, cross compiler or build/$t/libhop.a, skipped"; continue
	fi
	if ! "$tr-gcc" -std=gnu11 -D_GNU_SOURCE -O1 -Wall -Wextra -Werror -Wno-unused-parameter -Iinclude -Isrc/lib \
		-Itests/unit tests/unit/test_digest.c "build/$t/libhop.a" -lpthread -o "$tmp/test_digest.$t"; then
		echo "$t: build failed"; rc=1; continue
	fi
	if out=$(timeout 200 "$q" -L "/usr/$tr" "$tmp/test_digest.$t" 2>&1); then
		echo "$t: $(echo "$out" | grep -c '^  ok') tests ok"
	else
		echo "$t: FAILED"; echo "$out" | sed 's/^/    /'; rc=1
	fi
	ran=$((ran + 1))
done
[ $ran -eq 0 ] && { echo "no qemu-user targets available"; exit 77; }
exit $rc
