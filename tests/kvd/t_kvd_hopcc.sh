#!/usr/bin/env bash
# timeout: 240
# kvd built the way its users build it: `hop cc --target T -O2` for all five
# targets, without a warning; the index of each must hold kvd's state (the
# globals kvd and kvd_db, the transfer point `loop`); the x86_64 build and the
# s390x build (under qemu) serve with hop enabled.
. "$(dirname "$0")/lib.sh"
need redis-cli python3 qemu-s390x
HOP=$ROOT/bin/hop
[ -x "$HOP" ] || { echo "skip: bin/hop not built (make all)"; exit 77; }

for t in x86_64 i686 aarch64 s390x powerpc; do
	"$HOP" cc --target "$t" -O2 -o "$TMP/kvd-$t" "$ROOT"/examples/kvd/*.c >"$TMP/cc-$t.log" 2>&1 ||
		{ cat "$TMP/cc-$t.log"; die "hop cc --target $t failed"; }
	if grep -q 'warning' "$TMP/cc-$t.log"; then cat "$TMP/cc-$t.log"; die "hop cc --target $t: warnings"; fi
	"$HOP" index "$TMP/kvd-$t" >"$TMP/index-$t.txt" 2>&1 || die "hop index $t: $(tail -n 3 "$TMP/index-$t.txt")"
	for v in 'kvd  *struct kvd_server' 'kvd_db  *struct kvd_db'; do
		grep -Eq " $v\$" "$TMP/index-$t.txt" || die "$t: index lacks the global '$v'"
	done
	grep -A3 '^points' "$TMP/index-$t.txt" | grep -qw loop || die "$t: index lacks the transfer point loop"
	echo "$t: built and indexed"
done

for spec in x86_64: s390x:qemu-s390x; do
	t=${spec%%:*} q=${spec#*:}
	if [ -n "$q" ]; then
		start_kvd "$TMP/kvd-$t" "$TMP/data-$t" "$q" -L "/usr/$t-linux-gnu"
	else
		start_kvd "$TMP/kvd-$t" "$TMP/data-$t"
	fi
	cli info hop | tr -d '\r' | grep -qx 'hop_enabled:1' || die "$t: hop not enabled: $(cli info hop)"
	expect "0" dbsize
	expect "OK" set k v
	expect "2" rpush l a b
	expect "3" incrby n 3
	expect "v|3" mget k n
	stop_kvd
	echo "$t: serves with hop enabled"
done
finish
