# lib.sh -- helpers for the migration tests (sourced by t_*.sh).
#
# mt_build TARGET SRC [flags]    -> path of the hop program, built once per run
# mt_origin TARGET PROG [env...] -> starts the origin; sets OPID, waits for "ready"
# mt_migrate DST_TARGET PROG [migrate flags...]
#                                 -> hop receive + hop migrate; sets RESULT (JSON),
#                                    DPID (the destination process), MRC
# Each test runs in its own scratch directory $MT_DIR and cleans up its processes.
set -u
: "${HOP_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
export PATH=$HOP_ROOT/bin:$PATH
MT_DIR=$(mktemp -d /tmp/hop-mt.XXXXXX)
MT_BUILD=$HOP_ROOT/build/mt
export HOP_RUN_DIR=$MT_DIR/run
mkdir -p "$MT_BUILD" "$HOP_RUN_DIR"
chmod 700 "$HOP_RUN_DIR"
head -c 32 /dev/urandom | base64 >"$MT_DIR/token"
chmod 600 "$MT_DIR/token"
MT_PIDS=()
MT_N=0

mt_cleanup() {
	for p in "${MT_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "${MT_KEEP:-}" = "" ]; then rm -rf "$MT_DIR"; fi
}
trap mt_cleanup EXIT

mt_log() { echo "[$(date +%T)] $*"; }
# cases often run in a subshell, which neither runs the EXIT trap nor shares
# MT_PIDS with the parent: a failing case kills its own processes here
mt_die() {
	echo "FAIL: $*"
	for f in "$MT_DIR"/*.out "$MT_DIR"/*.err; do [ -s "$f" ] && { echo "== $f"; tail -n 20 "$f"; }; done
	for p in "${MT_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	exit 1
}

mt_qemu() { # target -> command prefix
	case $1 in
	x86_64) echo "" ;;
	i686) echo "qemu-i386 -L /usr/i686-linux-gnu" ;;
	aarch64) echo "qemu-aarch64 -L /usr/aarch64-linux-gnu" ;;
	s390x) echo "qemu-s390x -L /usr/s390x-linux-gnu" ;;
	powerpc) echo "qemu-ppc -L /usr/powerpc-linux-gnu" ;;
	esac
}

mt_build() { # target src [flags...] -> echo path
	local t=$1 src=$2
	shift 2
	local name
	name=$(basename "$src" .c)
	[ $# -gt 0 ] && name=$name$(echo "$*" | tr -c 'A-Za-z0-9' '_')
	local out=$MT_BUILD/$t/$name
	mkdir -p "$MT_BUILD/$t"
	if [ ! -x "$out" ] || [ "$src" -nt "$out" ] || [ "$HOP_ROOT/build/$t/libhop.a" -nt "$out" ] ||
		[ "$HOP_ROOT/tests/migrate/mtest.h" -nt "$out" ]; then
		hop cc --target "$t" -o "$out.tmp$$" "$src" -I"$HOP_ROOT/tests/migrate" -O1 "$@" >&2 || return 1
		mv "$out.tmp$$" "$out"
	fi
	echo "$out"
}

mt_wait_file() { # file pattern seconds
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# mt_origin TARGET PROG [VAR=VALUE ...]
mt_origin() {
	local t=$1 prog=$2
	shift 2
	MT_N=$((MT_N + 1))
	OOUT=$MT_DIR/origin$MT_N.out
	OERR=$MT_DIR/origin$MT_N.err
	rm -f "$OOUT" "$OERR" # a case run in a subshell restarts MT_N: never read an old file
	env "$@" $(mt_qemu "$t") "$prog" >"$OOUT" 2>"$OERR" &
	OPID=$!
	MT_PIDS+=("$OPID")
	OWAIT=
	mt_wait_file "$OOUT" "^ready" 60 || mt_die "origin $prog ($t) did not start"
}

# mt_migrate DST_TARGET PROG [--env VAR=VALUE]... [migrate flags...]
# Migrates $OPID. Sets RESULT, MRC, DPID, DOUT, RPID.
mt_migrate() {
	local t=$1 prog=$2
	shift 2
	local denv=()
	while [ $# -gt 0 ] && [ "$1" = "--env" ]; do denv+=("$2"); shift 2; done
	MT_N=$((MT_N + 1))
	DOUT=$MT_DIR/dest$MT_N.out
	DERR=$MT_DIR/dest$MT_N.err
	local pf=$MT_DIR/port$MT_N dp=$MT_DIR/dpid$MT_N
	rm -f "$pf" "$dp" "$DOUT" "$DERR" # a case run in a subshell restarts MT_N: never read an old file
	env "${denv[@]}" hop receive --listen 127.0.0.1:0 --port-file "$pf" --pid-file "$dp" \
		--token-file "$MT_DIR/token" -- $(mt_qemu "$t") "$prog" >"$DOUT" 2>"$DERR" &
	RPID=$!
	MT_PIDS+=("$RPID")
	for ((i = 0; i < 200; i++)); do [ -s "$pf" ] && break; sleep 0.05; done
	[ -s "$pf" ] || mt_die "hop receive did not listen"
	RESULT=$(hop migrate --to 127.0.0.1:"$(cat "$pf")" --token-file "$MT_DIR/token" --json --quiet "$@" "$OPID" 2>>"$MT_DIR/migrate.err")
	MRC=$?
	DPID=$(cat "$dp" 2>/dev/null)
	[ -n "$DPID" ] && MT_PIDS+=("$DPID")
	echo "  $RESULT"
}

mt_json() { # key -> value from $RESULT
	echo "$RESULT" | sed -n "s/.*\"$1\": \"\{0,1\}\([^,\"}]*\).*/\1/p"
}

# After a committed migration: origin exited 0, destination printed OK.
mt_expect_committed() {
	[ "$MRC" = 0 ] && [ "$(mt_json result)" = committed ] || mt_die "migration not committed: $RESULT"
	# the first origin is our child; a later one (the previous destination)
	# is hop receive's child, and hop receive exits with its status
	wait "${OWAIT:-$OPID}"
	local orc=$?
	[ $orc = 0 ] || mt_die "origin exited $orc after commit"
	mt_wait_file "$DOUT" "^OK resumed=$1" 60 || mt_die "destination did not resume and check its state"
	grep -q FAIL "$DOUT" && mt_die "destination self-check failed"
	OPID=$DPID
	OWAIT=$RPID
	OOUT=$DOUT
	OERR=$DERR
}

# After an aborted migration: the origin still runs, and a later migration of
# it succeeds (its state intact). The receiver is gone or is killed.
mt_expect_aborted() {
	[ "$MRC" != 0 ] && [ "$(mt_json result)" = aborted ] || mt_die "migration should have aborted: $RESULT"
	sleep 0.2
	kill -0 "$OPID" 2>/dev/null || mt_die "origin died after an aborted migration"
	grep -q FAIL "$OOUT" && mt_die "origin self-check failed after abort"
	[ -n "${DPID:-}" ] && kill -9 "$DPID" 2>/dev/null
	kill -9 "$RPID" 2>/dev/null
	wait "$RPID" 2>/dev/null
	return 0
}

# wait for the destination to finish (test done) and its receiver to exit 0
mt_finish() {
	local i
	for ((i = 0; i < 600; i++)); do kill -0 "$RPID" 2>/dev/null || break; sleep 0.05; done
	wait "$RPID"
	local rc=$?
	[ $rc = 0 ] || mt_die "hop receive exited $rc (the destination's status)"
}
