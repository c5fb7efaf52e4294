#!/usr/bin/env bash
# t_datadir_migrate.sh -- hop migrate --data-dir / hop receive --data-dir with
# a program writing its data directory all along (tests/world/logger.c): the
# directory is copied while it runs, re-synced in rounds, passed a last time
# while it is frozen; the destination (its own network namespace and its own
# mount namespace, where the same path holds another directory) reopens the
# program's files by path at the same offsets. The log continues with no line
# missing or doubled; at the switch the destination's copy was the origin's,
# byte for byte; a large file changed in place travels as ranges.
# timeout: 200
set -eu
cd "$HOP_ROOT"
. tests/world/netns.sh
B=build/world
mkdir -p $B
hop cc --target x86_64 -o $B/logger.x86_64 tests/world/logger.c -O1
hop cc --target s390x -o $B/logger.s390x tests/world/logger.c -O1
command -v unshare >/dev/null || { echo "unshare missing; skipping"; exit 77; }
if ! world_up; then
	echo "network namespaces cannot be created here (need root and ip); skipping"
	exit 77
fi
T=$(mktemp -d)
export HOP_RUN_DIR=$T/run
mkdir -m 700 "$HOP_RUN_DIR"
head -c 32 /dev/urandom | base64 >"$T/token"
chmod 600 "$T/token"
PIDS=()
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	[ -f "$T/dpid" ] && kill -9 "$(cat "$T/dpid")" 2>/dev/null
	rm -rf "$T"
	world_down
}
trap cleanup EXIT

run() { # origin-target dest-target
	local o=$1 d=$2 q=""
	[ "$d" = s390x ] && q="qemu-s390x -L /usr/s390x-linux-gnu"
	echo "== $o -> $d"
	rm -rf "$T/data" "$T/dest" "$T/dpid"
	mkdir -p "$T/data/big" "$T/dest"
	printf 'first second third' >"$T/data/config"
	head -c $((16 << 20)) /dev/urandom >"$T/data/big/blob"
	# the destination already has an older copy of the blob
	cp "$T/data/big/blob" "$T/dest/old-blob"
	ip netns exec "$W_O" $B/logger.$o "$T/data" >"$T/origin.out" 2>&1 &
	local opid=$!
	PIDS+=($opid)
	for i in $(seq 100); do grep -q ready "$T/origin.out" && break; sleep 0.05; done
	# the destination sees $T/dest at the path $T/data
	ip netns exec "$W_D" unshare -m sh -c "mkdir -p '$T/dest/big' && mv '$T/dest/old-blob' '$T/dest/big/blob' &&
		mount --bind '$T/dest' '$T/data' && exec hop receive --listen $W_DIP:7800 --token-file '$T/token' \
		--pid-file '$T/dpid' --data-dir '$T/data' -- $q $B/logger.$d '$T/data'" >"$T/dest.out" 2>&1 &
	PIDS+=($!)
	sleep 0.5
	# change a range of the blob in place while the rounds run
	printf 'CHANGED!' | dd of="$T/data/big/blob" bs=1 seek=7000000 conv=notrunc status=none
	ip netns exec "$W_O" hop migrate --to $W_DIP:7800 --token-file "$T/token" --data-dir "$T/data" --json $opid \
		>"$T/result" 2>"$T/migrate.err" || { cat "$T/result" "$T/migrate.err" "$T/dest.out" "$T/origin.out"; exit 1; }
	cat "$T/result"
	grep "data directory" "$T/migrate.err" || true
	wait $opid 2>/dev/null || true
	for i in $(seq 200); do grep -q "resumed 1" "$T/dest.out" && break; sleep 0.05; done
	grep -q "resumed 1" "$T/dest.out" || { echo "FAIL: the destination did not resume"; cat "$T/dest.out"; exit 1; }
	sleep 0.5
	kill -9 "$(cat "$T/dpid")"
	grep FAIL "$T/dest.out" && exit 1
	# the origin's log stopped at the freeze; the destination's copy starts
	# with it byte for byte and goes on with the next line
	local olen
	olen=$(stat -c %s "$T/data/log")
	cmp -n "$olen" "$T/data/log" "$T/dest/log" || { echo "FAIL: the destination's log does not start with the origin's"; exit 1; }
	[ "$(stat -c %s "$T/dest/log")" -gt "$olen" ] || { echo "FAIL: the destination wrote nothing"; exit 1; }
	python3 - "$T/dest/log" <<'PY' || exit 1
import sys
lines = open(sys.argv[1]).read().splitlines()
for i, l in enumerate(lines):
    if l != "line %d first " % i:
        print("FAIL: line %d is %r" % (i, l)); sys.exit(1)
print("log: %d lines, none missing or doubled across the switch" % len(lines))
PY
	cmp "$T/data/big/blob" "$T/dest/big/blob" || { echo "FAIL: blob differs"; exit 1; }
	cmp "$T/data/config" "$T/dest/config" || { echo "FAIL: config differs"; exit 1; }
	# the blob travelled as changed ranges: far less than its 16 MiB
	local copied
	copied=$(sed -n 's/.*data directory copied: [0-9]* files, \([0-9]*\) bytes.*/\1/p' "$T/migrate.err")
	[ -n "$copied" ] && [ "$copied" -lt $((1 << 20)) ] || { echo "FAIL: first copy sent ${copied:-?} bytes"; exit 1; }
	echo "blob: first copy sent $copied bytes of 16 MiB"
}
run x86_64 x86_64
run x86_64 s390x
echo "the data directory followed the program"
