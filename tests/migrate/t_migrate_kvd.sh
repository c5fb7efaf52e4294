#!/usr/bin/env bash
# t_migrate_kvd.sh -- the demo service moved live: kvd (examples/kvd) built
# with `hop cc`, loaded with keys through redis-cli, migrated x86_64 ->
# x86_64 and then x86_64 -> s390x (under qemu); after each move the keys are
# read back through redis-cli from the destination, which serves the same
# port (its listening socket is carried). kvd's `static const` tables
# (cmd_table: function and literal pointers; accept_clients.msg) lie in
# read-only memory: they must not be sent or written, only pointed into.
# timeout: 300
source "$(dirname "$0")/lib.sh"
command -v redis-cli >/dev/null || { echo "redis-cli missing"; exit 77; }
command -v qemu-s390x >/dev/null || { echo "qemu-user missing"; exit 77; }

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
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cli() { timeout 20 redis-cli -p "$port" "$@"; }
k86=$(kbuild x86_64) || mt_die "build kvd x86_64"
k390=$(kbuild s390x) || mt_die "build kvd s390x"
mkdir -p "$MT_DIR/data"

mt_log "kvd x86_64 on port $port"
MT_N=$((MT_N + 1))
OOUT=$MT_DIR/origin$MT_N.out
OERR=$MT_DIR/origin$MT_N.err
"$k86" --port "$port" --dir "$MT_DIR/data" >"$OOUT" 2>"$OERR" &
OPID=$!
MT_PIDS+=("$OPID")
for ((i = 0; i < 200; i++)); do [ "$(cli ping 2>/dev/null)" = PONG ] && break; sleep 0.05; done
[ "$(cli ping)" = PONG ] || mt_die "kvd did not answer PING"

# keys of every kind: strings, counters, lists, keys with an expiry
for ((i = 0; i < 300; i++)); do echo "SET key:$i value-$i-$((i * 7919 % 1000))"; done | cli >/dev/null
for ((i = 0; i < 50; i++)); do echo "RPUSH list:$((i % 5)) item-$i"; done | cli >/dev/null
for ((i = 0; i < 40; i++)); do echo "INCR counter"; done | cli >/dev/null
cli SET temp gone-later EX 3600 >/dev/null
want_size=$(cli DBSIZE)

check_keys() { # where
	local got
	[ "$(cli DBSIZE)" = "$want_size" ] || mt_die "$1: DBSIZE $(cli DBSIZE), want $want_size"
	for i in 0 1 17 150 299; do
		got=$(cli GET "key:$i")
		[ "$got" = "value-$i-$((i * 7919 % 1000))" ] || mt_die "$1: key:$i = '$got'"
	done
	[ "$(cli LLEN list:3)" = 10 ] || mt_die "$1: LLEN list:3 = $(cli LLEN list:3)"
	[ "$(cli LRANGE list:3 -1 -1)" = item-48 ] || mt_die "$1: LRANGE list:3 -1 -1 = $(cli LRANGE list:3 -1 -1)"
	[ "$(cli GET counter)" = 40 ] || mt_die "$1: counter = $(cli GET counter)"
	local ttl
	ttl=$(cli TTL temp)
	[ "$ttl" -gt 3000 ] 2>/dev/null || mt_die "$1: TTL temp = $ttl"
}
check_keys "before"

kmigrate() { # target binary -> migrates $OPID, sets OPID to the destination
	MT_N=$((MT_N + 1))
	DOUT=$MT_DIR/dest$MT_N.out
	DERR=$MT_DIR/dest$MT_N.err
	local pf=$MT_DIR/port$MT_N dp=$MT_DIR/dpid$MT_N
	hop receive --listen 127.0.0.1:0 --port-file "$pf" --pid-file "$dp" --token-file "$MT_DIR/token" -- \
		$(mt_qemu "$1") "$2" --port "$port" --dir "$MT_DIR/data" >"$DOUT" 2>"$DERR" &
	RPID=$!
	MT_PIDS+=("$RPID")
	for ((i = 0; i < 200; i++)); do [ -s "$pf" ] && break; sleep 0.05; done
	[ -s "$pf" ] || mt_die "hop receive did not listen"
	RESULT=$(hop migrate --to 127.0.0.1:"$(cat "$pf")" --token-file "$MT_DIR/token" --json --quiet "$OPID" 2>>"$MT_DIR/migrate.err")
	MRC=$?
	echo "  $RESULT"
	DPID=$(cat "$dp" 2>/dev/null)
	[ -n "$DPID" ] && MT_PIDS+=("$DPID")
	[ "$MRC" = 0 ] && [ "$(mt_json result)" = committed ] || mt_die "kvd to $1 not committed: $RESULT"
	wait "$OPID"
	OPID=$DPID
	OOUT=$DOUT
	OERR=$DERR
}

mt_log "migrate x86_64 -> x86_64"
kmigrate x86_64 "$k86"
check_keys "after x86_64 -> x86_64"
cli SET after:first moved-once >/dev/null
want_size=$((want_size + 1))

mt_log "migrate x86_64 -> s390x"
kmigrate s390x "$k390"
check_keys "after x86_64 -> s390x"
[ "$(cli GET after:first)" = moved-once ] || mt_die "after:first lost"
[ "$(cli INCR counter)" = 41 ] || mt_die "INCR on s390x"
cli INFO hop 2>/dev/null | grep -q "hop_migrations:2" || mt_die "INFO hop: $(cli INFO hop | tr -d '\r' | grep hop_)"
echo "kvd ok"
