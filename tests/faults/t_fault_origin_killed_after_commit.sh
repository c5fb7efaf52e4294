#!/usr/bin/env bash
# The origin SIGKILLed after COMMIT (after sending it; after receiving
# RESUMED): the destination has everything, resumes and its state checks
# out; the origin does not run.
# timeout: 60
. "$(dirname "$0")/flib.sh"
PROG=$(ft_build x86_64) || ft_die build
export HOP_TIMEOUT_MS=3000
ft_case origin kill-send:COMMIT dest-only
ft_case origin kill-recv:RESUMED dest-only
echo PASS
