#!/usr/bin/env bash
# xlate_bench.sh -- build bench/xlate_bench.c as origin and as reordered
# destination (x86_64 both) and print the translator's figures.
#   bash bench/xlate_bench.sh [MiB per structure, default 64]
set -eu
cd "$(dirname "$0")/.."
mb=${1:-64}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
bin/hop cc --target x86_64 -O2 -o "$T/origin" bench/xlate_bench.c -Isrc/lib
bin/hop cc --target x86_64 -O2 -DREORDER -o "$T/dest" bench/xlate_bench.c -Isrc/lib
"$T/origin" save "$T/img" "$mb"
"$T/dest" load "$T/img"
