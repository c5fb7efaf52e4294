#!/usr/bin/env bash
# The destination SIGKILLed right after sending READY, before COMMIT: the
# origin (COMMIT sent or not) sees the link close without RESUMED and
# carries on with its state intact; nothing runs twice.
# timeout: 60
. "$(dirname "$0")/flib.sh"
PROG=$(ft_build x86_64) || ft_die build
export HOP_TIMEOUT_MS=3000
ft_case dest kill-send:READY origin
ft_case dest kill-recv:DIGEST origin
echo PASS
