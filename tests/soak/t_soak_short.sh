#!/usr/bin/env bash
# t_soak_short.sh -- the soak (scripts/soak.sh) cut to 10 migrations: two laps
# around the five targets with the state checked after every resume, no
# failure and no memory growth. `make soak` runs 100.
# timeout: 400
cd "$(dirname "$0")/../.." && exec bash scripts/soak.sh "${SOAK_SHORT_N:-10}"
