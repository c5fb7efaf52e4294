#!/usr/bin/env bash
# The destination SIGKILLed after COMMIT reached it:
#  - right after receiving COMMIT (before RESUMED): the origin sees the link
#    close without RESUMED and carries on: exactly one side runs (the origin);
#  - right after sending RESUMED: the origin has RESUMED and exits; the
#    destination died after COMMIT, so nothing runs: the one case the
#    invariant allows (reported as such in docs/reliability.md).
# timeout: 60
. "$(dirname "$0")/flib.sh"
PROG=$(ft_build x86_64) || ft_die build
export HOP_TIMEOUT_MS=3000
ft_case dest kill-recv:COMMIT origin
ft_case dest kill-send:RESUMED none
echo PASS
