#!/usr/bin/env bash
# The link cut around the switch, in both directions, at the messages the
# engine's own fault test (tests/migrate/t_migrate_faults.sh) leaves out:
# the destination cut after receiving PHASE_END, DIGEST and COMMIT or after
# sending RESUMED; the origin cut after sending COMMIT or after receiving
# RESUMED. Before COMMIT reaches the destination the origin must carry on;
# once the destination has resumed, the origin must never run again.
# timeout: 200
. "$(dirname "$0")/flib.sh"
PROG=$(ft_build x86_64) || ft_die build
export HOP_TIMEOUT_MS=3000

ft_case dest cut-recv:PHASE_END origin
ft_case dest cut-recv:DIGEST origin
# the destination loses the link as COMMIT arrives: it does not resume, so
# the origin (which gets no RESUMED, the link closed) carries on
ft_case dest cut-recv:COMMIT origin
# RESUMED was handed to the kernel, then the link went: the destination runs
ft_case dest cut-send:RESUMED dest
# COMMIT handed to the kernel, then the origin's own link went: the origin
# cannot know whether the destination resumed, so it never runs again
ft_case origin cut-send:COMMIT dest
ft_case origin cut-recv:RESUMED dest
echo PASS
