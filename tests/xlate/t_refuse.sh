#!/usr/bin/env bash
# t_refuse.sh -- every refusal of the translator, with its message: a pointer
# into the stack, into libc's memory, a void * block without a hint (and the
# same with the hint, which must work), a block reached as two incompatible
# types, a 64-bit long that does not fit i686's 32-bit long.
# timeout: 300
set -u
cd "${HOP_ROOT:-$(dirname "$0")/../..}"
HOP=$PWD/bin/hop
[ -x "$HOP" ] || { echo "bin/hop missing: run make"; exit 77; }
command -v qemu-i386 >/dev/null || { echo "qemu-i386 not installed"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$HOP" cc --target x86_64 -o "$T/r" tests/xlate/refuse.c -Isrc/lib || exit 1
"$HOP" cc --target x86_64 -o "$T/rh" tests/xlate/refuse.c -Isrc/lib -DHINTED || exit 1
"$HOP" cc --target i686 -o "$T/r32" tests/xlate/refuse.c -Isrc/lib || exit 1
"$HOP" cc --target s390x -o "$T/rbe" tests/xlate/refuse.c -Isrc/lib -DHINTED || exit 1
fail=0
expect() { # name expected-substring command...
	local name=$1 want=$2
	shift 2
	if "$@" >"$T/out" 2>&1; then
		echo "FAIL $name: succeeded, expected \"$want\""; fail=1; return
	fi
	if grep -qF -- "$want" "$T/out"; then
		echo "ok   $name: $(grep -F -- "$want" "$T/out" | head -1)"
	else
		echo "FAIL $name: message lacks \"$want\":"; sed 's/^/    /' "$T/out"; fail=1
	fi
}
expect stack "sp: points to 0x7" "$T/r" save stack "$T/img"
grep -q "which is not a global, heap block, function or literal" "$T/out" || { echo "FAIL stack wording"; fail=1; }
expect libc "out: points to 0x" "$T/r" save libc "$T/img"
expect void "add HOP_GLOBAL_POINTS_TO(opaque, <type>) to the source" "$T/r" save void "$T/img"
expect twotypes "is reached as struct" "$T/r" save twotypes "$T/img"
grep -q "incompatible" "$T/out" || { echo "FAIL twotypes wording"; fail=1; }
# the hint resolves the void case, across byte order too
if "$T/rh" save void "$T/img" >"$T/out" 2>&1 && qemu-s390x -L /usr/s390x-linux-gnu "$T/rbe" load "$T/img" >>"$T/out" 2>&1; then
	echo "ok   void with HOP_GLOBAL_POINTS_TO: x86_64 -> s390x"
else
	echo "FAIL void with hint:"; sed 's/^/    /' "$T/out"; fail=1
fi
"$T/r" save range "$T/img" >"$T/out" 2>&1 || { echo "FAIL range save"; cat "$T/out"; fail=1; }
expect range "big: value 3000000000 does not fit 32 bits" qemu-i386 -L /usr/i686-linux-gnu "$T/r32" load "$T/img"
exit $fail
