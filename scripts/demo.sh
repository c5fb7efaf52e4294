#!/usr/bin/env bash
# demo.sh -- `make demo`: hop moving a live key-value server between CPUs.
#
# Two "machines" are network namespaces with their own addresses (a third
# holds the clients). kvd, built for x86_64, is loaded with data and served
# to redis-benchmark and to a counting client (INCR on a ledger key); hop
# moves it live to its s390x build (big-endian, under qemu-user) and back to
# x86_64 while the clients keep their connections. The table at the end says
# what each move cost and whether anything was lost.
#
#   DEMO_KEYS=100000 (keys loaded)  DEMO_FORWARD=4 (seconds the old address forwards)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
HOP=$ROOT/bin/hop
KEYS=${DEMO_KEYS:-100000}
FWD=${DEMO_FORWARD:-4}
PORT=7379
W=$(mktemp -d /tmp/hop-demo.XXXXXX)
B=$ROOT/build/demo
mkdir -p "$B"
pids=()

say() { printf '\033[1m== %s\033[0m\n' "$*"; }
die() {
	printf 'demo: %s\n' "$*" >&2
	for f in "$W"/*.log "$W"/*.err; do [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }; done >&2
	exit 1
}
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	world_down 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
command -v redis-cli >/dev/null || die "redis-cli missing (run: bash scripts/deps.sh)"

say "building kvd for x86_64 and s390x with hop cc"
"$HOP" cc --target x86_64 -O2 -o "$B/kvd.x86_64" examples/kvd/*.c || die "build failed"
"$HOP" cc --target s390x -O2 -o "$B/kvd.s390x" examples/kvd/*.c || die "build failed"
S390="qemu-s390x -L /usr/s390x-linux-gnu"

. tests/world/netns.sh
if world_up; then
	A=$W_OIP B_IP=$W_DIP
	# `ip netns exec` execs its command, so "ip netns exec NS cmd &" gives
	# cmd's own PID in $! (a shell function in the background would not)
	inC() { ip netns exec "$W_C" "$@"; }
	say "machines: A = namespace $W_O ($A, x86_64), B = namespace $W_D ($B_IP, s390x under qemu); clients in $W_C"
else
	die "network namespaces are needed (run as root with iproute2)"
fi
(umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/token")
mkdir -p "$W/data"

# ---- start kvd on A and load it ---------------------------------------------------------
ip netns exec "$W_O" "$B/kvd.x86_64" --port $PORT --bind 0.0.0.0 --dir "$W/data" --fsync no >"$W/kvd-a.log" 2>&1 &
KVD=$!
pids+=($KVD)
for i in $(seq 50); do inC redis-cli -h "$A" -p $PORT PING >/dev/null 2>&1 && break; sleep 0.1; done
say "loading $KEYS keys"
python3 - "$KEYS" >"$W/load.resp" <<'PY'
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
for i in range(n):
    k = b"key:%012d" % i  # the names redis-benchmark -r uses
    v = b"value-%d-%s" % (i, b"x" * (i % 40))
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
for i in range(200):
    k = b"list:%03d" % i
    out.write(b"*5\r\n$5\r\nRPUSH\r\n$%d\r\n%s\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n" % (len(k), k))
PY
inC redis-cli -h "$A" -p $PORT --pipe <"$W/load.resp" | tail -n 1
dbsize_before=$(inC redis-cli -h "$A" -p $PORT DBSIZE)
inC redis-cli -h "$A" -p $PORT SET ledger 0 >/dev/null
cmds_before=$(inC redis-cli -h "$A" -p $PORT INFO stats | sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p')
echo "DBSIZE $dbsize_before"

# ---- clients -------------------------------------------------------------------------------
say "clients: a counting client (INCR ledger) and redis-benchmark (GET/SET, 8 connections)"
ip netns exec "$W_C" python3 scripts/ledger_client.py "$A" $PORT ledger >"$W/ledger.json" 2>"$W/ledger.err" &
LEDGER=$!
pids+=($LEDGER)
ip netns exec "$W_C" redis-benchmark -h "$A" -p $PORT -c 8 -n 100000000 -t get,set -r $KEYS -q >"$W/bench.out" 2>&1 &
BENCH=$!
pids+=($BENCH)
sleep 1

# ---- a move: origin namespace, destination namespace, build, listen address --------------------
moves=()
move() { # label from_ns to_ns to_ip dest_cmd...
	local label=$1 from=$2 to=$3 ip=$4
	shift 4
	say "move: $label"
	ip netns exec "$to" "$HOP" receive --listen "$ip:9000" --token-file "$W/token" --pid-file "$W/dest.pid" -- "$@" \
		>"$W/recv.$label.log" 2>&1 &
	pids+=($!)
	for i in $(seq 50); do grep -q listening "$W/recv.$label.log" && break; sleep 0.1; done
	ip netns exec "$from" "$HOP" migrate --to "$ip:9000" --token-file "$W/token" --json --forward-for "$FWD" "$KVD" \
		>"$W/move.$label.json" 2>"$W/move.$label.err" &
	local mig=$!
	pids+=($mig)
	# progress: what hop migrate prints, until the result is there
	local line last=
	while kill -0 $mig 2>/dev/null && ! [ -s "$W/move.$label.json" ]; do
		line=$(tr '\r' '\n' <"$W/move.$label.err" | grep -v '^$' | tail -n 1)
		[ -n "$line" ] && [ "$line" != "$last" ] && echo "   $line"
		last=$line
		sleep 0.3
	done
	cat "$W/move.$label.json"
	grep -q '"committed"' "$W/move.$label.json" || { cat "$W/move.$label.err"; die "move $label did not commit"; }
	for i in $(seq 100); do [ -s "$W/dest.pid" ] && break; sleep 0.1; done
	KVD=$(cat "$W/dest.pid")
	pids+=($KVD)
	moves+=("$label")
}

move "x86_64->s390x" "$W_O" "$W_D" "$B_IP" $S390 "$B/kvd.s390x" --port $PORT --bind 0.0.0.0 --dir "$W/data" --fsync no
say "serving from s390x; the old address forwards for ${FWD}s while clients move"
sleep $((FWD + 2))
move "s390x->x86_64" "$W_D" "$W_O" "$A" "$B/kvd.x86_64" --port $PORT --bind 0.0.0.0 --dir "$W/data" --fsync no
sleep 2

# ---- stop the clients and check ------------------------------------------------------------------
kill -TERM $LEDGER $BENCH 2>/dev/null
wait $LEDGER 2>/dev/null
ledger_ok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$W/ledger.json" 2>/dev/null)
ledger_err=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["errors"])' "$W/ledger.json" 2>/dev/null)
ledger_gap=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["max_gap_ms"])' "$W/ledger.json" 2>/dev/null)
server_ledger=$(inC redis-cli -h "$A" -p $PORT GET ledger)
dbsize_after=$(inC redis-cli -h "$A" -p $PORT DBSIZE)
cmds_after=$(inC redis-cli -h "$A" -p $PORT INFO stats | sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p')
bench_err=$(grep -ci error "$W/bench.out")

say "result"
printf '%-16s %12s %10s %14s %7s\n' move pause_us total_ms bytes rounds
for m in "${moves[@]}"; do
	python3 - "$W/move.$m.json" "$m" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print("%-16s %12d %10d %14d %7d" % (sys.argv[2], j["downtime_us"], j["total_ms"], j["bytes"], j["rounds"]))
PY
done
echo
printf '%-44s %s\n' "requests served during the demo (server count)" "$((cmds_after - cmds_before))"
printf '%-44s %s\n' "counting client: INCRs acknowledged" "${ledger_ok:-?}"
printf '%-44s %s\n' "server's ledger counter" "$server_ledger"
printf '%-44s %s\n' "client errors (ledger + redis-benchmark)" "$(( ${ledger_err:-1} + bench_err ))"
printf '%-44s %s ms\n' "longest gap between two acknowledged INCRs" "${ledger_gap:-?}"
printf '%-44s %s -> %s\n' "DBSIZE before -> after" "$dbsize_before" "$dbsize_after"
ok=1
[ "${ledger_ok:-x}" = "$server_ledger" ] || ok=0
[ "$(( ${ledger_err:-1} + bench_err ))" = 0 ] || ok=0
[ "$((dbsize_before + 1))" = "$dbsize_after" ] || ok=0
if [ $ok = 1 ]; then say "no write lost, no client error"; else say "MISMATCH: see $W"; trap - EXIT; exit 1; fi
