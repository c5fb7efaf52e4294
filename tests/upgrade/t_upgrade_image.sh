#!/usr/bin/env bash
# t_upgrade_image.sh -- upgrades through an image file (docs/upgrade.md):
# tests/upgrade/prog.c v1 saves its state, v2 (-DV2: members reordered, added,
# removed, widened, narrowed, renamed, converted by hooks; globals renamed,
# removed, added; a point renamed) loads it, the digests agree and v2 checks
# every value. Same machine and across machines (x86_64 -> aarch64 under
# qemu, s390x big-endian -> x86_64). Then the refusals, each by name: a value
# that does not fit the narrowed member, an incompatible member without a
# hook; and `hop check` for each pair (output and exit status).
# timeout: 300
set -u
cd "${HOP_ROOT:-$(dirname "$0")/../..}"
HOP=$PWD/bin/hop
[ -x "$HOP" ] || { echo "bin/hop missing: run make"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
declare -A Q=([x86_64]="" [aarch64]="qemu-aarch64 -L /usr/aarch64-linux-gnu" [s390x]="qemu-s390x -L /usr/s390x-linux-gnu")
for q in qemu-aarch64 qemu-s390x; do command -v $q >/dev/null || { echo "$q not installed"; exit 77; }; done
fail=0
bad() { echo "FAIL: $*"; fail=1; }
build() { # target name flags...
	local t=$1 n=$2
	shift 2
	"$HOP" cc --target "$t" -o "$T/${n}_$t" tests/upgrade/prog.c -Isrc/lib -Itests/migrate "$@" >"$T/cc.log" 2>&1 ||
		{ cat "$T/cc.log"; echo "build $n for $t failed"; exit 1; }
}
for t in x86_64 aarch64 s390x; do build $t v1; done
for t in x86_64 aarch64; do build $t v2 -DV2; done
build x86_64 v2nohook -DV2 -DV2_NOHOOK
build x86_64 v2nopoint -DV2 -DV2_NOPOINT

# ---- upgrades that succeed, with every value checked --------------------------
for pair in x86_64:x86_64 x86_64:aarch64 s390x:x86_64; do
	a=${pair%%:*} b=${pair#*:}
	${Q[$a]} "$T/v1_$a" save "$T/img_$a" >"$T/save.log" 2>&1 || { cat "$T/save.log"; bad "v1 save on $a"; continue; }
	if ${Q[$b]} "$T/v2_$b" load "$T/img_$a" >"$T/load.log" 2>&1 && grep -q "^digest equal" "$T/load.log" &&
		grep -q "^OK values" "$T/load.log"; then
		echo "ok   v1 $a -> v2 $b: digest equal, values checked"
	else
		bad "v1 $a -> v2 $b"; sed 's/^/    /' "$T/load.log"
	fi
done

# ---- refusals, each naming what -----------------------------------------------
expect_refused() { # what log pattern
	if grep -q "^REFUSED" "$2" && grep -q -- "$3" "$2"; then echo "ok   refused: $1"; else bad "$1 not refused as expected"; sed 's/^/    /' "$2"; fi
}
"$T/v1_x86_64" save "$T/img_big" big >/dev/null 2>&1 || bad "v1 save big"
"$T/v2_x86_64" load "$T/img_big" >"$T/big.log" 2>&1
[ $? = 3 ] || bad "narrowing overflow: exit status"
expect_refused "narrowed member overflow" "$T/big.log" "HOP_ERANGE.*->big: value 1099511627776 does not fit 32 bits"
${Q[aarch64]} "$T/v2_aarch64" load "$T/img_big" >"$T/big2.log" 2>&1
expect_refused "narrowed member overflow (aarch64)" "$T/big2.log" "->big: value 1099511627776 does not fit"
"$T/v2nohook_x86_64" load "$T/img_x86_64" >"$T/nohook.log" 2>&1
[ $? = 3 ] || bad "incompatible without hook: exit status"
expect_refused "incompatible member without hook" "$T/nohook.log" "struct conf.mode: its type changed from char \[8\] to int; convert it with HOP_UPGRADE(struct conf, fn)"

# ---- hop check ------------------------------------------------------------------
check() { # name old new want-status patterns...
	local n=$1 o=$2 nw=$3 want=$4
	shift 4
	"$HOP" check "$o" "$nw" >"$T/check.log" 2>&1
	local rc=$?
	[ $rc = "$want" ] || { bad "hop check $n: exit $rc, want $want"; cat "$T/check.log"; return; }
	for p in "$@"; do grep -q -- "$p" "$T/check.log" || { bad "hop check $n: no line matching '$p'"; cat "$T/check.log"; return; }; done
	echo "ok   hop check $n: exit $rc"
}
check "v1 -> v2" "$T/v1_x86_64" "$T/v2_x86_64" 0 \
	"^struct entry" "hits .*widened .*int -> long long" "big .*narrowed .*long -> int, each value must fit" \
	"code (was legacy_code) .*renamed" "+ flags_new .*added" "+ score .*added" "- obsolete .*removed" \
	"next .*reordered" "upgrade hook: upgrade_entry()" "mode .*converted .*char \[8\] -> int" \
	"+ new_global .*added .*initial value" "total (was counter) .*renamed" "- removed_global .*removed" \
	"aux2 (was aux) .*renamed" "0 refused" "upgrade: can succeed"
check "v1 x86_64 -> v2 aarch64" "$T/v1_x86_64" "$T/v2_aarch64" 0 "aarch64" "hits .*widened" "upgrade: can succeed"
check "v1 -> v1 (no upgrade)" "$T/v1_x86_64" "$T/v1_x86_64" 0 " 0 changes, 0 refused"
check "v1 -> v2 without hook" "$T/v1_x86_64" "$T/v2nohook_x86_64" 1 \
	"! mode .*REFUSED .*char \[8\] -> int: add HOP_UPGRADE(struct conf, fn)" "upgrade: REFUSED"
check "v1 -> v2 without point" "$T/v1_x86_64" "$T/v2nopoint_x86_64" 1 \
	"! aux .*REFUSED, removed .*HOP_POINT_RENAMED(<new point>, aux)" "upgrade: REFUSED"
"$HOP" check "$T/v1_x86_64" >/dev/null 2>&1
[ $? = 2 ] || bad "hop check with one argument should exit 2"
exit $fail
