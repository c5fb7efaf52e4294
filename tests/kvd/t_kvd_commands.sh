#!/usr/bin/env bash
# timeout: 60
# Every kvd command through redis-cli, with its error replies and
# binary-safe keys and values.
. "$(dirname "$0")/lib.sh"
need redis-cli gcc python3
build_kvd x86_64 "$TMP/kvd"
start_kvd "$TMP/kvd" "$TMP/data"

expect "PONG" ping
expect "hello" ping hello
expect "hi there" echo "hi there"
expect "OK" select 0
expect "ERR DB index is out of range" select 1
expect "0" dbsize

# strings
expect "OK" set k v
expect "v" get k
expect "" get missing
expect "" set k v2 nx
expect "OK" set k v3 xx
expect "" set nope v xx
expect "v3" set k v4 get
expect "v4" get k
expect "OK" set k v5 ex 100
expect "100" ttl k
expect "OK" set k v6 keepttl
expect "100" ttl k
expect "OK" set k v7
expect "-1" ttl k
expect "ERR syntax error" set k v bogus
expect "ERR syntax error" set k v ex 10 px 100
expect "ERR invalid expire time in 'set' command" set k v ex 0
expect "ERR value is not an integer or out of range" set k v ex ten
expect "2" strlen k
expect "string" type k
expect "none" type nothing

# counters
expect "1" incr n
expect "11" incrby n 10
expect "10" decr n
expect "0" decrby n 10
expect "-5" incrby n -5
expect "ERR value is not an integer or out of range" incr k
expect "ERR value is not an integer or out of range" incrby n x
expect "OK" set max 9223372036854775807
expect "ERR increment or decrement would overflow" incr max
expect "OK" set min -9223372036854775808
expect "ERR increment or decrement would overflow" decr min
expect "ERR decrement would overflow" decrby n -9223372036854775808
expect "OK" set lead 007
expect "ERR value is not an integer or out of range" incr lead

# multi-key
expect "OK" mset a 1 b 2 c 3
expect "1|2|3" mget a b c d
expect "|1" mget d a
expect "ERR wrong number of arguments for 'mset' command" mset a 1 b
expect "3" exists a b c d
expect "2" exists a a
expect "2" del a b nope
expect "0" exists a b

# expiry commands
expect "1" expire c 100
expect "100" ttl c
expect "1" pexpire c 5000
r=$(cli pttl c); { [ "$r" -gt 4000 ] && [ "$r" -le 5000 ]; } || { echo "FAIL: pttl c = $r"; FAILS=$((FAILS + 1)); }
expect "1" persist c
expect "-1" ttl c
expect "0" persist c
expect "-2" ttl nothing
expect "-2" pttl nothing
expect "0" expire nothing 10
expect "1" expireat c $(( $(date +%s) + 1000 ))
r=$(cli ttl c); { [ "$r" -gt 990 ] && [ "$r" -le 1000 ]; } || { echo "FAIL: ttl after expireat = $r"; FAILS=$((FAILS + 1)); }
expect "1" pexpireat c 1
expect "0" exists c
expect "ERR value is not an integer or out of range" expire k soon

# lists
expect "3" rpush l b c d
expect "4" lpush l a
expect "6" rpush l e f
expect "6" llen l
expect "a|b|c|d|e|f" lrange l 0 -1
expect "b|c" lrange l 1 2
expect "e|f" lrange l -2 -1
expect "a|b|c|d|e|f" lrange l -100 100
expect "" lrange l 4 2
expect "" lrange l 10 20
expect "" lrange nolist 0 -1
expect "a" lpop l
expect "f" rpop l
expect "b|c" lpop l 2
expect "e|d" rpop l 5
expect "0" exists l
expect "" lpop l
expect "" lpop l 2
expect "0" llen l
cli rpush l2 x >/dev/null
expect "list" type l2
expect "ERR value is out of range, must be positive" lpop l2 -1
expect "ERR value is not an integer or out of range" lrange l2 a 1

# wrong types
W="WRONGTYPE Operation against a key holding the wrong kind of value"
expect "$W" get l2
expect "$W" incr l2
expect "$W" lpush k x
expect "$W" lrange k 0 -1
expect "$W" llen k
expect "$W" set l2 v get
expect "||v7" mget l2 nothing k
expect "OK" set k x
expect "OK" set l2 now-a-string
expect "string" type l2

# errors of form
expect "ERR unknown command 'nosuch', with args beginning with: 'a' 'b' " nosuch a b
expect "ERR wrong number of arguments for 'get' command" get
expect "ERR wrong number of arguments for 'get' command" get a b
expect "ERR wrong number of arguments for 'lrange' command" lrange l 0

# binary-safe keys and values (NUL, CR, LF, high bytes)
printf 'a\0b\r\nc\377' | cli -x set bin >/dev/null
printf 'v\0\r\n' | cli -x set $'key\twith\ttabs' >/dev/null
got=$(cli --no-raw get bin)
[ "$got" = '"a\x00b\r\nc\xff"' ] || { echo "FAIL: binary value read back as $got"; FAILS=$((FAILS + 1)); }
expect "7" strlen bin
got=$(cli --no-raw get $'key\twith\ttabs')
[ "$got" = '"v\x00\r\n"' ] || { echo "FAIL: binary key read back as $got"; FAILS=$((FAILS + 1)); }
printf '\0\0' | cli -x rpush binlist >/dev/null
got=$(cli --no-raw lrange binlist 0 -1)
[ "$got" = '1) "\x00\x00"' ] || { echo "FAIL: binary list element read back as $got"; FAILS=$((FAILS + 1)); }
expect "OK" set empty ""
expect "0" strlen empty
expect "1" exists empty

# server commands
cli info | grep -q '^# Hop' || { echo "FAIL: INFO has no hop section"; FAILS=$((FAILS + 1)); }
for f in redis_version connected_clients hop_migrations hop_last_pause_ms db0:keys; do
	cli info everything | grep -q "^$f" || { echo "FAIL: INFO lacks $f"; FAILS=$((FAILS + 1)); }
done
cli info keyspace | grep -q '^# Server' && { echo "FAIL: INFO keyspace shows the server section"; FAILS=$((FAILS + 1)); }
expect "save||appendonly|yes" config get save appendonly
cli config get '*' | grep -qx maxclients || { echo "FAIL: CONFIG GET * lacks maxclients"; FAILS=$((FAILS + 1)); }
expect "" command docs
r=$(cli command count); [ "$r" -gt 30 ] || { echo "FAIL: COMMAND COUNT = $r"; FAILS=$((FAILS + 1)); }
n=$(cli dbsize)
expect "OK" flushall
expect "0" dbsize
[ "$n" -gt 5 ] || { echo "FAIL: dbsize before flushall was $n"; FAILS=$((FAILS + 1)); }

# inline commands and QUIT over a raw socket
python3 - "$PORT" <<'PY' || FAILS=$((FAILS + 1))
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"SET inl  hello\r\nGET inl\n\r\nPING\r\nQUIT\r\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
want = b"+OK\r\n$5\r\nhello\r\n+PONG\r\n+OK\r\n"
if data != want:
    print("FAIL: inline/QUIT replies", data, "want", want)
    sys.exit(1)
PY
# a protocol error closes the connection with an error
python3 - "$PORT" <<'PY' || FAILS=$((FAILS + 1))
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"*1\r\n+PING\r\n")
data = s.recv(65536)
if not data.startswith(b"-ERR Protocol error: expected '$', got '+'") or s.recv(100) != b"":
    print("FAIL: protocol error reply", data)
    sys.exit(1)
PY
expect "PONG" ping

# --maxclients: the connection over the limit gets an error and is closed
stop_kvd
KVD_FLAGS="--maxclients 2" start_kvd "$TMP/kvd" "$TMP/data"
python3 - "$PORT" <<'PY' || FAILS=$((FAILS + 1))
import socket, sys
port = int(sys.argv[1])
a = socket.create_connection(("127.0.0.1", port))
b = socket.create_connection(("127.0.0.1", port))
for s in (a, b):
    s.sendall(b"PING\r\n")
    if s.recv(100) != b"+PONG\r\n":
        print("FAIL: a client within the limit got no PONG"); sys.exit(1)
c = socket.create_connection(("127.0.0.1", port))
got = c.recv(100)
if got != b"-ERR max number of clients reached\r\n" or c.recv(100) != b"":
    print("FAIL: over the limit:", got); sys.exit(1)
a.close()
PY
sleep 0.3 # the server notices the closed connections
r=$(cli info clients | tr -d '\r' | sed -n 's/^maxclients://p')
[ "$r" = 2 ] || { echo "FAIL: INFO maxclients = $r"; FAILS=$((FAILS + 1)); }
finish
