#!/usr/bin/env bash
# bench/kvd_bench.sh -- kvd against redis-server, same machine, same run.
#
# Prints requests/s of redis-benchmark (-t set,get,incr,lpush,lpop, 50
# clients, N requests) with -P 16 and -P 1, side by side, for:
#   kvd        plain native -O2 build (no hop index), AOF with fsync everysec
#   redis      Debian's redis-server on loopback, no persistence
#   kvd-hop    (if bin/hop works; KVD_HOP=0 to leave out) the `hop cc -O2`
#              build: hop's allocator and runtime, AOF everysec, nobody migrating
#   kvd-noaof  (KVD_AOF=0) the plain build without persistence
# Not a test: it prints figures, the best of ROUNDS runs each (the machine is
# shared; the best run is the least disturbed one). Env: N (default 200000),
# CLIENTS (50), ROUNDS (3).
set -eu
cd "$(dirname "$0")/.."
N=${N:-200000}
CLIENTS=${CLIENTS:-50}
ROUNDS=${ROUNDS:-3}
TESTS=set,get,incr,lpush,lpop
for c in redis-benchmark redis-server redis-cli gcc python3; do
	command -v "$c" >/dev/null || { echo "kvd_bench: $c missing (scripts/deps.sh installs it)" >&2; exit 1; }
done
[ -f build/x86_64/libhop.a ] || make --no-print-directory build/x86_64/libhop.a >/dev/null
TMP=$(mktemp -d /tmp/kvdbench.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do { kill "$p" && wait "$p"; } 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ping() { for _ in $(seq 100); do [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return; sleep 0.05; done; echo "no PONG on $1" >&2; exit 1; }

NAMES=() PORTS=()
serve() { # name command...
	local port
	port=$(free_port)
	"${@:2}" --port "$port" >"$TMP/$1.log" 2>&1 &
	PIDS+=($!)
	wait_ping "$port"
	NAMES+=("$1")
	PORTS+=("$port")
}

gcc -std=gnu11 -O2 -Iinclude -o "$TMP/kvd" examples/kvd/*.c build/x86_64/libhop.a -lpthread
serve kvd "$TMP/kvd" --dir "$TMP/kvd-data"
serve redis redis-server --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" --daemonize no
if [ "${KVD_HOP:-1}" = 1 ] && [ -x bin/hop ] &&
	bin/hop cc --target x86_64 -O2 -o "$TMP/kvd-hop" examples/kvd/*.c >"$TMP/hopcc.log" 2>&1; then
	serve kvd-hop "$TMP/kvd-hop" --dir "$TMP/kvd-hop-data"
fi
[ "${KVD_AOF:-1}" = 0 ] && serve kvd-noaof "$TMP/kvd"

# bench PORT PIPELINE OUT: best figure of each test over ROUNDS runs
bench() {
	for _ in $(seq "$ROUNDS"); do
		redis-cli -p "$1" flushall >/dev/null
		redis-benchmark -p "$1" -q -n "$N" -c "$CLIENTS" -P "$2" -t "$TESTS" 2>/dev/null | tr '\r' '\n' |
			sed -n 's/^ *\([A-Z]*\): \([0-9.]*\) requests per second.*/\1 \2/p'
	done >"$3.all"
	awk '!($1 in best) { order[++n] = $1 } $2 > best[$1] { best[$1] = $2 }
	     END { for (i = 1; i <= n; i++) print order[i], best[order[i]] }' "$3.all" >"$3"
}

printf 'redis-benchmark -n %s -c %s -t %s, best of %s runs, %s (%s CPUs)\n' "$N" "$CLIENTS" "$TESTS" \
	"$ROUNDS" "$(uname -m)" "$(nproc)"
printf 'redis-server %s without persistence; kvd with its AOF (fsync everysec)\n\n' \
	"$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
for P in 16 1; do
	for i in "${!NAMES[@]}"; do bench "${PORTS[$i]}" "$P" "$TMP/${NAMES[$i]}.$P"; done
	printf -- '-P %-3s %-6s' "$P" test
	for n in "${NAMES[@]}"; do printf ' %12s' "$n"; done
	printf ' %10s\n' kvd/redis
	while read -r t _; do
		printf '       %-6s' "$t"
		for n in "${NAMES[@]}"; do
			printf ' %12.0f' "$(awk -v t="$t" '$1 == t { print $2 }' "$TMP/$n.$P")"
		done
		k=$(awk -v t="$t" '$1 == t { print $2 }' "$TMP/kvd.$P")
		r=$(awk -v t="$t" '$1 == t { print $2 }' "$TMP/redis.$P")
		awk -v a="$k" -v b="${r:-0}" 'BEGIN { if (b > 0) printf " %10.2f\n", a / b; else printf " %10s\n", "-" }'
	done <"$TMP/kvd.$P"
	printf '\n'
done
