#!/usr/bin/env bash
# bench/run.sh -- `make bench`: every benchmark, one after the other; each
# prints its figures, and the whole output is kept in
# bench/results/latest.txt. Benchmarks are not tests: the machines are noisy,
# so they print and never fail on a figure.
#   BENCH=name,name runs only those (index memory hash xlate migrate world kvd)
set -u
cd "$(dirname "$0")/.."
mkdir -p bench/results
only=${BENCH:-index,memory,hash,xlate,migrate,world,kvd}
out=bench/results/latest.txt
{
	echo "# hop benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, kernel $(uname -r)"
	for b in index memory hash xlate migrate world kvd; do
		case ",$only," in *",$b,"*) ;; *) continue ;; esac
		echo
		echo "## $b"
		case $b in
		index) bash bench/index_bench.sh ;;
		memory) bash bench/memory.sh ;;
		hash) bash bench/hash_bench.sh ;;
		xlate) bash bench/xlate_bench.sh ;;
		migrate) bash bench/migrate_bench.sh ;;
		world) bash bench/world_bench.sh ;;
		kvd) bash bench/kvd_bench.sh ;;
		esac
	done
} 2>&1 | tee "$out"
