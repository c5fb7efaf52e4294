# flib.sh -- what the fault, hostile and soak tests add to tests/migrate/lib.sh
# (sourced by t_*.sh; lib.sh gives the scratch directory, token, build,
# origin start, waits and clean-up).
#
#   ft_build TARGET [SRC]          -> path of the hop program (default selfcheck.c)
#   ft_origin TARGET PROG [VAR=V]  -> starts the origin: OPID, OOUT, OERR
#   ft_receive TARGET PROG [VAR=V] -> starts `hop receive`: RPID, PORT, DOUT, DERR
#   ft_migrate [flags]             -> migrates $OPID to $PORT: RESULT (JSON), MRC
#   ft_check PID OUT               -> SIGUSR1: the program checks its own state
#   ft_expect_aborted / ft_expect_committed
#                                  -> the invariants of DESIGN.md, asserted
# Every test runs in its own scratch directory $FT_DIR (lib.sh's $MT_DIR)
# with its own control directory and token, and kills what it started when
# it ends (FT_PIDS is lib.sh's MT_PIDS).
. "$(dirname "${BASH_SOURCE[0]}")/../migrate/lib.sh"
export HOP_ROOT
FT_DIR=$MT_DIR
chmod 755 "$FT_DIR"
declare -n FT_PIDS=MT_PIDS
[ -n "${FT_KEEP:-}" ] && MT_KEEP=1
PY="python3 $HOP_ROOT/tests/hostile/hopwire.py" # hop's wire from Python (hostile tests)

ft_log() { mt_log "$@"; }
ft_die() { mt_die "$@"; }
ft_skip() { echo "$*"; exit 77; }
ft_qemu() { mt_qemu "$@"; }
ft_wait_file() { mt_wait_file "$@"; }
ft_json() { mt_json "$@"; }
ft_build() { mt_build "$1" "${2:-$HOP_ROOT/tests/faults/selfcheck.c}"; }
ft_origin() { mt_origin "$@"; }

ft_alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' /proc/"$1"/stat 2>/dev/null)" != Z ]; }

# ft_receive TARGET PROG [VAR=VALUE ...]: the destination's hop receive.
ft_receive() {
	local t=$1 prog=$2
	shift 2
	MT_N=$((MT_N + 1))
	DOUT=$FT_DIR/dest$MT_N.out
	DERR=$FT_DIR/dest$MT_N.err
	DPIDF=$FT_DIR/dpid$MT_N
	local pf=$FT_DIR/port$MT_N
	env "$@" hop receive --listen 127.0.0.1:0 --port-file "$pf" --pid-file "$DPIDF" \
		--token-file "$FT_DIR/token" -- $(ft_qemu "$t") "$prog" >"$DOUT" 2>"$DERR" &
	RPID=$!
	FT_PIDS+=("$RPID")
	DPID=
	local i
	for ((i = 0; i < 200; i++)); do [ -s "$pf" ] && break; sleep 0.05; done
	[ -s "$pf" ] || ft_die "hop receive did not listen"
	PORT=$(cat "$pf")
}

# ft_migrate [hop migrate flags...]: migrate $OPID to 127.0.0.1:$PORT.
ft_migrate() {
	RESULT=$(hop migrate --to 127.0.0.1:"$PORT" --token-file "$FT_DIR/token" --json --quiet "$@" "$OPID" \
		2>>"$FT_DIR/migrate.err")
	MRC=$?
	DPID=$(cat "$DPIDF" 2>/dev/null)
	[ -n "$DPID" ] && FT_PIDS+=("$DPID")
	echo "  migrate: $RESULT"
}

# ft_check PID OUT: ask the program to check its whole state now; it must
# answer "CHECK ok ... pid=PID" within 60 s and never print FAIL.
ft_check() {
	local pid=$1 out=$2 before i
	before=$(grep -c "^CHECK ok.*pid=$pid " "$out")
	kill -USR1 "$pid" 2>/dev/null || ft_die "pid $pid is not running (cannot check its state)"
	for ((i = 0; i < 1200; i++)); do
		grep -q '^FAIL' "$out" && ft_die "self-check of pid $pid failed: $(grep '^FAIL' "$out")"
		[ "$(grep -c "^CHECK ok.*pid=$pid " "$out")" -gt "$before" ] && return 0
		sleep 0.05
	done
	ft_die "pid $pid did not answer its self-check"
}

# Before COMMIT: the migration reports "aborted", hop migrate exits non-zero,
# the origin still runs and its state checks out, the destination program
# does not run (it exited, or was never started).
ft_expect_aborted() {
	[ "$MRC" != 0 ] || ft_die "hop migrate exited 0 for a migration that should abort: $RESULT"
	[ "$(ft_json result)" = aborted ] || ft_die "result is not 'aborted': $RESULT"
	ft_alive "$OPID" || ft_die "the origin died after an aborted migration"
	ft_check "$OPID" "$OOUT"
	local i
	for ((i = 0; i < 400; i++)); do ft_alive "$RPID" || break; sleep 0.05; done
	ft_alive "$RPID" && ft_die "hop receive (and the destination) still runs after the abort"
	wait "$RPID"
	RRC=$?
	[ "$RRC" = 0 ] && ft_die "hop receive exited 0 after an aborted migration"
	grep -q '^OK resumed' "$DOUT" && ft_die "the destination resumed after an aborted migration"
	return 0
}

# After COMMIT: the origin process exits 0, the destination resumes, checks
# its state, and keeps running: exactly one side runs.
ft_expect_committed() {
	[ "$MRC" = 0 ] && [ "$(ft_json result)" = committed ] || ft_die "migration not committed: $RESULT"
	local i
	for ((i = 0; i < 200; i++)); do ft_alive "$OPID" || break; sleep 0.05; done
	ft_alive "$OPID" && ft_die "the origin still runs after COMMIT"
	wait "$OPID"
	local orc=$?
	[ $orc = 0 ] || ft_die "origin exited $orc after COMMIT"
	ft_wait_file "$DOUT" "^OK resumed" 60 || ft_die "destination did not resume"
	ft_check "$DPID" "$DOUT"
}

# ft_door [listen-spec]: a hop receive whose CMD only notes that it was
# launched (for tests of the door itself). RPID, PORT, DERR.
ft_door() {
	MT_N=$((MT_N + 1))
	DOUT=$FT_DIR/door$MT_N.out
	DERR=$FT_DIR/door$MT_N.err
	DPIDF=$FT_DIR/dpid$MT_N
	local pf=$FT_DIR/port$MT_N
	hop receive --listen "${1:-127.0.0.1:0}" --port-file "$pf" --pid-file "$DPIDF" --token-file "$FT_DIR/token" \
		-- sh -c "echo launched >>'$FT_DIR/launched'; exec sleep 120" >"$DOUT" 2>"$DERR" &
	RPID=$!
	FT_PIDS+=("$RPID")
	local i
	for ((i = 0; i < 200; i++)); do [ -s "$pf" ] && break; sleep 0.05; done
	[ -s "$pf" ] || ft_die "hop receive did not listen"
	PORT=$(cat "$pf")
}
ft_launched() { [ -s "$FT_DIR/launched" ]; }
ft_rss_kb() { awk '/^VmRSS:/ {print $2}' /proc/"$1"/status; }
ft_hwm_kb() { awk '/^VmHWM:/ {print $2}' /proc/"$1"/status; }

# ft_case SIDE FAULT WANT [hop migrate flags]: one migration of a fresh
# selfcheck (x86_64 -> x86_64, $PROG) with HOP_FAULT=FAULT in the origin or the
# destination ("origin" / "dest"), then the invariant for WANT:
#   origin  aborted before COMMIT: the origin runs, its state checks out
#   dest    committed: the origin exited 0, the destination runs and checks
#   none    the destination died after COMMIT (by the fault), the origin exited
#   dest-only  the origin died after COMMIT (by the fault); the destination runs
ft_case() {
	local side=$1 f=$2 want=$3
	shift 3
	ft_log "== fault $f in the $side: expect $want"
	if [ "$side" = origin ]; then
		ft_origin x86_64 "$PROG" HOP_FAULT="$f" $FT_ENV
		ft_receive x86_64 "$PROG" $FT_ENV
	else
		ft_origin x86_64 "$PROG" $FT_ENV
		ft_receive x86_64 "$PROG" HOP_FAULT="$f" $FT_ENV
	fi
	ft_migrate "$@"
	grep -q "fault .*$f\|fault '$f'" "$OERR" "$DERR" || ft_die "fault $f did not fire"
	case $want in
	origin) ft_expect_aborted ;;
	dest) ft_expect_committed ;;
	dest-only)
		local i
		for ((i = 0; i < 200; i++)); do ft_alive "$OPID" || break; sleep 0.05; done
		ft_alive "$OPID" && ft_die "the origin still runs (it should have died by the fault)"
		ft_wait_file "$DOUT" "^OK resumed" 60 || ft_die "destination did not resume"
		ft_check "$DPID" "$DOUT"
		;;
	none)
		local i
		for ((i = 0; i < 200; i++)); do ft_alive "$OPID" || ft_alive "$RPID" || break; sleep 0.05; done
		ft_alive "$OPID" && ft_die "the origin runs after COMMIT reached the destination"
		ft_alive "$RPID" && ft_die "the destination still runs (it should have died by the fault)"
		grep -q '^OK resumed' "$DOUT" && ft_die "destination resumed"
		;;
	esac
	kill -9 "$OPID" "$RPID" ${DPID:+"$DPID"} 2>/dev/null
	wait 2>/dev/null
	ft_log "   ok: $want"
}
FT_ENV=

# ft_kill_dest_when PHASE-TEXT [migrate flags]: migrate $OPID to the running
# receiver and SIGKILL the destination program from outside as soon as
# `hop status` of the origin shows PHASE-TEXT ("bulk copy", "delta rounds").
ft_kill_dest_when() {
	local phase=$1 i
	shift
	hop migrate --to 127.0.0.1:"$PORT" --token-file "$FT_DIR/token" --json --quiet "$@" "$OPID" \
		>"$FT_DIR/result" 2>>"$FT_DIR/migrate.err" &
	local mpid=$!
	for ((i = 0; i < 4000; i++)); do
		hop status "$OPID" 2>/dev/null | grep -q "state: $phase" && break
		sleep 0.002
	done
	[ $i -lt 4000 ] || ft_die "the origin never showed '$phase'"
	DPID=$(cat "$DPIDF")
	kill -9 "$DPID"
	ft_log "killed the destination (pid $DPID) during $phase"
	wait $mpid
	MRC=$?
	RESULT=$(cat "$FT_DIR/result")
	echo "  migrate: $RESULT"
}
