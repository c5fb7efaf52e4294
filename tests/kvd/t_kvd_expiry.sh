#!/usr/bin/env bash
# timeout: 60
# Expiry with short TTLs: lazy (a read after the deadline finds nothing) and
# active (keys nobody reads are reclaimed by the loop's sampling).
. "$(dirname "$0")/lib.sh"
need redis-cli gcc
build_kvd x86_64 "$TMP/kvd"
start_kvd "$TMP/kvd" "$TMP/data"

# TTLs long enough that a loaded machine (each check spawns redis-cli) reads
# before the deadline, short enough to keep the test quick
expect "OK" set short v px 3000
expect "OK" set keep v
expect "1" rpush shortlist a
expect "1" pexpire shortlist 3000
expect "v" get short
expect "1" llen shortlist
sleep 3.2
expect "" get short
expect "0" llen shortlist
expect "-2" ttl short
expect "0" exists short shortlist
# a key recreated after expiry starts afresh
expect "1" incr short
expect "-1" ttl short
# INCR keeps an expiry, SET drops it
expect "OK" set c 10 ex 100
expect "11" incr c
expect "100" ttl c

# active expiry: 2000 keys nobody reads again
for i in $(seq 1 2000); do printf 'SET act:%d x PX 1000\r\n' "$i"; done | cli >/dev/null
n=$(cli dbsize)
[ "$n" -ge 2000 ] || die "dbsize after loading short keys: $n"
sleep 3
expect "3" dbsize
r=$(cli info stats | tr -d '\r' | sed -n 's/^expired_keys://p')
[ "$r" -ge 2002 ] || die "expired_keys = $r, want >= 2002"
cli info keyspace | tr -d '\r' | grep -q '^db0:keys=3,expires=1,' || die "keyspace line: $(cli info keyspace)"
finish
