#!/usr/bin/env bash
# timeout: 240
# kvd on a big-endian 64-bit CPU (s390x) and on a 32-bit one (i686), under
# qemu-user: strings, 64-bit counters at their limits, lists, expiry, and an
# AOF written by the x86_64 build read back by each (the file format is the
# same on every target).
. "$(dirname "$0")/lib.sh"
need redis-cli gcc python3 qemu-s390x qemu-i386 s390x-linux-gnu-gcc i686-linux-gnu-gcc

build_kvd x86_64 "$TMP/kvd-x86_64"
start_kvd "$TMP/kvd-x86_64" "$TMP/shared"
for i in $(seq 1 300); do echo "SET k:$i v$i"; echo "RPUSH list $i"; done | cli >/dev/null
expect "OK" set big 9223372036854775000
expect "9223372036854775001" incr big
stop_kvd

for spec in s390x:qemu-s390x i686:qemu-i386; do
	t=${spec%%:*} q=${spec#*:}
	echo "== $t"
	build_kvd "$t" "$TMP/kvd-$t"
	start_kvd "$TMP/kvd-$t" "$TMP/own-$t" "$q" -L "/usr/$t-linux-gnu"
	cli info server | tr -d '\r' | grep -q "^arch:$t" || die "$t: INFO arch: $(cli info server | grep arch)"
	expect "OK" set a 41
	expect "42" incr a
	expect "-58" incrby a -100
	expect "OK" set max 9223372036854775806
	expect "9223372036854775807" incr max
	expect "ERR increment or decrement would overflow" incr max
	expect "-9223372036854775807" incrby neg -9223372036854775807
	expect "-9223372036854775808" decr neg
	expect "4294967296" incrby wide 4294967296
	expect "4294967297" incr wide
	expect "3" rpush l x y z
	expect "4" lpush l w
	expect "w|x|y|z" lrange l 0 -1
	expect "y|z" lrange l -2 -1
	expect "w" lpop l
	expect "OK" set e v px 300
	r=$(cli pttl e); { [ "$r" -gt 0 ] && [ "$r" -le 300 ]; } || die "$t: pttl = $r"
	sleep 0.5
	expect "" get e
	printf 'a\0b' | cli -x set bin >/dev/null
	expect "3" strlen bin
	# enough keys for a few incremental rehashes
	for i in $(seq 1 3000); do echo "SET r:$i $i"; done | cli >/dev/null
	expect "3000|1500|1" mget r:3000 r:1500 r:1
	expect "3006" dbsize
	stop_kvd
	# the same data back from its own AOF
	start_kvd "$TMP/kvd-$t" "$TMP/own-$t" "$q" -L "/usr/$t-linux-gnu"
	expect "-58|9223372036854775807|4294967297" mget a max wide
	expect "x|y|z" lrange l 0 -1
	expect "3006" dbsize
	stop_kvd
	# the x86_64 build's AOF
	start_kvd "$TMP/kvd-$t" "$TMP/shared" "$q" -L "/usr/$t-linux-gnu"
	expect "302" dbsize
	expect "v300|9223372036854775001" mget k:300 big
	expect "300" llen list
	expect "298|299|300" lrange list -3 -1
	stop_kvd
done
finish
