#!/usr/bin/env bash
# world_bench.sh -- what descriptors and clients add to a migration:
# the added pause for N connected clients (N = 10, 100, 1000), and the
# relay's throughput and added latency per message against a direct
# connection in the same run (loopback). Prints; not a test.
set -eu
cd "$(dirname "$0")/.."
mkdir -p build/bench
gcc -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-unused-result -Iinclude \
	-iquote src/lib -Isrc/tool -o build/bench/world_bench bench/world_bench.c src/tool/relay.c \
	build/x86_64/libhop.a -lsodium -lpthread
echo "added pause for N connected clients (best of 3 runs each):"
for n in 10 100 1000; do
	for i in 1 2 3; do build/bench/world_bench pause $n; done | sort -t'|' -k3 | head -n 1
done
echo "relay vs direct connection (loopback, 64-byte round trips, 2 GiB stream):"
build/bench/world_bench relay
