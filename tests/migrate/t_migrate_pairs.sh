#!/usr/bin/env bash
# t_migrate_pairs.sh -- every static and transition test migrated across
# target pairs: x86_64 -> x86_64, and each foreign target (under qemu-user)
# in both directions with x86_64. Real processes, real TCP on loopback.
# timeout: 420
source "$(dirname "$0")/lib.sh"
command -v qemu-s390x >/dev/null || { echo "qemu-user missing"; exit 77; }
TESTS_SRC=("$HOP_ROOT"/tests/migrate/static/*.c "$HOP_ROOT"/tests/migrate/transition/*.c)
PAIRS="x86_64:x86_64 x86_64:i686 i686:x86_64 x86_64:aarch64 aarch64:x86_64 x86_64:s390x s390x:x86_64 x86_64:powerpc powerpc:x86_64"
[ -n "${MT_PAIRS:-}" ] && PAIRS=$MT_PAIRS
# Cases that fail today, with the reason; KNOWN_FAILING=run runs them.
declare -A KNOWN_BAD=()
fails=0
for src in "${TESTS_SRC[@]}"; do
	for pair in $PAIRS; do
		a=${pair%:*} b=${pair#*:}
		name="$(basename "$(dirname "$src")")/$(basename "$src" .c) $a->$b"
		why=${KNOWN_BAD[$name]:-}
		if [ -n "$why" ] && [ "${KNOWN_FAILING:-}" != run ]; then
			echo "skip $name (known failure: $why)"
			continue
		fi
		if (
			pa=$(mt_build "$a" "$src") && pb=$(mt_build "$b" "$src") || mt_die "build"
			mt_origin "$a" "$pa"
			mt_migrate "$b" "$pb"
			mt_expect_committed 1
			mt_finish
		) >"$MT_DIR/case.log" 2>&1; then
			echo "ok   $name  $(grep -o '"downtime_us": [0-9]*' "$MT_DIR/case.log")"
		else
			echo "FAIL $name"
			sed 's/^/    /' "$MT_DIR/case.log" | tail -n 25
			fails=$((fails + 1))
		fi
	done
done
echo "$fails failure(s)"
[ $fails = 0 ]
