#!/usr/bin/env bash
# t_index_targets.sh -- the index agrees with the compiler, on every target.
#
# Builds the fixture (every type kind the index describes) with `hop cc` for
# all five targets at several -O levels and DWARF versions, runs it (under
# qemu for foreign targets) and requires three views to agree on every fact:
# what the program itself printed (sizeof, offsetof, bit positions, &var),
# what the runtime's loader read from the attached index, and
# `hop index --json`. check_facts.py also checks the JSON form's keys.
# timeout: 600
set -u
ROOT=${HOP_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HOP=$ROOT/bin/hop
DIR=$ROOT/tests/index
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

command -v python3 >/dev/null || { echo "python3 is not installed"; exit 77; }

CONFIGS=("-O0" "-O2" "-O3 -gdwarf-4" "-O1 -gdwarf-5")
fail=0 runs=0
for t in x86_64: i686:qemu-i386 aarch64:qemu-aarch64 s390x:qemu-s390x powerpc:qemu-ppc; do
	T=${t%%:*} Q=${t#*:}
	for c in "${CONFIGS[@]}"; do
		name="$T ${c}"
		exe=$TMP/fixture.$T
		# shellcheck disable=SC2086
		if ! "$HOP" cc --target "$T" -o "$exe" "$DIR/fixture.c" "$DIR/fixture2.c" -I "$ROOT/src/lib" $c \
			>"$TMP/cc.log" 2>&1; then
			echo "FAIL $name: hop cc"; cat "$TMP/cc.log"; fail=1; continue
		fi
		if [ -n "$Q" ]; then
			"$Q" -L "/usr/$T-linux-gnu" "$exe" >"$TMP/out" 2>"$TMP/err"
		else
			"$exe" >"$TMP/out" 2>"$TMP/err"
		fi
		rc=$?
		if [ $rc -ne 0 ]; then
			echo "FAIL $name: fixture exited $rc"; cat "$TMP/err"; fail=1; continue
		fi
		if ! "$HOP" index --json "$exe" >"$TMP/json" 2>"$TMP/err"; then
			echo "FAIL $name: hop index --json"; cat "$TMP/err"; fail=1; continue
		fi
		# the text form must work too (it is for people; just not crash)
		if ! "$HOP" index "$exe" >"$TMP/text" 2>"$TMP/err" || ! grep -q "^target $T:" "$TMP/text"; then
			echo "FAIL $name: hop index (text)"; head -3 "$TMP/text" "$TMP/err"; fail=1; continue
		fi
		if python3 "$DIR/check_facts.py" "$TMP/out" "$TMP/json" >"$TMP/check"; then
			echo "ok   $name: $(tail -n 1 "$TMP/check")"
		else
			echo "FAIL $name:"; cat "$TMP/check"; fail=1
		fi
		runs=$((runs + 1))
	done
done
echo "$runs builds checked"
exit $fail
