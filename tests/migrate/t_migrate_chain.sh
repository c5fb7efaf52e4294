#!/usr/bin/env bash
# t_migrate_chain.sh -- one running program hops through all five targets and
# back to x86_64 (x86_64 -> i686 -> aarch64 -> s390x -> powerpc -> x86_64),
# checking its state after every resume; hop_resumed() counts the hops.
# 40 s on an idle machine; a hop under qemu took 70 s at load 14 (2 cores).
# timeout: 600
source "$(dirname "$0")/lib.sh"
command -v qemu-s390x >/dev/null || { echo "qemu-user missing"; exit 77; }
CHAIN="x86_64 i686 aarch64 s390x powerpc x86_64"
for src in "$HOP_ROOT"/tests/migrate/transition/mutate.c "$HOP_ROOT"/tests/migrate/static/list.c; do
	echo "== $(basename "$src")"
	prev=
	n=0
	for t in $CHAIN; do
		p=$(mt_build "$t" "$src") || mt_die "build $t"
		if [ -z "$prev" ]; then
			mt_origin "$t" "$p" MT_HOPS=5
		else
			n=$((n + 1))
			mt_migrate "$t" "$p" --env MT_HOPS=5
			mt_expect_committed "$n"
		fi
		prev=$t
	done
	mt_finish
done
echo "chain ok"
