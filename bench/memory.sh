#!/usr/bin/env bash
# bench/memory.sh -- the runtime's memory benchmarks: allocator (hop vs glibc)
# and dirty tracking (fault, collect, slowdown per backend). Prints figures.
set -eu
cd "$(dirname "$0")/.."
make -s build/x86_64/libhop.a
mkdir -p build/bench
for b in alloc_bench track_bench; do
	gcc -std=gnu11 -O2 -Wall -Wextra -Iinclude -Isrc/lib bench/$b.c build/x86_64/libhop.a -lpthread -o build/bench/$b
done
build/bench/alloc_bench
echo
build/bench/track_bench
