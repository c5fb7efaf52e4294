#!/usr/bin/env bash
# t_index_bad.sh -- bad input to `hop index` and to the runtime's loader.
#
# Each case must end in one clear line on stderr naming the problem and a
# non-zero exit status below 128 (no crash): a file that is not an ELF, an
# ELF for a machine hop does not know, a stripped binary, a truncated index
# (file named by $HOP_INDEX, and the attached section), a damaged attached
# index, and the index of another target attached to a binary.
# timeout: 300
set -u
ROOT=${HOP_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HOP=$ROOT/bin/hop
DIR=$ROOT/tests/index
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0

# expect_fail DESCRIPTION PHRASE CMD...: CMD fails cleanly saying PHRASE.
expect_fail() {
	local desc=$1 phrase=$2
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	local rc=$? lines
	lines=$(grep -c . "$TMP/err")
	if [ $rc -eq 0 ] || [ $rc -ge 128 ] || [ "$lines" -ne 1 ] || ! grep -qF -- "$phrase" "$TMP/err"; then
		echo "FAIL $desc: exit $rc, $lines line(s) on stderr, wanted \"$phrase\":"
		sed 's/^/    /' "$TMP/err"
		fail=1
	else
		echo "ok   $desc: $(cat "$TMP/err")"
	fi
}

run() { # TARGET EXE: run natively or under qemu
	case $1 in
	x86_64) "$2" ;;
	s390x) qemu-s390x -L /usr/s390x-linux-gnu "$2" ;;
	esac
}

# patch_byte FILE OFFSET: flip the bits of one byte in place
patch_byte() {
	python3 - "$1" "$2" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[off] ^= 0xff
open(p, "wb").write(bytes(b))
PY
}

# section_offset FILE NAME: file offset of a section's contents
section_offset() {
	readelf -W -S "$1" | python3 -c '
import sys
for line in sys.stdin:
    f = line.replace("[ ", "[").split()
    if len(f) > 5 and f[1] == sys.argv[1]:
        print(int(f[4], 16))
        break' "$2"
}

"$HOP" cc --target x86_64 -o "$TMP/small" "$DIR/small.c" || exit 1
"$HOP" cc --target s390x -o "$TMP/small.s390x" "$DIR/small.c" || exit 1
[ "$(run x86_64 "$TMP/small")" = ok ] || { echo "the intact program does not run"; exit 1; }
[ "$(run s390x "$TMP/small.s390x")" = ok ] || { echo "the intact s390x program does not run"; exit 1; }

# ---- hop index on things that are not indexable ----
printf 'hello, I am text\n' >"$TMP/text"
expect_fail "text file" "not an ELF file" "$HOP" index "$TMP/text"
: >"$TMP/empty"
expect_fail "empty file" "not an ELF file" "$HOP" index --json "$TMP/empty"
expect_fail "missing file" "No such file" "$HOP" index "$TMP/nonexistent"
head -c 100 "$TMP/small" >"$TMP/cut"
expect_fail "ELF cut after 100 bytes" "ELF file is truncated" "$HOP" index "$TMP/cut"

cp "$TMP/small" "$TMP/stripped"
strip "$TMP/stripped"
expect_fail "stripped binary" "no DWARF debug info (stripped? build with -g)" "$HOP" index "$TMP/stripped"

# an ELF for a machine that is not a hop target (e_machine := RISC-V)
cp "$TMP/small" "$TMP/riscv"
python3 - "$TMP/riscv" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[18:20] = (243).to_bytes(2, "little")
open(p, "wb").write(bytes(b))
PY
expect_fail "foreign machine" "ELF machine 243 is not a hop target" "$HOP" index "$TMP/riscv"

# ---- truncated index ----
"$HOP" index --binary -o "$TMP/good.idx" "$TMP/small" || exit 1
HOP_INDEX=$TMP/good.idx run x86_64 "$TMP/small" >/dev/null || { echo "FAIL: HOP_INDEX with a good index"; fail=1; }
head -c 40 "$TMP/good.idx" >"$TMP/hdr.idx"
head -c $(($(stat -c %s "$TMP/good.idx") - 7)) "$TMP/good.idx" >"$TMP/trunc.idx"
expect_fail "index file cut inside the header" "truncated header" env HOP_INDEX="$TMP/hdr.idx" "$TMP/small"
expect_fail "index file cut short" "truncated or padded" env HOP_INDEX="$TMP/trunc.idx" "$TMP/small"
expect_fail "hop index on a cut index file" "truncated or padded" "$HOP" index "$TMP/trunc.idx"
expect_fail "HOP_INDEX names no file" "No such file" env HOP_INDEX="$TMP/nonexistent" "$TMP/small"

cp "$TMP/small" "$TMP/small.cut"
objcopy --update-section .hop_index="$TMP/trunc.idx" "$TMP/small.cut"
expect_fail "attached index cut short" "truncated or padded" run x86_64 "$TMP/small.cut"
expect_fail "hop index --attached, cut short" "truncated or padded" "$HOP" index --attached "$TMP/small.cut"

# ---- damaged attached index: one byte flipped in the section body ----
cp "$TMP/small" "$TMP/small.flip"
off=$(section_offset "$TMP/small.flip" .hop_index)
[ -n "$off" ] || { echo "no .hop_index section in $TMP/small"; exit 1; }
patch_byte "$TMP/small.flip" $((off + 100))
expect_fail "attached index, one byte flipped" "checksum mismatch" run x86_64 "$TMP/small.flip"

# ---- the index of another target attached ----
s390x-linux-gnu-objcopy --dump-section .hop_index="$TMP/s390x.idx" "$TMP/small.s390x"
cp "$TMP/small" "$TMP/small.wrong"
objcopy --update-section .hop_index="$TMP/s390x.idx" "$TMP/small.wrong"
expect_fail "s390x index on an x86_64 binary" "attached index is for s390x" run x86_64 "$TMP/small.wrong"
objcopy --dump-section .hop_index="$TMP/x86_64.idx" "$TMP/small"
cp "$TMP/small.s390x" "$TMP/small.s390x.wrong"
s390x-linux-gnu-objcopy --update-section .hop_index="$TMP/x86_64.idx" "$TMP/small.s390x.wrong"
expect_fail "x86_64 index on an s390x binary" "attached index is for x86_64" run s390x "$TMP/small.s390x.wrong"

# ---- usage errors ----
"$HOP" index >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] || { echo "FAIL: hop index without EXE exits $rc, not 2"; fail=1; }

exit $fail
