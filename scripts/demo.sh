#!/usr/bin/env bash
# demo.sh -- `make demo`: hop moving a live key-value server between CPUs.
#
# Two "machines" are network namespaces with their own addresses (a third
# holds the clients). kvd, built for x86_64, is loaded with data and served
# to redis-benchmark and to a counting client (INCR on a ledger key); hop
# moves it live three times while the clients keep their connections:
#   1. x86_64 -> x86_64 on the other machine: the native pair, the figure
#      that says what hop costs;
#   2. x86_64 -> s390x (big-endian, its own build, under qemu-user) and
#   3. s390x -> x86_64: the qemu pair. qemu-user emulates s390x on this
#      x86_64 many times slower than a real s390x runs, so these moves are
#      slower (longer rounds, longer pause); the table says so, apart.
# The table at the end says what each move cost (pause, time, bytes, the
# counting client's longest gap inside the move, on its own clock) and
# whether anything was lost.
#
#   DEMO_KEYS=100000 (keys loaded)  DEMO_FORWARD=4 (seconds the old address forwards)
#   DEMO_QEMU_TIMEOUT=120000 (ms: hop's link timeouts for a move with an emulated side)
#   DEMO_KEEP=1 (keep the logs; with HOP_TRACE=1 they hold each side's step timings)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
HOP=$ROOT/bin/hop
KEYS=${DEMO_KEYS:-100000}
FWD=${DEMO_FORWARD:-4}
QTMO=${DEMO_QEMU_TIMEOUT:-120000}
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
	[ "${DEMO_KEEP:-0}" = 1 ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT
command -v redis-cli >/dev/null || die "redis-cli missing (run: bash scripts/deps.sh)"

say "building kvd for x86_64 and s390x with hop cc"
"$HOP" cc --target x86_64 -O2 -o "$B/kvd.x86_64" examples/kvd/*.c || die "build failed"
"$HOP" cc --target s390x -O2 -o "$B/kvd.s390x" examples/kvd/*.c || die "build failed"
S390="qemu-s390x -L /usr/s390x-linux-gnu"

. tests/world/netns.sh
if world_up; then
	# world_up installed world_down as the EXIT trap: ours stops the
	# servers and clients first, then calls it
	trap cleanup EXIT
	A=$W_OIP B_IP=$W_DIP
	# `ip netns exec` execs its command, so "ip netns exec NS cmd &" gives
	# cmd's own PID in $! (a shell function in the background would not)
	inC() { ip netns exec "$W_C" "$@"; }
	say "machines: A = namespace $W_O ($A), B = namespace $W_D ($B_IP); clients in $W_C"
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
say "clients: a counting client (INCR ledger); redis-benchmark GET over all keys (6 connections) and SET over 1000 hot keys (2 connections)"
ip netns exec "$W_C" python3 scripts/ledger_client.py "$A" $PORT ledger >"$W/ledger.json" 2>"$W/ledger.err" &
LEDGER=$!
pids+=($LEDGER)
# Reads over the whole keyspace, writes to a hot set (as most caches see):
# SET on every key at full speed rewrites the whole state faster than any
# link here carries it, and no live migration converges on that.
ip netns exec "$W_C" redis-benchmark -h "$A" -p $PORT -c 6 -n 100000000 -t get -r $KEYS -q >"$W/bench.out" 2>&1 &
BENCH=$!
pids+=($BENCH)
ip netns exec "$W_C" redis-benchmark -h "$A" -p $PORT -c 2 -n 100000000 -t set -r 1000 -q >"$W/bench-set.out" 2>&1 &
BENCHS=$!
pids+=($BENCHS)
sleep 1

# ---- a move: label kind origin_ns dest_ns dest_ip dest_cmd... --------------------------------
# kind: native, or qemu (one side emulated: hop's link timeouts are scaled
# to DEMO_QEMU_TIMEOUT, since an emulated side answers many times slower)
mono() { python3 -c 'import time; print("%.6f" % time.monotonic())'; }
moves=()
move() {
	local label=$1 kind=$2 from=$3 to=$4 ip=$5
	shift 5
	local tmo=() env=()
	[ "$kind" = qemu ] && tmo=(--timeout "$QTMO") env=(env HOP_TIMEOUT_MS="$QTMO")
	say "move: $label ($kind)"
	rm -f "$W/dest.pid"
	ip netns exec "$to" "${env[@]}" "$HOP" receive --listen "$ip:9000" --token-file "$W/token" --pid-file "$W/dest.pid" -- "$@" \
		>"$W/recv.$label.log" 2>&1 &
	pids+=($!)
	for i in $(seq 50); do grep -q listening "$W/recv.$label.log" && break; sleep 0.1; done
	local t0 t1
	t0=$(mono)
	ip netns exec "$from" "$HOP" migrate --to "$ip:9000" --token-file "$W/token" --json --forward-for "$FWD" "${tmo[@]}" "$KVD" \
		>"$W/move.$label.json" 2>"$W/move.$label.err" &
	local mig=$!
	pids+=($mig)
	# progress: what hop migrate prints, until the result is there
	local line last=
	while kill -0 $mig 2>/dev/null && ! grep -q '}' "$W/move.$label.json"; do
		line=$(tr '\r' '\n' <"$W/move.$label.err" | grep -v '^$' | tail -n 1)
		[ -n "$line" ] && [ "$line" != "$last" ] && echo "   $line"
		last=$line
		sleep 0.3
	done
	t1=$(mono)
	echo "$label $kind $t0 $t1" >>"$W/windows"
	cat "$W/move.$label.json"
	grep -q '"committed"' "$W/move.$label.json" || { cat "$W/move.$label.err"; die "move $label did not commit"; }
	for i in $(seq 100); do [ -s "$W/dest.pid" ] && break; sleep 0.1; done
	KVD=$(cat "$W/dest.pid")
	pids+=($KVD)
	moves+=("$label")
}
KVDARGS=(--port $PORT --bind 0.0.0.0 --dir "$W/data" --fsync no)

move "x86_64->x86_64" native "$W_O" "$W_D" "$B_IP" "$B/kvd.x86_64" "${KVDARGS[@]}"
say "serving from B (x86_64); the old address forwards for ${FWD}s while clients move"
sleep $((FWD + 2))
move "x86_64->s390x" qemu "$W_D" "$W_O" "$A" $S390 "$B/kvd.s390x" "${KVDARGS[@]}"
say "serving from A (s390x under qemu); the old address forwards for ${FWD}s"
sleep $((FWD + 2))
move "s390x->x86_64" qemu "$W_O" "$W_D" "$B_IP" "$B/kvd.x86_64" "${KVDARGS[@]}"
sleep 2
SERVER=$B_IP

# ---- stop the clients and check ------------------------------------------------------------------
kill -TERM $LEDGER $BENCH $BENCHS 2>/dev/null
wait $LEDGER 2>/dev/null
ledger_ok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$W/ledger.json" 2>/dev/null)
ledger_err=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["errors"])' "$W/ledger.json" 2>/dev/null)
ledger_gap=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["max_gap_ms"])' "$W/ledger.json" 2>/dev/null)
server_ledger=$(inC redis-cli -h "$SERVER" -p $PORT GET ledger)
dbsize_after=$(inC redis-cli -h "$SERVER" -p $PORT DBSIZE)
cmds_after=$(inC redis-cli -h "$SERVER" -p $PORT INFO stats | sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p')
bench_err=$(cat "$W/bench.out" "$W/bench-set.out" | grep -ci error)

say "result"
# the counting client's longest gap inside each move's window (from hop
# migrate's start to its result, plus the second after, when the relay
# takes over), on the client's own clock
python3 - "$W/windows" "$W/ledger.err" "$W" <<'PY'
import json, re, sys
wins = [l.split() for l in open(sys.argv[1])]
gaps = []
for l in open(sys.argv[2]):
    m = re.match(r"([\d.]+) gap ([\d.]+) ms \(from ([\d.]+)\)", l)
    if m:
        gaps.append((float(m.group(3)), float(m.group(1)), float(m.group(2))))
print("%-16s %-7s %10s %9s %9s %7s %12s" % ("move", "pair", "pause_ms", "total_ms", "MB", "rounds", "client_gap_ms"))
for label, kind, t0, t1 in wins:
    t0, t1 = float(t0), float(t1) + 1.0
    j = json.load(open("%s/move.%s.json" % (sys.argv[3], label)))
    g = max([ms for s, e, ms in gaps if e >= t0 and s <= t1] or [0.0])
    print("%-16s %-7s %10.1f %9d %9.1f %7d %12s" % (label, kind, j["downtime_us"] / 1000.0, j["total_ms"],
          j["bytes"] / 1e6, j["rounds"], "%.1f" % g if g else "< 5"))
print("native: both sides run natively (x86_64 on two machines): what hop costs.")
print("qemu:   one side is the s390x build under qemu-user, emulated on this x86_64 many")
print("        times slower than a real s390x: slower by construction, shown apart.")
PY
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
if [ $ok = 1 ]; then say "no write lost, no client error"; else say "MISMATCH: see $W"; DEMO_KEEP=1; exit 1; fi
