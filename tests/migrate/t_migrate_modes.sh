#!/usr/bin/env bash
# t_migrate_modes.sh -- forced modes on the transition test, natively:
#   mprotect tracker (HOP_TRACK=mprotect), many rounds (tiny downtime target),
#   every page dirty every round (HOP_HARD=1), byte budget spent with
#   --on-budget abort (aborts cleanly, origin intact) and switch (commits, "forced").
# timeout: 240
source "$(dirname "$0")/lib.sh"
src=$HOP_ROOT/tests/migrate/transition/mutate.c
p=$(mt_build x86_64 "$src") || mt_die build
pq=$(mt_build s390x "$src") || mt_die build

echo "== mprotect tracker"
mt_origin x86_64 "$p" HOP_TRACK=mprotect
mt_migrate x86_64 "$p"
mt_expect_committed 1
mt_finish

echo "== many rounds (target 1 us, 12 rounds)"
mt_origin x86_64 "$p"
mt_migrate x86_64 "$p" --max-downtime 0.001 --max-rounds 12
mt_expect_committed 1
r=$(mt_json rounds)
[ "$r" -ge 12 ] || mt_die "expected at least 12 rounds, got $r"
[ "$(mt_json forced)" = true ] || mt_die "budget spent but not reported as forced"
mt_finish

echo "== every page dirty every round (HOP_HARD=1), to s390x"
mt_origin x86_64 "$p" HOP_HARD=1
mt_migrate s390x "$pq" --max-rounds 4
mt_expect_committed 1
mt_finish

echo "== budget spent, --on-budget abort: origin intact, then migrates"
mt_origin x86_64 "$p"
mt_migrate x86_64 "$p" --max-downtime 0.001 --max-rounds 3 --on-budget abort
mt_expect_aborted
echo "$RESULT" | grep -q "budget spent" || mt_die "abort reason missing: $RESULT"
mt_migrate x86_64 "$p"
mt_expect_committed 1
mt_finish
echo "modes ok"
