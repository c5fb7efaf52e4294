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
echo "descriptors and relay connections: what N clients add, piece by piece (best of 3):"
for n in 10 100 1000; do
	for i in 1 2 3; do build/bench/world_bench pause $n; done | sort -t'|' -k3 | head -n 1
done
echo "relay vs direct connection (loopback, 64-byte round trips, 2 GiB stream):"
build/bench/world_bench relay

# ---- the real thing: the chat server with N clients migrated between
# network namespaces; downtime_us as hop migrate reports it -------------------
. tests/world/netns.sh
if ! world_up; then
	echo "(no network namespaces: skipping the migration figures)"
	exit 0
fi
make --no-print-directory -s build/x86_64/libhop.a bin/hop
hop() { "$PWD/bin/hop" "$@"; }
hop cc --target x86_64 -o build/bench/chat tests/world/chat.c -O1
T=$(mktemp -d)
export HOP_RUN_DIR=$T/run
mkdir -m 700 "$HOP_RUN_DIR"
head -c 32 /dev/urandom | base64 >"$T/token"
chmod 600 "$T/token"
echo "migration of the chat server between namespaces, N connected clients (downtime as hop migrate reports it):"
port=7100
for n in 0 10 100 1000; do
	for run in 1 2 3; do
		port=$((port + 1))
		rm -f "$T"/ready "$T"/dpid "$T"/rpid
		ip netns exec "$W_O" sh -c "ulimit -n $(ulimit -Hn); exec build/bench/chat $port" >"$T/o.out" 2>&1 &
		opid=$!
		for i in $(seq 100); do grep -q ready "$T/o.out" && break; sleep 0.05; done
		ip netns exec "$W_D" sh -c "ulimit -n $(ulimit -Hn); exec $PWD/bin/hop receive --listen $W_DIP:$((port + 1000)) \
			--token-file $T/token --pid-file $T/dpid -- build/bench/chat $port" >"$T/d.out" 2>&1 &
		hpid=$!
		ip netns exec "$W_C" python3 bench/world_hold.py "$W_OIP" $port $n "$T/ready" >"$T/hold.out" 2>&1 &
		cpid=$!
		for i in $(seq 600); do [ -s "$T/ready" ] && break; sleep 0.05; done
		sleep 0.3
		res=$(ip netns exec "$W_O" "$PWD/bin/hop" migrate --to $W_DIP:$((port + 1000)) --token-file "$T/token" --json \
			--quiet --forward-for 0 --relay-pid-file "$T/rpid" $opid 2>/dev/null)
		kill -USR1 $cpid 2>/dev/null || true
		wait $cpid || true
		dt=$(echo "$res" | sed -n 's/.*"downtime_us": \([0-9]*\).*/\1/p')
		printf '  %4d clients: downtime %7s us   %s\n' $n "${dt:-?}" "$(tail -n 1 "$T/hold.out")"
		[ -s "$T/dpid" ] && kill -9 "$(cat "$T/dpid")" 2>/dev/null || true
		[ -s "$T/rpid" ] && kill -9 "$(cat "$T/rpid")" 2>/dev/null || true
		kill -9 $opid $hpid 2>/dev/null || true
		wait 2>/dev/null || true
	done
done
rm -rf "$T"
