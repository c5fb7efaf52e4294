#!/usr/bin/env bash
# t_reuse.sh -- reuse.c migrated while its blocks come back at addresses the
# destination already knows, resized in place or as another type: x86_64 ->
# x86_64 and x86_64 -> i686 (where the resized struct crosses a size class of
# the destination's allocator), REUSE_RUNS times each (default 3). Before the
# fix (the origin now drops a block it finds resized in place first thing in
# the next phase, like a freed one), a pointer translated before the block's
# new version kept naming the old one: "state digests differ" most runs.
# timeout: 400
source "$(dirname "$0")/../migrate/lib.sh"
PAIRS=${REUSE_PAIRS:-"x86_64:x86_64 x86_64:i686"}
RUNS=${REUSE_RUNS:-3}
fails=0
for pair in $PAIRS; do
	a=${pair%:*} b=${pair#*:}
	if [ "$b" != x86_64 ] || [ "$a" != x86_64 ]; then
		command -v "$(mt_qemu "$b" | cut -d' ' -f1)" >/dev/null || { echo "skip $pair: no qemu-user"; continue; }
	fi
	for ((r = 1; r <= RUNS; r++)); do
		if (
			pa=$(mt_build "$a" "$HOP_ROOT/tests/digest/reuse.c") && pb=$(mt_build "$b" "$HOP_ROOT/tests/digest/reuse.c") ||
				mt_die build
			mt_origin "$a" "$pa"
			sleep 0.3 # let it reach a steady churn
			mt_migrate "$b" "$pb"
			mt_expect_committed 1
			mt_finish
		) >"$MT_DIR/case.log" 2>&1; then
			echo "ok   $a->$b run $r  $(grep -o '"rounds": [0-9]*' "$MT_DIR/case.log")"
		else
			echo "FAIL $a->$b run $r"
			sed 's/^/    /' "$MT_DIR/case.log" | tail -n 20
			fails=$((fails + 1))
		fi
	done
done
echo "$fails failure(s)"
[ $fails = 0 ]
