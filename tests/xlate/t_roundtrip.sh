#!/usr/bin/env bash
# t_roundtrip.sh -- the fixture state (lists, trees, hash table, arrays of
# structs, strings, function tables, interior and literal pointers,
# bit-fields, long double, unions, FAM) translated across all 20 ordered
# pairs of the five targets: each target saves an image once, every other
# target loads it (under qemu), compares digests and checks every value.
# timeout: 600
set -u
cd "${HOP_ROOT:-$(dirname "$0")/../..}"
HOP=$PWD/bin/hop
[ -x "$HOP" ] || { echo "bin/hop missing: run make"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
targets="x86_64 i686 aarch64 s390x powerpc"
declare -A Q=([x86_64]="" [i686]="qemu-i386 -L /usr/i686-linux-gnu" [aarch64]="qemu-aarch64 -L /usr/aarch64-linux-gnu"
	[s390x]="qemu-s390x -L /usr/s390x-linux-gnu" [powerpc]="qemu-ppc -L /usr/powerpc-linux-gnu")
for t in $targets; do
	q=${Q[$t]%% *}
	if [ -n "$q" ] && ! command -v "$q" >/dev/null; then echo "$q not installed"; exit 77; fi
	"$HOP" cc --target "$t" -o "$T/fx_$t" tests/xlate/fixture.c -Isrc/lib -lm || { echo "build for $t failed"; exit 1; }
	${Q[$t]} "$T/fx_$t" save "$T/img_$t" >"$T/save_$t.log" 2>&1 || { echo "save on $t failed:"; cat "$T/save_$t.log"; exit 1; }
done
fail=0
for a in $targets; do
	for b in $targets; do
		[ "$a" = "$b" ] && continue
		if ${Q[$b]} "$T/fx_$b" load "$T/img_$a" >"$T/load.log" 2>&1; then
			echo "ok   $a -> $b"
		else
			echo "FAIL $a -> $b"
			sed 's/^/    /' "$T/load.log" | head -20
			fail=1
		fi
	done
done
exit $fail
