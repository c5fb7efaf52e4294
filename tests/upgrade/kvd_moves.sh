# kvd_moves.sh -- kvd moved live between network namespaces under client
# load, with the no-lost-write check after every move. Sourced by
# tests/upgrade/t_upgrade_kvd.sh and tests/migrate/t_migrate_kvd.sh after
# world_up (tests/world/netns.sh); they define die() and set W (a work
# directory holding `token`), PORT and HOP_RUN_DIR.
#
# The load, in the clients' namespace, kept through every move on its first
# connection (relayed by the old origins):
#  - counting clients (counter_client.py: INCR KEY one request at a time,
#    remembering the last value acknowledged), keys "ledger1" and "ledger2";
#    ledger2's client sends each request in two halves 1 ms apart, so a move
#    often finds half a request read into kvd's buffer;
#  - a redis-cli loop: INCR c2, SET l2 i (the shape of a real client's
#    writes; SET l2 i only after INCR c2 returned i).
# kv_check pauses the counting clients (nothing in flight) and requires each
# key to hold exactly the last value its client saw acknowledged (below: a
# lost write; above: a write applied twice), 0 client errors, and
# l2 <= c2 <= l2 + 1 read atomically (MGET).
KV_KEYS="ledger1 ledger2"
KV_CL=()
KV_LOADPG=
KV_MOVED_PIDS=()

kv_cli() { # ip args...
	ip netns exec "$W_C" redis-cli -h "$1" -p "$PORT" "${@:2}"
}

kv_state() { # key field
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$W/state.$1" "$2"
}

kv_load_start() { # ip
	local k i
	for k in $KV_KEYS; do
		# ip netns exec directly: a backgrounded shell function would give a subshell's PID
		ip netns exec "$W_C" python3 "$HOP_ROOT/tests/upgrade/counter_client.py" "$1" "$PORT" $k "$W/state.$k" \
			$([ $k = ledger2 ] && echo split) 2>"$W/client.$k.err" &
		KV_CL+=($!)
	done
	for k in $KV_KEYS; do
		for i in $(seq 100); do [ -e "$W/state.$k.started" ] && break; sleep 0.05; done
		[ -e "$W/state.$k.started" ] || die "counting client $k did not start: $(cat "$W/client.$k.err")"
	done
	# a process group of its own, so that the whole pipeline stops
	setsid bash -c 'for i in $(seq 1 1000000); do echo "INCR c2"; echo "SET l2 $i"; done |
		ip netns exec "$0" redis-cli -h "$1" -p "$2" >/dev/null 2>&1' "$W_C" "$1" "$PORT" &
	KV_LOADPG=$!
}

kv_check() { # where ip
	local k c last p i pair
	for p in "${KV_CL[@]}"; do kill -USR1 "$p"; done
	for k in $KV_KEYS; do
		for i in $(seq 400); do [ -s "$W/state.$k" ] && break; sleep 0.025; done
		[ -s "$W/state.$k" ] || die "$1: counting client $k does not answer: $(cat "$W/client.$k.err")"
		[ "$(kv_state $k errors)" = 0 ] || die "$1: client $k had an error: $(kv_state $k error)"
		last=$(kv_state $k last)
		c=$(kv_cli "$2" get $k)
		[ -n "$c" ] && [ "$c" = "$last" ] ||
			die "$1: $k = '$c' on the server, but the client's last acknowledged INCR returned $last (lost or doubled writes)"
		[ "$(kv_state $k ok)" = "$last" ] || die "$1: client $k got $(kv_state $k ok) replies, last value $last"
		echo "  $1: $k = $c, the last value acknowledged"
	done
	pair=($(kv_cli "$2" mget c2 l2))
	[ ${#pair[@]} = 2 ] && [ "${pair[0]}" -ge "${pair[1]}" ] && [ "${pair[0]}" -le $((pair[1] + 1)) ] ||
		die "$1: redis-cli loop: c2 = ${pair[0]:-}, l2 = ${pair[1]:-} (want l2 <= c2 <= l2 + 1)"
	for k in $KV_KEYS; do rm -f "$W/state.$k"; done
	for p in "${KV_CL[@]}"; do kill -USR2 "$p"; done
}

# Stop the load; the keys must hold what the clients saw last.
kv_load_stop() { # ip
	local k p
	[ -n "$KV_LOADPG" ] && kill -9 -- "-$KV_LOADPG" 2>/dev/null
	KV_LOADPG=
	for p in "${KV_CL[@]}"; do kill -TERM "$p"; done
	for p in "${KV_CL[@]}"; do wait "$p" 2>/dev/null; done
	KV_CL=()
	for k in $KV_KEYS; do
		[ "$(kv_cli "$1" get $k)" = "$(kv_state $k last)" ] && [ "$(kv_state $k errors)" = 0 ] ||
			die "at the end: $k = $(kv_cli "$1" get $k), client: $(cat "$W/state.$k")"
	done
}

# Move the kvd of PID $KVD from namespace FROM to TO (hop receive running
# CMD there); KVD becomes the destination's PID. --forward-for 0: the relay
# frees the old port at once, so a later move may come back.
kv_move() { # n from-ns to-ns to-ip cmd...
	local n=$1 from=$2 to=$3 ip=$4 i
	shift 4
	ip netns exec "$to" "$HOP_ROOT/bin/hop" receive --listen "$ip:9000" --token-file "$W/token" \
		--pid-file "$W/dest$n.pid" -- "$@" >"$W/recv$n.log" 2>&1 &
	KV_MOVED_PIDS+=($!)
	for i in $(seq 100); do grep -q listening "$W/recv$n.log" && break; sleep 0.1; done
	ip netns exec "$from" "$HOP_ROOT/bin/hop" migrate --to "$ip:9000" --token-file "$W/token" --json \
		--forward-for 0 --relay-pid-file "$W/relay$n.pid" "$KVD" >"$W/move$n.json" 2>"$W/move$n.err"
	echo "  move $n: $(cat "$W/move$n.json")"
	grep -q '"committed"' "$W/move$n.json" || die "move $n did not commit"
	for i in $(seq 100); do [ -s "$W/dest$n.pid" ] && break; sleep 0.1; done
	KVD=$(cat "$W/dest$n.pid")
	KV_MOVED_PIDS+=($KVD)
	[ -s "$W/relay$n.pid" ] && KV_MOVED_PIDS+=($(cat "$W/relay$n.pid"))
	# forwarding is over: the relay no longer listens on the old port
	for i in $(seq 50); do ip netns exec "$from" ss -Hltn "sport = :$PORT" | grep -q . || break; sleep 0.1; done
	for i in $(seq 100); do [ "$(kv_cli "$ip" ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done
}

kv_cleanup() {
	local p
	[ -n "$KV_LOADPG" ] && kill -9 -- "-$KV_LOADPG" 2>/dev/null
	for p in "${KV_CL[@]}" "${KV_MOVED_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	return 0
}
