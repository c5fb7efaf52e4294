# tests/kvd/lib.sh -- sourced by the kvd tests (tests/kvd/t_*.sh).
#
# Builds kvd into a temporary directory, starts it on a free loopback port
# and offers small assertion helpers around redis-cli. Everything started is
# killed and the directory removed on exit.
set -u
ROOT=${HOP_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TMP=$(mktemp -d /tmp/kvdtest.XXXXXX)
KVD_PIDS=()
FAILS=0

kvd_cleanup() {
	local p
	for p in "${KVD_PIDS[@]}"; do
		{ kill -9 "$p" && wait "$p"; } 2>/dev/null
	done
	rm -rf "$TMP"
}
trap kvd_cleanup EXIT

need() { # command...: skip (77) if one is missing
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || { echo "skip: $c not installed (scripts/deps.sh installs it)"; exit 77; }
	done
}

die() { echo "FAIL: $*"; [ -f "$TMP/kvd.log" ] && sed 's/^/  kvd| /' "$TMP/kvd.log" | tail -n 20; exit 1; }

# build_kvd TARGET OUT: plain cross build with libhop linked (no index: hop_init
# fails and kvd serves anyway, which is what a non-hop build must do).
build_kvd() {
	local t=$1 out=$2 cc=gcc
	[ "$t" = x86_64 ] || cc=$t-linux-gnu-gcc
	[ -f "$ROOT/build/$t/libhop.a" ] || die "build/$t/libhop.a missing (make libs)"
	"$cc" -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
		-I"$ROOT/include" -o "$out" "$ROOT"/examples/kvd/*.c "$ROOT/build/$t/libhop.a" -lpthread ||
		die "building kvd for $t"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_kvd BINARY DIR [runner...]: start on a fresh port ($PORT), wait for PING.
# Sets KVD_PID. Extra server flags in KVD_FLAGS.
start_kvd() {
	local bin=$1 dir=$2
	shift 2
	PORT=$(free_port)
	"$@" "$bin" --port "$PORT" --dir "$dir" ${KVD_FLAGS:-} >>"$TMP/kvd.log" 2>&1 &
	KVD_PID=$!
	KVD_PIDS+=("$KVD_PID")
	for _ in $(seq 1 200); do
		[ "$(redis-cli -p "$PORT" ping 2>/dev/null)" = PONG ] && return 0
		kill -0 "$KVD_PID" 2>/dev/null || die "kvd exited at start-up"
		sleep 0.05
	done
	die "kvd did not answer PING on port $PORT"
}

# stop_kvd: SIGTERM (clean shutdown: AOF flushed), wait for the exit.
stop_kvd() {
	kill -TERM "$KVD_PID" 2>/dev/null
	wait "$KVD_PID" 2>/dev/null
}

cli() { redis-cli -p "$PORT" "$@"; }

# expect "EXPECTED" ARGS...: redis-cli ARGS must print exactly EXPECTED
# (lines joined by '|', so multi-line replies fit on one line; trailing
# empty lines dropped).
expect() {
	local want=$1 got
	shift
	got=$(redis-cli -p "$PORT" "$@" 2>&1)
	got=${got//$'\n'/|} # trailing newlines (an error's blank line, a last nil) are gone
	if [ "$got" != "$want" ]; then
		echo "FAIL: $*: expected [$want], got [$got]"
		FAILS=$((FAILS + 1))
	fi
}

finish() {
	[ "$FAILS" -eq 0 ] || die "$FAILS check(s) failed"
	echo "ok"
	exit 0
}
