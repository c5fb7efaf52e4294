#!/usr/bin/env bash
# t_migrate_kvd.sh -- the demo service moved live between two machines under
# client load: kvd (examples/kvd) built with `hop cc`, loaded with keys
# through redis-cli, moved x86_64 (namespace O) -> x86_64 (D) -> s390x under
# qemu (O) -> x86_64 (D). Machines are network namespaces
# (tests/world/netns.sh), as in scripts/demo.sh: each destination binds the
# same port on its own address while the old origin's relay keeps the
# clients' connections. The clients (tests/upgrade/kvd_moves.sh: two
# counting clients and a redis-cli INCR/SET loop) write through every move
# on their first connection; after each move every counted key holds exactly
# the last value its client saw acknowledged (no write lost or doubled) and
# the clients had 0 errors. The keys are read back from each destination.
# At the end a fresh kvd replays the AOF, appended to by the four processes
# in turn, and must arrive at the same keys.
# kvd's `static const` tables (cmd_table: function and literal pointers;
# accept_clients.msg) lie in read-only memory: they must not be sent or
# written, only pointed into.
# timeout: 300
source "$(dirname "$0")/lib.sh"
command -v redis-cli >/dev/null || { echo "redis-cli missing"; exit 77; }
command -v qemu-s390x >/dev/null || { echo "qemu-user missing"; exit 77; }
. "$HOP_ROOT/tests/world/netns.sh"
. "$HOP_ROOT/tests/upgrade/kvd_moves.sh"
W=$MT_DIR
die() { mt_die "$@"; }

kbuild() { # target -> path
	local out=$MT_BUILD/$1/kvd
	mkdir -p "$MT_BUILD/$1"
	local newest
	newest=$(ls -t "$HOP_ROOT"/examples/kvd/*.[ch] "$HOP_ROOT/build/$1/libhop.a" | head -n 1)
	if [ ! -x "$out" ] || [ "$newest" -nt "$out" ]; then
		hop cc --target "$1" -O2 -o "$out.tmp$$" "$HOP_ROOT"/examples/kvd/*.c >&2 || return 1
		mv "$out.tmp$$" "$out"
	fi
	echo "$out"
}
k86=$(kbuild x86_64) || mt_die "build kvd x86_64"
k390=$(kbuild s390x) || mt_die "build kvd s390x"
world_up || { echo "network namespaces cannot be created here (need root and ip); skipping"; exit 77; }
trap 'kv_cleanup; mt_cleanup; world_down' EXIT
mkdir -p "$MT_DIR/data"
PORT=7379

mt_log "kvd x86_64 in namespace $W_O ($W_OIP)"
ip netns exec "$W_O" "$k86" --port $PORT --bind 0.0.0.0 --dir "$MT_DIR/data" >"$MT_DIR/kvd.log" 2>&1 &
KVD=$! # ip netns exec execs its command: kvd's PID
MT_PIDS+=("$KVD")
cli() { timeout 20 ip netns exec "$W_C" redis-cli -h "$IP" -p $PORT "$@"; }
IP=$W_OIP
for ((i = 0; i < 200; i++)); do [ "$(cli ping 2>/dev/null)" = PONG ] && break; sleep 0.05; done
[ "$(cli ping)" = PONG ] || mt_die "kvd did not answer PING"

# keys of every kind: strings, counters, lists, keys with an expiry
for ((i = 0; i < 300; i++)); do echo "SET key:$i value-$i-$((i * 7919 % 1000))"; done | cli >/dev/null
for ((i = 0; i < 50; i++)); do echo "RPUSH list:$((i % 5)) item-$i"; done | cli >/dev/null
for ((i = 0; i < 40; i++)); do echo "INCR counter"; done | cli >/dev/null
cli SET temp gone-later EX 3600 >/dev/null
want_size=$(($(cli DBSIZE) + 4)) # + the load's keys: ledger1 ledger2 c2 l2
counter=40

check_keys() { # where
	local got
	[ "$(cli DBSIZE)" = "$want_size" ] || mt_die "$1: DBSIZE $(cli DBSIZE), want $want_size"
	for i in 0 1 17 150 299; do
		got=$(cli GET "key:$i")
		[ "$got" = "value-$i-$((i * 7919 % 1000))" ] || mt_die "$1: key:$i = '$got'"
	done
	[ "$(cli LLEN list:3)" = 10 ] || mt_die "$1: LLEN list:3 = $(cli LLEN list:3)"
	[ "$(cli LRANGE list:3 -1 -1)" = item-48 ] || mt_die "$1: LRANGE list:3 -1 -1 = $(cli LRANGE list:3 -1 -1)"
	[ "$(cli GET counter)" = $counter ] || mt_die "$1: counter = $(cli GET counter), want $counter"
	local ttl
	ttl=$(cli TTL temp)
	[ "$ttl" -gt 3000 ] 2>/dev/null || mt_die "$1: TTL temp = $ttl"
}

kv_load_start "$W_OIP"
sleep 0.5
kv_check "before" "$W_OIP"
check_keys "before"

mt_log "move 1: x86_64 -> x86_64"
kv_move 1 "$W_O" "$W_D" "$W_DIP" "$k86" --port $PORT --bind 0.0.0.0 --dir "$MT_DIR/data"
IP=$W_DIP
kv_check "after x86_64 -> x86_64" "$W_DIP"
check_keys "after x86_64 -> x86_64"
cli SET after:first moved-once >/dev/null
want_size=$((want_size + 1))

mt_log "move 2: x86_64 -> s390x (qemu)"
kv_move 2 "$W_D" "$W_O" "$W_OIP" $(mt_qemu s390x) "$k390" --port $PORT --bind 0.0.0.0 --dir "$MT_DIR/data"
IP=$W_OIP
kv_check "after x86_64 -> s390x" "$W_OIP"
check_keys "after x86_64 -> s390x"
[ "$(cli GET after:first)" = moved-once ] || mt_die "after:first lost"
[ "$(cli INCR counter)" = 41 ] || mt_die "INCR on s390x"
counter=41
cli INFO hop 2>/dev/null | grep -q "hop_migrations:2" || mt_die "INFO hop: $(cli INFO hop | tr -d '\r' | grep hop_)"

mt_log "move 3: s390x (qemu) -> x86_64"
kv_move 3 "$W_O" "$W_D" "$W_DIP" "$k86" --port $PORT --bind 0.0.0.0 --dir "$MT_DIR/data"
IP=$W_DIP
kv_check "after s390x -> x86_64" "$W_DIP"
check_keys "after s390x -> x86_64"
cli INFO hop 2>/dev/null | grep -q "hop_migrations:3" || mt_die "INFO hop: $(cli INFO hop | tr -d '\r' | grep hop_)"
kv_load_stop "$W_DIP"
final=$(cli MGET ledger1 ledger2 c2 l2 counter after:first | tr '\n' ' ')

# the AOF was appended to by all four processes in turn: a fresh kvd
# replaying it must arrive at the same keys
mt_log "kvd stopped; a fresh kvd replays the AOF"
kill -TERM "$KVD"
for ((i = 0; i < 200; i++)); do kill -0 "$KVD" 2>/dev/null || break; sleep 0.05; done
ip netns exec "$W_D" "$k86" --port $PORT --bind 0.0.0.0 --dir "$MT_DIR/data" >"$MT_DIR/replay.log" 2>&1 &
MT_PIDS+=($!)
for ((i = 0; i < 200; i++)); do [ "$(cli ping 2>/dev/null)" = PONG ] && break; sleep 0.05; done
[ "$(cli MGET ledger1 ledger2 c2 l2 counter after:first | tr '\n' ' ')" = "$final" ] ||
	mt_die "the AOF replays to $(cli MGET ledger1 ledger2 c2 l2 counter after:first | tr '\n' ' '), the server had $final"
[ "$(cli DBSIZE)" = "$want_size" ] || mt_die "the AOF replays to DBSIZE $(cli DBSIZE), want $want_size"
echo "kvd ok: 3 moves under load, no write lost or doubled, 0 client errors; the AOF replays to the same" \
	"(ledger1 ledger2 c2 l2 counter after:first: $final)"
