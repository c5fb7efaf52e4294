#!/usr/bin/env bash
# The destination SIGKILLed from outside during the delta rounds (a 1 us
# downtime target keeps the rounds going while the program writes): the
# origin stops tracking, carries on, and its state checks out.
# timeout: 120
. "$(dirname "$0")/flib.sh"
PROG=$(ft_build x86_64) || ft_die build
export HOP_TIMEOUT_MS=5000
ft_origin x86_64 "$PROG" SC_RECS=20000 SC_TOUCH=200 SC_SLEEP_US=200
ft_receive x86_64 "$PROG"
ft_kill_dest_when "delta rounds" --max-downtime 0.001 --max-rounds 100000
ft_expect_aborted
echo "rounds before the kill: $(echo "$RESULT" | sed -n 's/.*"rounds": \([0-9]*\).*/\1/p')"
echo PASS
