#!/usr/bin/env bash
# bench/move_compare.sh -- moving a live key-value server: hop against what a
# user would do instead (issue 6, "Against what a user would do instead").
#
# Not a test: it prints figures. Every method starts from a fresh server on
# machine A loaded with the same N keys, the same write load (bench/move_client.py:
# INCR ledger, one at a time, as fast as the server answers), and moves the
# server to machine B while the client writes. Machines are network namespaces
# when root (tests/world/netns.sh; clients in a third one), else two loopback
# addresses (127.0.0.1 / 127.0.0.2) on this host.
#
#   no move              kvd under the same client, never moved: the longest gap
#                        this machine gives on its own in this run (the reference)
#   hop x86_64->x86_64   kvd moved live by hop to another x86_64 build (native pair)
#   hop x86_64->s390x    the same to the s390x build under qemu-s390x (qemu pair):
#                        emulated, many times slower than a real s390x, so with
#                        MOVE_QEMU_KEYS keys (default: N, at most 100000; the row
#                        says how many) and hop's link timeouts scaled (MOVE_QEMU_TIMEOUT ms;
#                        MOVE_TIMEOUT ms, default 120000, for the native pair)
#                        hop relays the client's connection: it never reconnects
#   redis FAILOVER       redis-server replica on B (REPLICAOF, full sync), FAILOVER on A
#   redis manual         replica on B, sync, CLIENT PAUSE WRITE on A, wait until the
#                        replica's offset is A's, REPLICAOF NO ONE on B, client told
#                        to switch (SIGUSR1), A demoted (REPLICAOF B) and unpaused
#   kvd restart (fsync)  kvd with --dir: SIGTERM on A (AOF written), kvd started on B
#                        with the same data directory (a shared filesystem: both
#                        namespaces see the same /tmp), AOF replayed, client reconnects
# The Redis and restart clients follow the move (on error, close or -READONLY they
# try the next address and send the INCR again).
#
# Figures, all seen from the client except "move ms":
#   gap ms     longest time between two acknowledged INCRs (client's CLOCK_MONOTONIC)
#   move ms    from the first step of the move to the destination serving alone
#              (this script's clock; for Redis it includes the replica's full sync)
#   acked      INCRs the client got a reply for; server = the final counter
#   lost       acknowledged writes the final server does not have
#   dup        writes applied more than once (a retried INCR whose reply was lost)
# (from the reply values: each should be the previous + 1; server - acked = dup - lost)
#
# Usage: bench/move_compare.sh [N]   (N keys, default $MOVE_KEYS or 1000000)
# Env: MOVE_METHODS (space-separated subset of: none hop-native hop-qemu redis-failover
#      redis-manual restart-everysec restart-always), MOVE_SETTLE (s of load before
#      and after the move, default 1), MOVE_KEEP=1 (keep the logs; with HOP_TRACE=1
#      they hold hop's step timings on both sides, on the client's clock).
# Writes bench/results/move_compare.txt and .png (gnuplot).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
HOP=$ROOT/bin/hop
N=${1:-${MOVE_KEYS:-1000000}}
METHODS=${MOVE_METHODS:-none hop-native hop-qemu redis-failover redis-manual restart-everysec restart-always}
QKEYS=${MOVE_QEMU_KEYS:-$((N < 100000 ? N : 100000))}
QTMO=${MOVE_QEMU_TIMEOUT:-300000}
TMO=${MOVE_TIMEOUT:-120000}
SETTLE=${MOVE_SETTLE:-1}
PORT=7390
W=$(mktemp -d /tmp/hop-movecmp.XXXXXX)
B=$ROOT/build/bench-move
OUT=$ROOT/bench/results
mkdir -p "$B" "$OUT"
pids=()
rows=()

say() { printf '\033[1m== %s\033[0m\n' "$*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
stopall() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for i in $(seq 30); do
		local alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	pids=()
}
cleanup() {
	stopall
	world_down 2>/dev/null
	[ "${MOVE_KEEP:-0}" = 1 ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT
for c in redis-server redis-cli python3 qemu-s390x; do
	command -v $c >/dev/null || { echo "move_compare: $c missing (bash scripts/deps.sh)" >&2; exit 1; }
done

say "building kvd for x86_64 and s390x with hop cc -O2"
"$HOP" cc --target x86_64 -O2 -o "$B/kvd.x86_64" examples/kvd/*.c || exit 1
"$HOP" cc --target s390x -O2 -o "$B/kvd.s390x" examples/kvd/*.c || exit 1
S390="qemu-s390x -L /usr/s390x-linux-gnu"

. tests/world/netns.sh
if world_up; then
	A=$W_OIP BIP=$W_DIP
	# `ip netns exec` execs its command: "$inA cmd &" gives cmd's own PID in $!
	# (a shell function run in the background would give a subshell's PID)
	inA="ip netns exec $W_O" inB="ip netns exec $W_D" inC="ip netns exec $W_C"
	WORLD="network namespaces: A=$A B=$BIP, client in its own namespace; shared filesystem"
	trap cleanup EXIT
else
	A=127.0.0.1 BIP=127.0.0.2
	inA= inB= inC=
	WORLD="loopback (not root): A=$A B=$BIP on one host"
fi
say "machines: $WORLD; $N keys"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)
(umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/token")

gen_load() { # keys file
	python3 - "$1" >"$2" <<'PY'
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
for i in range(n):
    k = b"key:%012d" % i
    v = b"value-%d-%s" % (i, b"x" * (i % 40))
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
PY
}
gen_load "$N" "$W/load.resp"
[ "$QKEYS" != "$N" ] && gen_load "$QKEYS" "$W/load-qemu.resp"

cli() { $inC redis-cli -h "$1" -p $PORT "${@:2}"; }
wait_ping() { # host
	for i in $(seq 600); do [ "$(cli "$1" PING 2>/dev/null)" = PONG ] && return 0; sleep 0.05; done
	return 1
}
load() { # host [file]
	cli "$1" --pipe <"${2:-$W/load.resp}" | tail -n 1
	cli "$1" SET ledger 0 >/dev/null
}
start_client() { # addresses
	$inC python3 bench/move_client.py ledger "$1" >"$W/client.json" 2>"$W/client.err" &
	CLIENT=$!
	pids+=($CLIENT)
}
stop_client() {
	kill -TERM $CLIENT 2>/dev/null
	for i in $(seq 100); do kill -0 $CLIENT 2>/dev/null || break; sleep 0.1; done
	kill -0 $CLIENT 2>/dev/null || { wait $CLIENT; echo "   client exit status $?"; }
	kill -0 $CLIENT 2>/dev/null && { echo "   client does not stop; its stack:"; kill -USR2 $CLIENT; sleep 0.5; tail -n 20 "$W/client.err"; }
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$W/client.json" "$1" 2>/dev/null; }
# row method move_ms server_counter note
row() {
	local m=$1 move=$2 server=$3 note=$4
	local ok gap last first up down lost dup
	ok=$(field ok) gap=$(field max_gap_ms) last=$(field last) first=$(field first)
	up=$(field jumps_up) down=$(field jumps_down)
	if [ -z "$ok" ] || [ -z "$server" ] || [ "$last" = None ]; then
		rows+=("$(printf '%-24s %10s %10s %10s %10s %6s %6s  %s' "$m" "${gap:--}" "$move" "${ok:--}" "${server:--}" - - "$note (no result; see logs)")")
		return
	fi
	lost=$((down + (last > server ? last - server : 0)))
	local un; un=$(field unanswered)
	# an INCR sent but never answered at the stop may count on the server once
	dup=$((up + (server > last + un ? server - last - un : 0) + first - 1))
	rows+=("$(printf '%-24s %10s %10s %10s %10s %6s %6s  %s' "$m" "$gap" "$move" "$ok" "$server" "$lost" "$dup" "$note")")
	echo "   gap ${gap} ms, move ${move} ms, acked $ok, server $server, lost $lost, dup $dup; client: $(cat "$W/client.json")"
}

# ---- hop ------------------------------------------------------------------------------------------
m_hop() { # label native|qemu dest_cmd...
	local label=$1 kind=$2
	shift 2
	# link timeouts: the origin scans its whole state before the first
	# byte of the bulk (more than hop's default 10 s for 1M keys here)
	local file=$W/load.resp keys=$N t=$TMO
	if [ "$kind" = qemu ]; then
		[ -f "$W/load-qemu.resp" ] && file=$W/load-qemu.resp keys=$QKEYS
		t=$QTMO
	fi
	local tmo=(--timeout "$t") env=(env HOP_TIMEOUT_MS="$t")
	rm -rf "$W/data" "$W"/recv.log "$W"/dest.pid "$W"/relay.pid
	mkdir -p "$W/data"
	$inA "$B/kvd.x86_64" --port $PORT --bind 0.0.0.0 --dir "$W/data" --fsync no >"$W/kvd-a.log" 2>&1 &
	local kvd=$!
	pids+=($kvd)
	wait_ping "$A" || { echo "kvd did not start"; return; }
	load "$A" "$file"
	start_client "$A:$PORT"
	sleep "$SETTLE"
	$inB "${env[@]}" "$HOP" receive --listen "$BIP:9000" --token-file "$W/token" --pid-file "$W/dest.pid" -- "$@" \
		>"$W/recv.log" 2>&1 &
	pids+=($!)
	for i in $(seq 100); do grep -q listening "$W/recv.log" && break; sleep 0.05; done
	local t0 t1
	t0=$(now_ms)
	# hop migrate stays to relay the connections after printing its result
	# (COMMIT): the move is over when the result is there
	$inA "$HOP" migrate --to "$BIP:9000" --token-file "$W/token" --json --forward-for 30 "${tmo[@]}" \
		--relay-pid-file "$W/relay.pid" "$kvd" >"$W/move.json" 2>"$W/move.err" &
	local mig=$!
	pids+=($mig)
	while kill -0 $mig 2>/dev/null && ! grep -q '}' "$W/move.json"; do sleep 0.005; done
	t1=$(now_ms)
	local note="hop $kind, $keys keys: pause $(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.1f ms, %d rounds, %d MB" % (j["downtime_us"]/1000, j["rounds"], j["bytes"]>>20))' "$W/move.json" 2>/dev/null || echo '?')"
	if ! grep -q '"committed"' "$W/move.json"; then
		note="MOVE FAILED: $(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["result"], j.get("error", ""), "after", j["total_ms"], "ms")' "$W/move.json" 2>/dev/null || tail -c 200 "$W/move.err" | tr '\n\r' '  ')"
	fi
	for i in $(seq 100); do [ -s "$W/dest.pid" ] && break; sleep 0.05; done
	[ -s "$W/dest.pid" ] && pids+=($(cat "$W/dest.pid"))
	[ -s "$W/relay.pid" ] && pids+=($(cat "$W/relay.pid"))
	sleep "$SETTLE"
	stop_client
	local server
	server=$(cli "$BIP" GET ledger 2>/dev/null)
	[ -n "$server" ] || server=$(cli "$A" GET ledger 2>/dev/null)
	row "$label" $((t1 - t0)) "$server" "$note"
	stopall
}

# ---- the reference: no move ---------------------------------------------------------------------
m_none() {
	rm -rf "$W/data"
	mkdir -p "$W/data"
	$inA "$B/kvd.x86_64" --port $PORT --bind 0.0.0.0 --dir "$W/data" --fsync no >"$W/kvd-a.log" 2>&1 &
	pids+=($!)
	wait_ping "$A" || { echo "kvd did not start"; return; }
	load "$A"
	start_client "$A:$PORT"
	local t0 t1
	t0=$(now_ms)
	sleep $((2 * SETTLE + 5))
	t1=$(now_ms)
	stop_client
	row "no-move(reference)" $((t1 - t0)) "$(cli "$A" GET ledger 2>/dev/null)" \
		"kvd never moved, same client: the longest gap this machine gives by itself now"
	stopall
}

# ---- Redis --------------------------------------------------------------------------------------------
redis_start() { # in-function name dir [args]
	local in=$1 name=$2
	shift 2
	mkdir -p "$W/$name"
	$in redis-server --port $PORT --bind 0.0.0.0 --protected-mode no --save '' --appendonly no \
		--dir "$W/$name" --repl-diskless-sync-delay 0 "$@" >"$W/$name.log" 2>&1 &
	pids+=($!)
}
info_field() { cli "$1" INFO replication | tr -d '\r' | sed -n "s/^$2:\(.*\)/\1/p"; }
wait_sync() { # replica host
	for i in $(seq 6000); do
		[ "$(info_field "$1" master_link_status)" = up ] && return 0
		sleep 0.01
	done
	return 1
}
m_redis() { # failover|manual
	local how=$1
	rm -rf "$W/ra" "$W/rb"
	redis_start "$inA" ra
	redis_start "$inB" rb
	wait_ping "$A" && wait_ping "$BIP" || { echo "redis did not start"; return; }
	load "$A"
	start_client "$A:$PORT,$BIP:$PORT"
	sleep "$SETTLE"
	local t0 t1 tsync note
	t0=$(now_ms)
	cli "$BIP" REPLICAOF "$A" $PORT >/dev/null
	wait_sync "$BIP" || echo "   replica did not sync"
	tsync=$(now_ms)
	if [ "$how" = failover ]; then
		cli "$A" FAILOVER >/dev/null
		for i in $(seq 1000); do
			[ "$(info_field "$BIP" role)" = master ] && [ "$(info_field "$A" role)" = slave ] && break
			sleep 0.002
		done
		t1=$(now_ms)
		note="replica sync $((tsync - t0)) ms, FAILOVER to both roles switched $((t1 - tsync)) ms"
	else
		cli "$A" CLIENT PAUSE 10000 WRITE >/dev/null
		local tp=$(now_ms) mo ro
		for i in $(seq 5000); do
			mo=$(info_field "$A" master_repl_offset)
			ro=$(info_field "$BIP" slave_repl_offset)
			[ -n "$mo" ] && [ "$mo" = "$ro" ] && break
			sleep 0.001
		done
		cli "$BIP" REPLICAOF NO ONE >/dev/null
		kill -USR1 $CLIENT
		cli "$A" REPLICAOF "$BIP" $PORT >/dev/null
		cli "$A" CLIENT UNPAUSE >/dev/null
		t1=$(now_ms)
		note="replica sync $((tsync - t0)) ms, pause to switch $((t1 - tp)) ms (offsets $mo/$ro)"
	fi
	sleep "$SETTLE"
	stop_client
	row "redis:$how" $((t1 - t0)) "$(cli "$BIP" GET ledger 2>/dev/null)" "$note"
	stopall
}

# ---- stop -> save -> start -> load of kvd ----------------------------------------------------------------
m_restart() { # fsync policy
	local fs=$1
	rm -rf "$W/data"
	mkdir -p "$W/data"
	$inA "$B/kvd.x86_64" --port $PORT --bind 0.0.0.0 --dir "$W/data" --fsync "$fs" >"$W/kvd-a.log" 2>&1 &
	local kvd=$!
	pids+=($kvd)
	wait_ping "$A" || { echo "kvd did not start"; return; }
	load "$A"
	start_client "$A:$PORT,$BIP:$PORT"
	sleep "$SETTLE"
	local t0 t1
	t0=$(now_ms)
	kill -TERM $kvd
	while kill -0 $kvd 2>/dev/null; do sleep 0.001; done
	local tstop=$(now_ms)
	$inB "$B/kvd.x86_64" --port $PORT --bind 0.0.0.0 --dir "$W/data" --fsync "$fs" >"$W/kvd-b.log" 2>&1 &
	pids+=($!)
	wait_ping "$BIP"
	t1=$(now_ms)
	sleep "$SETTLE"
	stop_client
	row "kvd-restart:fsync-$fs" $((t1 - t0)) "$(cli "$BIP" GET ledger 2>/dev/null)" \
		"stop+save $((tstop - t0)) ms, start+AOF load $((t1 - tstop)) ms, $(du -sm "$W/data" | cut -f1) MB AOF"
	stopall
}

# each method's logs (and HOP_TRACE lines) kept apart under $W/logs.METHOD
save_logs() {
	mkdir -p "$W/logs.$1"
	for f in "$W"/*.log "$W"/client.err "$W"/client.json "$W"/move.json "$W"/move.err; do
		[ -f "$f" ] && mv "$f" "$W/logs.$1/"
	done
}
for m in $METHODS; do
	say "$m"
	case $m in
	none) m_none ;;
	hop-native) m_hop "hop:x86_64->x86_64" native "$B/kvd.x86_64" --port $PORT --bind 0.0.0.0 --dir "$W/data" --fsync no ;;
	hop-qemu) m_hop "hop:x86_64->s390x(qemu)" qemu $S390 "$B/kvd.s390x" --port $PORT --bind 0.0.0.0 --dir "$W/data" --fsync no ;;
	redis-failover) m_redis failover ;;
	redis-manual) m_redis manual ;;
	restart-everysec) m_restart everysec ;;
	restart-always) m_restart always ;;
	*) echo "unknown method $m" ;;
	esac
	save_logs "$m"
done

{
	echo "# bench/move_compare.sh $(date -u +%Y-%m-%dT%H:%MZ), $N keys, $(nproc) CPUs, $WORLD"
	echo "# load average (1/5/15 min) at the start: $LOAD0, at the end: $(cut -d' ' -f1-3 /proc/loadavg); run took $(($(date +%s) - T_START)) s"
	echo "# gap = longest client gap between two acknowledged INCRs; move = whole move (see script header)"
	echo "# targets (issue 6): hop native longest gap <= 5 ms, whole move of 1M keys <= 2 s, lost = dup = 0"
	echo "# the qemu row runs the s390x side emulated (qemu-user), many times slower than a real s390x"
	printf '%-24s %10s %10s %10s %10s %6s %6s  %s\n' method gap_ms move_ms acked server lost dup note
	for r in "${rows[@]}"; do echo "$r"; done
} | tee "$OUT/move_compare.txt.new"
mv "$OUT/move_compare.txt.new" "$OUT/move_compare.txt"

if command -v gnuplot >/dev/null; then
	grep -v '^#' "$OUT/move_compare.txt" | tail -n +2 | awk '$2 != "-" { printf "\"%s\" %s\n", $1, $2 }' >"$W/plot.dat"
	gnuplot <<EOF
set terminal png size 900,500 noenhanced
set output "$OUT/move_compare.png"
set title "Longest gap between two acknowledged writes during a live move ($N keys)"
set ylabel "longest client gap (ms, log scale)"
set logscale y
set style fill solid 0.7
set boxwidth 0.6
set grid y
set xtics rotate by -20
set yrange [0.1:*]
plot "$W/plot.dat" using 0:2:xtic(1) with boxes notitle, \
     "" using 0:2:(sprintf("%.1f", \$2)) with labels offset 0,0.7 notitle
EOF
	echo "plot: $OUT/move_compare.png"
else
	echo "gnuplot missing: no plot (bash scripts/deps.sh installs gnuplot-nox)"
fi
