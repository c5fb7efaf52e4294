#!/usr/bin/env bash
# t_refuse.sh -- what cannot be carried is refused by name before the origin
# freezes, and the origin carries on: a pipe to another process, a Unix
# socket to elsewhere, a signalfd, an inotify instance (tests/world/refuser.c,
# migrated with the real hop migrate / hop receive on loopback).
# timeout: 120
set -eu
cd "$HOP_ROOT"
B=build/world
mkdir -p $B
hop cc --target x86_64 -o $B/refuser tests/world/refuser.c -O1
T=$(mktemp -d)
export HOP_RUN_DIR=$T/run
mkdir -m 700 "$HOP_RUN_DIR"
head -c 32 /dev/urandom | base64 >"$T/token"
chmod 600 "$T/token"
PIDS=()
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do
		pkill -9 -P "$p" 2>/dev/null
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$T"
	return 0
}
trap cleanup EXIT
check() { # kind, expected words of the message
	local kind=$1 want=$2
	$B/refuser "$kind" >"$T/$kind.out" 2>&1 &
	local pid=$!
	PIDS+=($pid)
	for i in $(seq 100); do grep -q ready "$T/$kind.out" && break; sleep 0.05; done
	local fd
	fd=$(sed -n 's/^ready pid=[0-9]* fd=\([0-9]*\)/\1/p' "$T/$kind.out")
	hop receive --listen 127.0.0.1:0 --port-file "$T/port" --token-file "$T/token" -- $B/refuser "$kind" \
		>"$T/$kind.recv" 2>&1 &
	local rpid=$!
	PIDS+=($rpid)
	for i in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
	local res
	res=$(hop migrate --to 127.0.0.1:"$(cat "$T/port")" --token-file "$T/token" --json --quiet $pid 2>/dev/null || true)
	rm -f "$T/port"
	echo "$kind: $res"
	echo "$res" | grep -q '"result": "aborted"' || { echo "FAIL: $kind was not refused"; exit 1; }
	echo "$res" | grep -q "fd $fd: $want" || { echo "FAIL: the refusal does not name fd $fd as '$want'"; exit 1; }
	echo "$res" | grep -q '"rounds": 0' || { echo "FAIL: refused after rounds began, not before"; exit 1; }
	# the origin goes on
	local before after
	before=$(grep -c tick "$T/$kind.out")
	sleep 0.3
	after=$(grep -c tick "$T/$kind.out")
	[ "$after" -gt "$before" ] || { echo "FAIL: the origin stopped after the refusal"; exit 1; }
	pkill -9 -P $pid 2>/dev/null || true
	kill -9 $pid
	wait $pid 2>/dev/null || true
	# the destination saw the refusal and exited; hop receive with it
	wait $rpid 2>/dev/null || true
}
check pipe "pipe to another process (pipe:\["
check unix "UNIX socket (socket:\["
check signalfd "signalfd (anon_inode:\[signalfd\]) cannot be carried"
check inotify "inotify (anon_inode:inotify) cannot be carried"
echo "every refusal named its descriptor; the origin carried on"
