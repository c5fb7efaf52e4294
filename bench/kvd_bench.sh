#!/usr/bin/env bash
# bench/kvd_bench.sh -- kvd against redis-server, same machine, same run.
#
# Prints requests/s of redis-benchmark (-t set,get,incr,lpush,lpop, 50
# clients, N requests each) with -P 16 and -P 1, for kvd (plain native -O2
# build, no hop index, AOF with fsync everysec in a temporary directory) and
# for Debian's redis-server (loopback, no persistence), side by side. Not a
# test: it prints figures, the best of ROUNDS runs each. Env: N (default
# 200000), CLIENTS (default 50), ROUNDS (default 3), KVD_AOF=0 to run kvd
# without persistence as well.
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

gcc -std=gnu11 -O2 -Iinclude -o "$TMP/kvd" examples/kvd/*.c build/x86_64/libhop.a -lpthread

KP=$(free_port)
"$TMP/kvd" --port "$KP" --dir "$TMP/kvd-data" >"$TMP/kvd.log" 2>&1 &
PIDS+=($!)
RP=$(free_port)
redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" --daemonize no \
	--logfile "$TMP/redis.log" &
PIDS+=($!)
NP=""
if [ "${KVD_AOF:-1}" = 0 ]; then
	NP=$(free_port)
	"$TMP/kvd" --port "$NP" >"$TMP/kvd-noaof.log" 2>&1 &
	PIDS+=($!)
	wait_ping "$NP"
fi
wait_ping "$KP"
wait_ping "$RP"

# bench PORT PIPELINE -> "test rps" lines, one run
bench1() {
	redis-cli -p "$1" flushall >/dev/null
	redis-benchmark -p "$1" -q -n "$N" -c "$CLIENTS" -P "$2" -t "$TESTS" 2>/dev/null | tr '\r' '\n' |
		sed -n 's/^ *\([A-Z]*\): \([0-9.]*\) requests per second.*/\1 \2/p'
}
# bench PORT PIPELINE OUT: ROUNDS runs, the best figure of each test (the
# machine is shared; the best run is the least disturbed one)
bench() {
	for _ in $(seq "$ROUNDS"); do bench1 "$1" "$2"; done >"$3.all"
	awk '!($1 in best) { order[++n] = $1 } $2 > best[$1] { best[$1] = $2 }
	     END { for (i = 1; i <= n; i++) print order[i], best[order[i]] }' "$3.all" >"$3"
}

printf 'redis-benchmark -n %s -c %s -t %s on %s (%s CPUs)\n' "$N" "$CLIENTS" "$TESTS" "$(uname -m)" "$(nproc)"
printf 'best of %s runs; kvd: AOF fsync everysec; redis-server %s: no persistence\n\n' "$ROUNDS" "$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
for P in 16 1; do
	bench "$KP" "$P" "$TMP/kvd.$P"
	bench "$RP" "$P" "$TMP/redis.$P"
	[ -n "$NP" ] && bench "$NP" "$P" "$TMP/kvdn.$P"
	printf -- '-P %-3s %-8s %14s %14s %8s' "$P" test "kvd req/s" "redis req/s" "kvd/redis"
	[ -n "$NP" ] && printf ' %16s' "kvd (no AOF)"
	printf '\n'
	while read -r t k; do
		r=$(awk -v t="$t" '$1 == t { print $2 }' "$TMP/redis.$P")
		printf '       %-8s %14.0f %14.0f %8s' "$t" "$k" "${r:-0}" \
			"$(awk -v a="$k" -v b="${r:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
		[ -n "$NP" ] && printf ' %16.0f' "$(awk -v t="$t" '$1 == t { print $2 }' "$TMP/kvdn.$P")"
		printf '\n'
	done <"$TMP/kvd.$P"
	printf '\n'
done
