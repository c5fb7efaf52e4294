#!/usr/bin/env bash
# soak.sh -- migrate one running program around all five targets, N times in a
# row, checking its state after every resume (make soak: N=100).
#
#   bash scripts/soak.sh [N]        N migrations (default 100)
#   SOAK_TARGETS="x86_64 i686 ..."  the cycle (default: all five)
#   SOAK_RECS=2000                  records of the test program (tests/faults/selfcheck.c)
#   SOAK_OUT=FILE                   also write the summary there (docs/reliability.md uses it)
#
# The program keeps rewriting its records while it is migrated (load), checks
# its whole state after each resume and again on demand (SIGUSR1), and carries
# its resume count across. For every migration we record downtime_us, total
# time, rounds and bytes from `hop migrate --json`, and the peak (VmHWM) and
# current (VmRSS) memory of both sides, sampled while the migration runs.
# Prints the migrations done, failures, origins that did not exit after
# COMMIT, the pause distribution next to a reference measured in the same run
# (one native migration of the same program, and the load average), memory
# per migration, and flags memory that grows from one visit of a target to the
# next (leaks show there). Exit 0 only with no failure and no growth.
set -u
N=${1:-100}
HOP_ROOT=$(cd "$(dirname "$0")/.." && pwd)
export HOP_ROOT
. "$HOP_ROOT/tests/faults/flib.sh"
TARGETS=(${SOAK_TARGETS:-x86_64 i686 aarch64 s390x powerpc})
RECS=${SOAK_RECS:-2000}
export HOP_TIMEOUT_MS=${HOP_TIMEOUT_MS:-20000}
P=()
for t in "${TARGETS[@]}"; do
	[ "$t" = x86_64 ] || command -v $(ft_qemu "$t" | cut -d' ' -f1) >/dev/null || ft_skip "no qemu for $t"
	P+=("$(ft_build "$t")") || ft_die "build for $t"
done

# A signal handler run by a qemu-i386 program leaves its main thread with the
# thread pointer of its newest thread (qemu-user keeps one GDT for all guest
# threads and reloads %gs from it at sigreturn): from then on the program's
# TLS is hop's agent thread's and its mallocs go to libc, not hop's heap.
# So i686 programs are not sent SIGUSR1; they still check their whole state
# after every resume ("OK resumed"), which is what the soak asserts.
can_signal() { [ "$1" != i686 ]; }

T=$FT_DIR/soak.tsv
: >"$T"
sampler() { # pid... : max VmRSS and last VmHWM of each, until all are gone
	local out=$1
	shift
	declare -A rss hwm
	while :; do
		local any=0
		for p in "$@"; do
			[ -r /proc/$p/status ] || continue
			any=1
			local r h
			r=$(awk '/^VmRSS:/ {print $2}' /proc/$p/status 2>/dev/null)
			h=$(awk '/^VmHWM:/ {print $2}' /proc/$p/status 2>/dev/null)
			[ -n "$r" ] && [ "$r" -gt "${rss[$p]:-0}" ] && rss[$p]=$r
			[ -n "$h" ] && hwm[$p]=$h
		done
		for p in "$@"; do echo "$p ${hwm[$p]:-0} ${rss[$p]:-0}"; done >"$out.tmp" && mv "$out.tmp" "$out"
		[ $any = 1 ] && [ ! -e "$out.stop" ] || break
		sleep 0.02
	done
}

# reference, measured in the same run: one native x86_64 -> x86_64 migration
# of the same program (qemu and the machine's load make the soak's pauses)
REF=$(ft_build x86_64) || ft_die "build for x86_64"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
ft_origin x86_64 "$REF" SC_RECS="$RECS" SC_TOUCH=20 SC_SLEEP_US=2000
ft_receive x86_64 "$REF"
ft_migrate >/dev/null
ref="native x86_64 -> x86_64 of the same program: $(ft_json result), downtime $(ft_json downtime_us) us, total $(ft_json total_ms) ms"
kill -9 "$OPID" "$RPID" ${DPID:+"$DPID"} 2>/dev/null
wait "$RPID" 2>/dev/null

cur=0
ft_origin "${TARGETS[0]}" "${P[0]}" SC_RECS="$RECS" SC_TOUCH=20 SC_SLEEP_US=2000
done_n=0 fail=0 stuck=0 cfail=0 i=0
t_start=$SECONDS
while [ $i -lt "$N" ]; do
	i=$((i + 1))
	nxt=$(((cur + 1) % ${#TARGETS[@]}))
	from=${TARGETS[$cur]} to=${TARGETS[$nxt]}
	ft_receive "$to" "${P[$nxt]}"
	sleep 0.3 # let qemu start the destination's own start-up
	rm -f "$FT_DIR/mem.stop"
	sampler "$FT_DIR/mem" "$OPID" &
	SPID=$!
	ft_migrate >/dev/null
	DPID=$(cat "$DPIDF" 2>/dev/null)
	touch "$FT_DIR/mem.stop"
	wait $SPID
	read -r _ ohwm orss <"$FT_DIR/mem"
	if [ "$MRC" != 0 ] || [ "$(ft_json result)" != committed ]; then
		fail=$((fail + 1))
		echo "migration $i $from -> $to FAILED: $RESULT"
		kill -9 "$RPID" ${DPID:+"$DPID"} 2>/dev/null
		ft_alive "$OPID" || ft_die "the origin died with the failed migration: chain broken"
		can_signal "$from" && ft_check "$OPID" "$OOUT"
		cfail=$((cfail + 1))
		if [ $cfail -ge 5 ]; then
			echo "the $from origin (pid $OPID) failed $cfail migrations in a row: the chain is stuck, stopping"
			break
		fi
		continue
	fi
	for ((k = 0; k < 200; k++)); do ft_alive "$OPID" || break; sleep 0.05; done
	if ft_alive "$OPID"; then
		# it must never run the program again: say what it does, end it, go on
		# with the destination (which has resumed)
		c0=$(awk '{print $14 + $15}' /proc/"$OPID"/stat 2>/dev/null)
		sleep 1
		c1=$(awk '{print $14 + $15}' /proc/"$OPID"/stat 2>/dev/null)
		echo "migration $i $from -> $to: the origin (pid $OPID) has not exited 10 s after COMMIT:" \
			"state $(awk '{print $3}' /proc/"$OPID"/stat 2>/dev/null), $(ls /proc/"$OPID"/task 2>/dev/null | wc -l) threads," \
			"$((${c1:-0} - ${c0:-0})) CPU ticks in 1 s, last output: $(tail -n 1 "$OOUT" | cut -c1-80); killed"
		kill -9 "$OPID" 2>/dev/null
		stuck=$((stuck + 1))
	fi
	ft_wait_file "$DOUT" "^OK resumed=$((i - fail)) " 120 || ft_die "migration $i: destination did not resume (want resumed=$((i - fail)))"
	can_signal "$to" && ft_check "$DPID" "$DOUT"
	dhwm=$(ft_hwm_kb "$DPID") drss=$(ft_rss_kb "$DPID")
	done_n=$((done_n + 1)) cfail=0
	printf '%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "$from" "$to" "$(ft_json downtime_us)" \
		"$(ft_json total_ms)" "$(ft_json rounds)" "$(ft_json bytes)" "$ohwm" "$orss" "$dhwm" "$drss" >>"$T"
	printf 'migration %3d %-7s -> %-7s downtime %7s us  total %5s ms  rounds %2s  origin HWM %6s kB  dest HWM %6s kB RSS %6s kB\n' \
		"$i" "$from" "$to" "$(ft_json downtime_us)" "$(ft_json total_ms)" "$(ft_json rounds)" "$ohwm" "$dhwm" "$drss"
	OPID=$DPID OOUT=$DOUT OERR=$DERR
	cur=$nxt
done

summary() {
	echo "soak: $i of $N migrations attempted across ${TARGETS[*]} ($RECS records, program writing throughout), $((SECONDS - t_start)) s"
	echo "migrations done: $done_n, failures: $fail, origins that had not exited 10 s after COMMIT: $stuck"
	echo "reference: $ref; load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (2 cores)"
	sort -n -k4 "$T" | awk -F'\t' '{d[NR] = $4} END {
		if (NR == 0) exit
		p90 = int(NR * 0.9); if (p90 < 1) p90 = 1
		printf "pause (downtime_us): min %d, median %d, p90 %d, max %d (n=%d)\n", d[1], d[int((NR + 1) / 2)], d[p90], d[NR], NR }'
	awk -F'\t' '{o = $8 > o ? $8 : o; dd = $10 > dd ? $10 : dd} END {
		if (NR) printf "peak memory: origin VmHWM max %d kB, destination VmHWM max %d kB\n", o, dd }' "$T"
	# growth: each target's destination peak at its first visit vs its last
	awk -F'\t' '{ if (!($3 in first)) first[$3] = $10; last[$3] = $10; n[$3]++ }
		END { g = 0
		for (t in first) {
			flag = (last[t] > first[t] * 1.25 + 4096) ? "GROWTH" : "flat"
			if (flag == "GROWTH") g = 1
			printf "memory of %-7s destinations over %d visits: first %d kB, last %d kB: %s\n", t, n[t], first[t], last[t], flag
		}
		exit g }' "$T"
}
summary | tee "$FT_DIR/summary"
growth=${PIPESTATUS[0]}
grep -q GROWTH "$FT_DIR/summary" && growth=1 || growth=0
if [ -n "${SOAK_OUT:-}" ]; then
	cp "$FT_DIR/summary" "$SOAK_OUT"
	cp "$T" "$SOAK_OUT.tsv"
fi
[ $fail = 0 ] && [ $stuck = 0 ] && [ $growth = 0 ] && [ $done_n = "$N" ]
