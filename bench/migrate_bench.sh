#!/usr/bin/env bash
# migrate_bench.sh -- live migration figures (printed; not a test).
#   downtime of a program with N records (default 1,000,000, ~250 MB of heap)
#   under RATE writes/s (default 2000), moved natively to a build with another
#   struct layout (-DREORDER), RUNS times (default 5): distribution, total time,
#   bytes; loopback TCP throughput measured in the same run; idle HOP_POINT cost.
# Usage: bench/migrate_bench.sh [N] [RATE] [RUNS]
set -u
N=${1:-1000000} RATE=${2:-2000} RUNS=${3:-5}
source "$(dirname "$0")/../tests/migrate/lib.sh"
src=$HOP_ROOT/bench/migrate_bench.c
a=$(mt_build x86_64 "$src" -O2) || exit 1
b=$(mt_build x86_64 "$src" -O2 -DREORDER) || exit 1
echo "loopback TCP (1 MiB writes): $("$a" --tcp 4000) MB/s"
echo "idle HOP_POINT: $("$a" --point) ns"
downs=()
for ((r = 1; r <= RUNS; r++)); do
	t0=$(date +%s.%N)
	mt_origin x86_64 "$a" BENCH_N="$N" BENCH_RATE="$RATE" HOP_TRACE=1
	mt_log "run $r: $N records built ($(date +%s.%N | awk -v t="$t0" '{printf "%.1f s", $1 - t}'))"
	mt_migrate x86_64 "$b" --env HOP_TRACE=1
	if [ "$(mt_json result)" = committed ]; then
		downs+=("$(mt_json downtime_us)")
		# the origin's HOP_TRACE line of the bulk phase: bytes over PHASE -> PHASE_ACK
		# (it includes the destination's translation), against loopback TCP now
		bulk=$(sed -n 's/.*\] bulk 0: .* \([0-9]*\) bytes in \([0-9]*\) us.*/\1 \2/p' "$OERR" | head -1)
		tcp=$("$a" --tcp 2000)
		echo "  bytes $(mt_json bytes), total $(mt_json total_ms) ms, rounds $(mt_json rounds); bulk throughput: $(echo "$bulk" | awk -v t="$tcp" '{ if ($2 > 0) printf "%.0f MB/s (%d MB in %.2f s), %.1f%% of loopback TCP %d MB/s measured just after", $1 / $2, $1 / 1e6, $2 / 1e6, 100 * $1 / $2 / t, t; else print "not traced" }')"
		mt_finish
	else
		kill -9 "$OPID" "$RPID" 2>/dev/null
	fi
done
[ ${#downs[@]} -gt 0 ] && printf '%s\n' "${downs[@]}" | sort -n | awk '{v[NR]=$1} END {printf "downtime us over %d runs: min %d  median %d  max %d\n", NR, v[1], v[int((NR+1)/2)], v[NR]}'
