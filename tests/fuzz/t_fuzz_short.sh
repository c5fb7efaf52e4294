#!/usr/bin/env bash
# t_fuzz_short.sh -- 20 seconds of each fuzz target (see run.sh); `make fuzz` runs longer.
# timeout: 240
cd "$(dirname "$0")/../.." && exec bash tests/fuzz/run.sh short
