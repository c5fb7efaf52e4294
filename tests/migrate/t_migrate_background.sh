#!/usr/bin/env bash
# t_migrate_background.sh -- hop's pre-copy runs at background priority,
# the pause and everything after an abort at normal priority (src/lib/bg.c).
#   - during the bulk and the rounds the origin program sees a thread of its
#     own process at SCHED_IDLE (sched/bgprio.c reads its threads'
#     policies), and its own thread never leaves SCHED_OTHER, nice 0
#   - HOP_TRACE: the origin's bulk and rounds and the destination's phases
#     ran on threads at SCHED_IDLE; the steps of the pause (FREEZE ..
#     commit) on both sides did not
#   - after aborts (destination killed in the bulk, link cut in the rounds)
#     no thread of the origin is left at SCHED_IDLE, and it migrates after
#   - HOP_BACKGROUND=0: no thread at SCHED_IDLE
#   - unprivileged (setpriv, uid 65534): nice 10 instead, the pause at normal
#   - the same under qemu (aarch64 origin, s390x destination)
# timeout: 400
source "$(dirname "$0")/lib.sh"
src=$HOP_ROOT/tests/migrate/sched/bgprio.c
p=$(mt_build x86_64 "$src") || mt_die build
export HOP_TIMEOUT_MS=20000

# the program prints "bg idle=N" each time the number of SCHED_IDLE threads
# in its process changes; after line $2 of its output, the last count
last_idle() { tail -n +"$2" "$1" | sed -n 's/^bg idle=\([0-9]*\).*/\1/p' | tail -1; }
saw_idle() { tail -n +"$2" "$1" | grep -q '^bg idle=[1-9]'; }

pause_steps='FREEZE|FDS|collect|rescan|final|digest|commit|retry|finish|hash'
check_trace() { # origin stderr, destination stderr
	# (the step lines of the bulk and rounds may say either: on a busy
	# machine the floor runs the thread at normal priority for a while)
	grep -Eq '\[background\] origin bulk and rounds: thread [0-9]+ at SCHED_IDLE' "$1" ||
		mt_die "no background trace line on the origin"
	grep -Eq '\[background\] destination phase: thread [0-9]+ at SCHED_IDLE' "$2" ||
		mt_die "the destination's phases did not run at SCHED_IDLE"
	local bad
	bad=$(grep -Eh "\[(origin|destination)\] ($pause_steps) +done.*, at " "$1" "$2")
	[ -z "$bad" ] || mt_die "pause steps ran at background priority: $bad"
	grep -Eq '\[origin\] digest +done' "$1" && grep -Eq '\[destination\] digest +done' "$2" ||
		mt_die "no pause steps in the trace"
}

echo "== x86_64 -> x86_64: pre-copy at SCHED_IDLE, pause at normal priority"
mt_origin x86_64 "$p" HOP_TRACE=1
mt_migrate x86_64 "$p" --env HOP_TRACE=1 --max-downtime 1
mt_expect_committed 1
saw_idle "$MT_DIR/origin1.out" 1 || mt_die "the origin never saw a thread at SCHED_IDLE during the migration"
check_trace "$MT_DIR/origin1.err" "$DERR"
mt_finish

echo "== aborts: nothing of the origin stays at SCHED_IDLE"
mt_origin x86_64 "$p" HOP_TRACE=1
for f in kill-recv:DATA cut-recv:PHASE#3; do
	echo "-- destination fault $f"
	from=$(($(wc -l <"$OOUT") + 1))
	mt_migrate x86_64 "$p" --env HOP_FAULT=$f
	mt_expect_aborted
	# the program prints the count when it changes: back to 0 after the abort
	for ((i = 0; i < 100; i++)); do [ "$(last_idle "$OOUT" "$from")" = 0 ] && break; sleep 0.05; done
	saw_idle "$OOUT" "$from" || mt_die "no thread at SCHED_IDLE before the abort ($f)"
	[ "$(last_idle "$OOUT" "$from")" = 0 ] || mt_die "a thread stays at SCHED_IDLE after the abort ($f): $(tail -3 "$OOUT")"
	tid_left=$(for t in /proc/"$OPID"/task/*; do awk '$41 == 5 {print FILENAME}' "$t/stat"; done)
	[ -z "$tid_left" ] || mt_die "thread at SCHED_IDLE after the abort: $tid_left"
done
mt_migrate x86_64 "$p"
mt_expect_committed 1
mt_finish

echo "== HOP_BACKGROUND=0: no thread at SCHED_IDLE"
mt_origin x86_64 "$p" HOP_BACKGROUND=0 HOP_TRACE=1
from=$(($(wc -l <"$OOUT") + 1))
mt_migrate x86_64 "$p" --env HOP_BACKGROUND=0
mt_expect_committed 1
saw_idle "$MT_DIR/origin$((MT_N - 1)).out" 1 && mt_die "HOP_BACKGROUND=0, yet a thread ran at SCHED_IDLE"
grep -q '\[background\]' "$MT_DIR/origin$((MT_N - 1)).err" && mt_die "HOP_BACKGROUND=0, yet a background stretch ran"
mt_finish

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	echo "== unprivileged (uid 65534): no way back from SCHED_IDLE, so nice 10; pause at normal priority"
	U=$MT_DIR/nobody
	# the tool too: the checkout may sit where uid 65534 cannot enter (a 0700 home or mktemp -d)
	mkdir -p "$U/run" && chmod 700 "$U/run" && cp "$p" "$U/prog" && cp "$MT_DIR/token" "$U/token" &&
		cp "$(command -v hop)" "$U/hop" &&
		chown -R 65534:65534 "$U" && chmod 711 "$MT_DIR" || mt_die "setting up the unprivileged case"
	as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups env HOP_RUN_DIR="$U/run" HOP_TRACE=1)
	"${as_nobody[@]}" "$U/prog" 100000 >"$U/o.out" 2>"$U/o.err" &
	opid=$!
	MT_PIDS+=("$opid")
	mt_wait_file "$U/o.out" "^ready" 60 || mt_die "unprivileged origin did not start"
	"${as_nobody[@]}" "$U/hop" receive --listen 127.0.0.1:0 --port-file "$U/port" --token-file "$U/token" -- "$U/prog" \
		>"$U/d.out" 2>"$U/d.err" &
	rpid=$!
	MT_PIDS+=("$rpid")
	for ((i = 0; i < 200; i++)); do [ -s "$U/port" ] && break; sleep 0.05; done
	RESULT=$("${as_nobody[@]}" "$U/hop" migrate --to 127.0.0.1:"$(cat "$U/port")" --token-file "$U/token" --json --quiet "$opid")
	echo "  $RESULT"
	[ "$(mt_json result)" = committed ] || mt_die "unprivileged migration: $RESULT"
	mt_wait_file "$U/d.out" "^OK resumed=1" 60 || mt_die "unprivileged destination did not resume"
	grep -q FAIL "$U/o.out" "$U/d.out" && mt_die "unprivileged: a self-check failed"
	grep -Eq '\[background\] origin bulk and rounds: thread [0-9]+ at nice 10' "$U/o.err" ||
		mt_die "unprivileged: the origin's pre-copy did not run at nice 10"
	grep -Eq '\[background\] destination phase: thread [0-9]+ at nice 10' "$U/d.err" ||
		mt_die "unprivileged: the destination's phases did not run at nice 10"
	bad=$(grep -Eh "\[(origin|destination)\] ($pause_steps) +done.*, at " "$U/o.err" "$U/d.err")
	[ -z "$bad" ] || mt_die "unprivileged: pause steps ran at background priority: $bad"
	wait "$rpid" || mt_die "unprivileged: hop receive exited $?"
fi

if command -v qemu-aarch64 >/dev/null && command -v qemu-s390x >/dev/null; then
	echo "== qemu: aarch64 -> s390x, the same"
	pa=$(mt_build aarch64 "$src") || mt_die build aarch64
	ps=$(mt_build s390x "$src") || mt_die build s390x
	mt_origin aarch64 "$pa" HOP_TRACE=1
	oerr=$OERR oout=$OOUT
	# fewer blocks: the bulk is emulated
	mt_migrate s390x "$ps" --env HOP_TRACE=1 --max-downtime 1
	mt_expect_committed 1
	saw_idle "$oout" 1 || mt_die "qemu: the origin never saw a thread at SCHED_IDLE"
	check_trace "$oerr" "$DERR"
	mt_finish
fi
echo "background ok"
