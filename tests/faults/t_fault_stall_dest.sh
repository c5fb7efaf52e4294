#!/usr/bin/env bash
# A stalled destination (connection open, no bytes): the origin's link
# timeout ends it.
#  - stalled after FREEZE arrived, with the origin program parked: after
#    --timeout the origin un-parks and carries on, state intact (its pause is
#    bounded by the timeout);
#  - stalled after sending READY (before reading COMMIT): the origin cannot
#    tell a stalled destination from a resumed one whose RESUMED is late, so
#    it never runs again (never two copies); when the destination wakes up it
#    finds COMMIT and resumes: exactly one side runs.
# timeout: 120
. "$(dirname "$0")/flib.sh"
PROG=$(ft_build x86_64) || ft_die build

echo "== destination stalls after FREEZE"
ft_origin x86_64 "$PROG"
ft_receive x86_64 "$PROG" HOP_FAULT=stall-recv:FREEZE
t0=$(date +%s%N)
ft_migrate --timeout 1500
t1=$(date +%s%N)
echo "hop migrate returned after $(((t1 - t0) / 1000000)) ms"
[ "$(ft_json result)" = aborted ] || ft_die "not aborted: $RESULT"
echo "$RESULT" | grep -q "silent for 1500 ms" || ft_die "error does not name the stall: $RESULT"
[ $(((t1 - t0) / 1000000)) -lt 8000 ] || ft_die "the abort took too long"
ft_alive "$OPID" || ft_die "origin died"
ft_check "$OPID" "$OOUT"
kill -9 "$DPID" "$RPID" 2>/dev/null
grep -q "^OK resumed" "$DOUT" && ft_die "stalled destination resumed"

echo "== destination stalls after READY"
ft_origin x86_64 "$PROG"
ft_receive x86_64 "$PROG" HOP_FAULT=stall-send:READY
ft_migrate --timeout 1500
[ "$(ft_json result)" = committed ] || ft_die "want committed (ambiguous: never both): $RESULT"
echo "$RESULT" | grep -q "did not acknowledge" || ft_die "the ambiguity is not reported: $RESULT"
for ((i = 0; i < 100; i++)); do ft_alive "$OPID" || break; sleep 0.05; done
ft_alive "$OPID" && ft_die "the origin still runs after COMMIT"
grep -q "^OK resumed" "$DOUT" && ft_die "the stalled destination resumed before waking"
kill -USR1 "$DPID" # ends the fault point's sleep: the destination wakes up
ft_wait_file "$DOUT" "^OK resumed" 30 || ft_die "woken destination did not resume"
ft_check "$DPID" "$DOUT"
echo PASS
