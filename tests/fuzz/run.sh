#!/usr/bin/env bash
# run.sh -- build and run the fuzz targets (libFuzzer, clang, ASan + UBSan).
#   bash tests/fuzz/run.sh short   ~20 s per target (part of make check via t_fuzz_short.sh)
#   bash tests/fuzz/run.sh long    10 min per target (make fuzz); FUZZ_SECONDS overrides
# Seeds live in tests/fuzz/corpus/<target>/ (images saved by the fixture on
# each target); new findings go to build/fuzz/corpus-*. A crash leaves its
# input in build/fuzz/ and fails the run: turn it into a regression seed.
set -u
cd "$(dirname "$0")/../.."
mode=${1:-short}
secs=${FUZZ_SECONDS:-$([ "$mode" = long ] && echo 600 || echo 20)}
command -v clang >/dev/null || { echo "clang not installed"; exit 77; }
OUT=build/fuzz
mkdir -p "$OUT"
LIB="src/lib/xlate.c src/lib/scan.c src/lib/digest.c src/lib/hints.c src/lib/ldouble.c src/lib/image.c src/lib/compat.c src/lib/upgrade.c
     src/lib/index.c src/lib/bytes.c src/lib/err.c src/lib/heap.c src/lib/elf.c"
CFLAGS="-std=gnu11 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc/lib -Itests/fuzz -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
# the wire and handshake targets (issue 7) need only the frame code (+ auth.c, libsodium);
# wire.c's trace line names the scheduling of hop's threads (bg.c: thread.c, heap.c)
WIRE_LIB="src/lib/wire.c src/lib/fault.c src/lib/bytes.c src/lib/err.c src/lib/bg.c src/lib/thread.c src/lib/heap.c"
TARGETS="fuzz_index fuzz_xlate fuzz_wire fuzz_handshake"
for t in $TARGETS; do
	lib=$LIB
	[ $t = fuzz_wire ] && lib=$WIRE_LIB
	[ $t = fuzz_handshake ] && lib="$WIRE_LIB src/tool/auth.c -Isrc/tool -lsodium"
	# shellcheck disable=SC2086
	clang $CFLAGS tests/fuzz/$t.c $lib -lpthread -o "$OUT/$t" 2>"$OUT/$t.build.log" ||
		{ echo "building $t failed:"; cat "$OUT/$t.build.log"; exit 1; }
done
export ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export HOP_FUZZ_DEST=$PWD/tests/fuzz/corpus/dest_x86_64.idx
fail=0
for t in $TARGETS; do
	seeds=tests/fuzz/corpus/images
	[ $t = fuzz_index ] && seeds=tests/fuzz/corpus/indexes
	[ $t = fuzz_wire ] && seeds=tests/fuzz/corpus/wire
	[ $t = fuzz_handshake ] && seeds=tests/fuzz/corpus/handshake
	work=$OUT/corpus-$t
	mkdir -p "$work"
	if "$OUT/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-artifact_prefix="$OUT/$t-" "$work" "$seeds" >"$OUT/$t.log" 2>&1; then
		echo "ok   $t: $(grep -E '^#[0-9]+.*(DONE|pulse)' "$OUT/$t.log" | tail -1)"
	else
		echo "FAIL $t (see $OUT/$t.log):"
		grep -E "ERROR|SUMMARY|Test unit written" "$OUT/$t.log" | head -5
		fail=1
	fi
done
exit $fail
