#!/usr/bin/env bash
# The destination SIGKILLed from outside (not by a fault point) while the
# origin sends its bulk copy: the origin notices the dead link, stops, and
# carries on with its state intact. ~60 MB of state so the bulk lasts.
# timeout: 120
. "$(dirname "$0")/flib.sh"
PROG=$(ft_build x86_64) || ft_die build
export HOP_TIMEOUT_MS=5000
ft_origin x86_64 "$PROG" SC_RECS=300000 SC_NAME_LEN=100
ft_receive x86_64 "$PROG"
ft_kill_dest_when "bulk copy"
ft_expect_aborted
echo "the origin carried on: $(grep -c '^CHECK ok' "$OOUT") self-check(s) passed"
echo PASS
