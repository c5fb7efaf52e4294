#!/usr/bin/env bash
# t_migrate_faults.sh -- failures before COMMIT leave the origin running with
# its state intact: after each failed attempt the same origin process is
# migrated successfully and the destination checks the state.
#   - the link cut after each protocol message, on either side (HOP_FAULT=cut-*)
#   - the destination killed during bulk, during rounds, before READY
#   - a digest mismatch (either side), the destination out of memory
#   - a stalled destination (timeout), a wrong token
#   - the origin killed right after COMMIT: the destination still resumes
# timeout: 400
source "$(dirname "$0")/lib.sh"
src=$HOP_ROOT/tests/migrate/transition/mutate.c
p=$(mt_build x86_64 "$src") || mt_die build
export HOP_TIMEOUT_MS=3000

# one origin for all the aborts: it must survive every one of them
mt_origin x86_64 "$p"
attempt() { # description, then mt_migrate args
	local what=$1 try
	shift
	echo "== $what"
	for ((try = 1; try <= 3; try++)); do
		mt_migrate x86_64 "$p" "$@"
		# a fault numbered #N needs N such frames: when the scan keeps failing
		# under mutate's churn the bulk runs frozen, with fewer phases, and
		# the point is never reached; that run tested nothing: again, with a
		# new origin (this one moved)
		if [ "$(mt_json result)" = committed ] && ! grep -q "fault .* fires" "$DERR"; then
			echo "   fault point not reached ($RESULT): again with a new origin"
			mt_finish
			mt_origin x86_64 "$p"
			continue
		fi
		mt_expect_aborted
		return
	done
	mt_die "$what: the fault point was not reached in 3 tries"
}
# destination-side faults (the receiving program's env)
for f in cut-recv:HELLO cut-send:HELLO_ACK cut-recv:INDEX cut-send:INDEX_OK cut-recv:PHASE cut-recv:DATA \
	cut-send:PHASE_ACK cut-recv:FREEZE cut-send:READY \
	kill-recv:DATA kill-recv:PHASE#3 kill-recv:PHASE_END#3 digest oom#50; do
	attempt "destination fault $f" --env HOP_FAULT=$f
done
# origin-side faults: a second origin with the fault armed, each fires once
for f in cut-send:HELLO cut-recv:HELLO_ACK cut-send:INDEX cut-recv:INDEX_OK cut-send:PHASE cut-send:DATA \
	cut-send:PHASE_END cut-recv:PHASE_ACK cut-send:FREEZE cut-send:DIGEST cut-recv:READY digest; do
	o_save=$OPID o_out=$OOUT
	mt_origin x86_64 "$p" HOP_FAULT=$f
	attempt "origin fault $f"
	# the fault fired; this origin is intact too and migrates now
	mt_migrate x86_64 "$p"
	mt_expect_committed 1
	mt_finish
	OPID=$o_save OOUT=$o_out
done

echo "== stalled destination (stall-recv:INDEX): the origin's link timeout ends it"
mt_migrate x86_64 "$p" --env HOP_FAULT=stall-recv:INDEX --timeout 1500
mt_expect_aborted

echo "== wrong token: refused before anything moves"
good=$MT_DIR/token
head -c 32 /dev/urandom | base64 >"$MT_DIR/bad"
chmod 600 "$MT_DIR/bad"
MT_DIR_TOKEN_SAVE=$good
cp "$good" "$MT_DIR/good"
cp "$MT_DIR/bad" "$good"
pf=$MT_DIR/portbad
hop receive --listen 127.0.0.1:0 --port-file "$pf" --token-file "$MT_DIR/good" -- /bin/false >"$MT_DIR/badrecv.out" 2>&1 &
bad_rpid=$!
MT_PIDS+=("$bad_rpid")
for ((i = 0; i < 100; i++)); do [ -s "$pf" ] && break; sleep 0.05; done
RESULT=$(hop migrate --to 127.0.0.1:"$(cat "$pf")" --token-file "$good" --json --quiet "$OPID" 2>/dev/null)
echo "  $RESULT"
echo "$RESULT" | grep -q '"result": "aborted"' && echo "$RESULT" | grep -q "token" || mt_die "wrong token not refused: $RESULT"
kill -0 "$bad_rpid" || mt_die "hop receive should keep listening after a failed peer"
grep -q "refused" "$MT_DIR/badrecv.out" || mt_die "hop receive did not report the refused peer"
kill "$bad_rpid"
cp "$MT_DIR/good" "$good"

echo "== after all that, the first origin migrates and its state checks out"
mt_migrate x86_64 "$p"
mt_expect_committed 1
mt_finish

echo "== origin killed right after sending COMMIT: the destination still resumes"
mt_origin x86_64 "$p" HOP_FAULT=kill-send:COMMIT
mt_migrate x86_64 "$p"
mt_wait_file "$DOUT" "^OK resumed=1" 30 || mt_die "destination did not resume after COMMIT"
mt_finish
echo "faults ok"
