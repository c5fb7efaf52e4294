#!/usr/bin/env bash
# index_bench.sh -- how fast `hop index` reads a large program's DWARF.
#
# Generates (bench/gen_big.py) a C program with >= 10,000 globals and >= 2,000
# struct types spread over several compilation units, builds it with gcc -g,
# and times `hop index` (text and --json) and the binary encoding. Prints
# the figures; the target is under 1 s. Not a test.
#   usage: bench/index_bench.sh [NGLOBALS] [NSTRUCTS] [NFILES]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOP=$ROOT/bin/hop
NG=${1:-10000} NS=${2:-2000} NF=${3:-8}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

srcs=$(python3 "$ROOT/bench/gen_big.py" "$TMP/src" "$NG" "$NS" "$NF")
( cd "$TMP/src" && gcc -g -O1 -o "$TMP/big" $srcs ) >"$TMP/cc.log" 2>&1 || { head -20 "$TMP/cc.log"; exit 1; }
[ "$("$TMP/big")" != "" ]

best() { # best of 3 wall times in seconds, of "$@" with stdout to /dev/null
	local b=
	for _ in 1 2 3; do
		local s e
		s=$(date +%s.%N)
		"$@" >/dev/null
		e=$(date +%s.%N)
		b=$(python3 -c "import sys; t=$e-$s; b='$b'; print(min(t, float(b)) if b else t)")
	done
	printf '%.3f' "$b"
}

"$HOP" index --json "$TMP/big" >"$TMP/big.json"
read -r nt nstruct nv nf < <(python3 -c "
import json; d = json.load(open('$TMP/big.json'))
print(len(d['types']), sum(t['kind'] == 'struct' for t in d['types']), len(d['variables']), len(d['functions']))")
"$HOP" index --binary -o "$TMP/big.idx" "$TMP/big"

dbg=$(readelf -W -S "$TMP/big" | sed 's/\[ */[/' | awk '$2 == ".debug_info" { print $6 }')
echo "program: $NG globals, $NS struct types in $NF+1 units; ELF $(stat -c %s "$TMP/big") bytes," \
	".debug_info $((16#${dbg:-0})) bytes"
echo "index:   $nt types ($nstruct structs), $nv variables, $nf functions; binary $(stat -c %s "$TMP/big.idx") bytes"
echo "hop index (text)     $(best "$HOP" index "$TMP/big") s"
echo "hop index --json     $(best "$HOP" index --json "$TMP/big") s"
echo "hop index --binary   $(best "$HOP" index --binary -o "$TMP/out.idx" "$TMP/big") s"
echo "decode binary index  $(best "$HOP" index "$TMP/big.idx") s   (runtime loader's decoder + text print)"
