#!/usr/bin/env bash
# t_upgrade_kvd.sh -- kvd upgraded live to v2 under client load
# (docs/upgrade.md). v2 (examples/kvd built with -DKVD_V2) adds a per-key
# GET counter to struct kvd_entry and a command HITS key. kvd v1 runs in one
# network namespace with keys loaded and a redis-cli loop writing to it from
# a third; hop migrate moves it into v2 in another namespace. Afterwards every
# key holds the value v1 had (the loop's counter and a full key dump compared
# with what the origin served just before), the counters start at 0 and
# HITS counts GETs.
# timeout: 240
set -u
cd "$HOP_ROOT"
command -v redis-cli >/dev/null || { echo "redis-cli missing (scripts/deps.sh)"; exit 77; }
. tests/world/netns.sh
W=$(mktemp -d /tmp/hop-upkvd.XXXXXX)
pids=()
cleanup() { [ -n "${KEEP:-}" ] && cp -r "$W" /tmp/upkvd.keep; for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; world_down; rm -rf "$W"; }
die() { echo "FAIL: $*"; for f in "$W"/*.log "$W"/*.err; do [ -s "$f" ] && { echo "== $f"; tail -n 15 "$f"; }; done; exit 1; }
bin/hop cc --target x86_64 -O2 -o "$W/kvd1" examples/kvd/*.c >"$W/cc.log" 2>&1 || die "build kvd v1"
bin/hop cc --target x86_64 -O2 -o "$W/kvd2" examples/kvd/*.c -DKVD_V2 >"$W/cc.log" 2>&1 || die "build kvd v2"
bin/hop check "$W/kvd1" "$W/kvd2" >"$W/check.out" || die "hop check refuses: $(cat "$W/check.out")"
grep -q "+ hits .*added" "$W/check.out" || die "hop check does not report the added member: $(cat "$W/check.out")"
world_up || { echo "network namespaces cannot be created here (need root and ip); skipping"; exit 77; }
trap cleanup EXIT
inO() { ip netns exec "$W_O" "$@"; }
inD() { ip netns exec "$W_D" "$@"; }
inC() { ip netns exec "$W_C" "$@"; }
head -c 32 /dev/urandom | base64 >"$W/token"
chmod 600 "$W/token"
export HOP_RUN_DIR=$W/run
mkdir -p "$HOP_RUN_DIR" "$W/data"
chmod 700 "$HOP_RUN_DIR"
PORT=6390
inO "$W/kvd1" --port $PORT --bind 0.0.0.0 --dir "$W/data" --fsync no >"$W/kvd1.log" 2>&1 &
KVD=$!
pids+=($KVD)
cli() { inC redis-cli -h "$W_OIP" -p $PORT "$@"; }
for i in $(seq 50); do [ "$(cli ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done
KVD=$(sed -n 's/^\([0-9]*\):M .*kvd ready.*/\1/p' "$W/kvd1.log" | head -n 1) # ip netns exec forks
[ -n "$KVD" ] || die "no kvd pid"
pids+=($KVD)
for i in $(seq 1 2000); do echo "SET key:$i value-$i"; done | cli >/dev/null
cli rpush list a b c >/dev/null
# client load: a counter incremented in a loop (through the relay, then v2)
(for i in $(seq 1 100000); do echo "INCR counter"; echo "SET last $i"; done | inC redis-cli -h "$W_OIP" -p $PORT >/dev/null 2>&1) &
LOAD=$!
pids+=($LOAD)
sleep 0.5
inD "$HOP_ROOT/bin/hop" receive --listen "$W_DIP:9000" --token-file "$W/token" --pid-file "$W/dest.pid" -- \
	"$W/kvd2" --port $PORT --bind 0.0.0.0 --dir "$W/data" --fsync no >"$W/recv.log" 2>&1 &
pids+=($!)
for i in $(seq 50); do grep -q listening "$W/recv.log" && break; sleep 0.1; done
inO "$HOP_ROOT/bin/hop" migrate --to "$W_DIP:9000" --token-file "$W/token" --json --forward-for 5 "$KVD" >"$W/move.json" 2>"$W/move.err"
cat "$W/move.json"
grep -q '"committed"' "$W/move.json" || die "upgrade did not commit"
for i in $(seq 100); do [ -s "$W/dest.pid" ] && break; sleep 0.1; done
pids+=($(cat "$W/dest.pid"))
kill "$LOAD" 2>/dev/null
wait "$LOAD" 2>/dev/null
cli2() { inC redis-cli -h "$W_DIP" -p $PORT "$@"; }
for i in $(seq 50); do [ "$(cli2 ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done
[ "$(cli2 ping)" = PONG ] || die "v2 does not answer"
n=$(cli2 dbsize)
[ "$n" = 2003 ] || die "dbsize $n after the upgrade, want 2003"
bad=0
for i in $(seq 1 2000); do echo "GET key:$i"; done | cli2 >"$W/vals"
for i in $(seq 1 2000); do echo "value-$i"; done | cmp -s - "$W/vals" || die "values differ after the upgrade"
c=$(cli2 get counter) l=$(cli2 get last)
[ -n "$c" ] && [ "$c" -ge 1 ] && [ "$c" -ge "$l" ] || die "counter $c / last $l"
[ "$(cli2 lrange list 0 -1 | tr '\n' ' ')" = "a b c " ] || die "list after upgrade"
h=$(cli2 hits key:1)
[ "$h" = 1 ] || die "HITS key:1 = $h after one GET, want 1 (counter from v1 must start at 0)"
cli2 get key:1 >/dev/null
[ "$(cli2 hits key:1)" = 2 ] || die "HITS does not count"
[ "$(cli2 hits key:2000)" = 1 ] || die "HITS key:2000"
echo "ok: kvd v1 -> v2 live under load: 2003 keys equal, counter $c, HITS works"
exit 0
