#!/usr/bin/env bash
# timeout: 120
# Incremental rehash: 100k keys arrive through one pipe (redis-cli --pipe) while
# the table doubles a dozen times; every key must be found, also while a
# rehash is under way, and the table must shrink back when they go.
. "$(dirname "$0")/lib.sh"
need redis-cli gcc awk
build_kvd x86_64 "$TMP/kvd"
start_kvd "$TMP/kvd" "$TMP/data"

gen() { # prefix first last cmd
	awk -v p="$1" -v a="$2" -v b="$3" -v c="$4" 'BEGIN {
		for (i = a; i <= b; i++) {
			k = p i; v = "val-" i
			if (c == "SET")
				printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v
			else
				printf "*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n", length(k), k
		} }'
}
gen key: 1 100000 SET | cli --pipe >"$TMP/pipe.out" 2>&1 || die "redis-cli --pipe: $(cat "$TMP/pipe.out")"
grep -q 'errors: 0, replies: 100000' "$TMP/pipe.out" || die "pipe: $(cat "$TMP/pipe.out")"
expect "100000" dbsize
info() { cli info stats | tr -d '\r' | sed -n "s/^$1://p"; }
[ "$(info ht_rehashes)" -ge 12 ] || die "ht_rehashes = $(info ht_rehashes), want >= 12 (16 -> 131072 buckets)"
size=$(info ht_size)
[ "$size" -ge 131072 ] || die "ht_size = $size"

# every key, read back in batches of 1000 (MGET)
for b in $(seq 0 99); do
	args=()
	for i in $(seq $((b * 1000 + 1)) $((b * 1000 + 1000))); do args+=("key:$i"); done
	cli mget "${args[@]}" >"$TMP/mget.out"
	want=$(printf 'val-%d\n' $(seq $((b * 1000 + 1)) $((b * 1000 + 1000))))
	[ "$(cat "$TMP/mget.out")" = "$want" ] || die "MGET batch $b differs"
done

# grow again by 100k more while reading: lookups must see both tables
gen more: 1 100000 SET | cli --pipe >"$TMP/pipe2.out" 2>&1 &
pipe=$!
misses=0
for i in $(seq 1 300); do
	k=$(( (i * 7919) % 100000 + 1 ))
	[ "$(cli get key:$k)" = "val-$k" ] || misses=$((misses + 1))
done
wait $pipe
[ "$misses" -eq 0 ] || die "$misses keys not found during the second growth"
expect "200000" dbsize
expect "val-77777" get more:77777

# deleting shrinks the table (also incrementally)
gen more: 1 100000 DEL | cli --pipe >/dev/null 2>&1
gen key: 1 99000 DEL | cli --pipe >/dev/null 2>&1
expect "1000" dbsize
sleep 0.5
size=$(info ht_size)
[ "$size" -le 16384 ] || die "ht_size after deleting = $size, want <= 16384"
expect "val-99500" get key:99500
expect "" get key:98999
finish
