#!/usr/bin/env bash
# timeout: 120
# redis-benchmark against kvd, pipelined and not, 50 clients: every test must
# finish with no error reply, and the server's counters must equal the number
# of requests the benchmark made (no lost or doubled command under load).
. "$(dirname "$0")/lib.sh"
need redis-cli redis-benchmark gcc
build_kvd x86_64 "$TMP/kvd"
start_kvd "$TMP/kvd" "$TMP/data"

run() { # label results-wanted benchmark-args...
	local label=$1 want=$2 n
	shift 2
	redis-benchmark -p "$PORT" -q "$@" >"$TMP/bench.out" 2>&1 || die "redis-benchmark $label exited with $?"
	tr '\r' '\n' <"$TMP/bench.out" | grep -v 'rps=' | grep -v '^ *$' >"$TMP/bench.txt"
	sed "s/^/[$label] /" "$TMP/bench.txt"
	if grep -qi 'error' "$TMP/bench.txt"; then die "redis-benchmark $label reported errors"; fi
	n=$(grep -c 'requests per second' "$TMP/bench.txt")
	[ "$n" -eq "$want" ] || die "redis-benchmark $label: $n results, want $want"
}
# ping counts twice (inline, multibulk), lrange five times (its LPUSH, 100 .. 600 elements)
run "-P 16" 15 -n 20000 -P 16 -c 50 -t ping,set,get,incr,lpush,rpush,lpop,rpop,lrange,mset
run "-P 1" 5 -n 5000 -c 50 -t set,get,incr,lpush,lpop
expect "25000" get "counter:__rand_int__"
# random keys: 100k SETs over a 10k keyspace
run "-r 10000" 1 -n 100000 -P 32 -r 10000 -t set
r=$(cli dbsize); [ "$r" -gt 9000 ] || die "dbsize after random-key SETs: $r"
finish
