#!/usr/bin/env bash
# The destination out of memory while it allocates the origin's blocks, by a
# hard address-space limit (prlimit --as) on the destination process rather
# than a fault point (tests/migrate/t_migrate_faults.sh covers HOP_FAULT=oom):
# the origin has ~60 MB of heap, the destination may map 48 MB in all. The
# destination must fail cleanly (no crash, no resume), the origin carry on.
# timeout: 120
. "$(dirname "$0")/flib.sh"
command -v prlimit >/dev/null || ft_skip "no prlimit"
PROG=$(ft_build x86_64) || ft_die build
export HOP_TIMEOUT_MS=5000
ft_origin x86_64 "$PROG" SC_RECS=300000 SC_NAME_LEN=100
LIMIT=$((48 << 20))
MT_N=$((MT_N + 1))
DOUT=$FT_DIR/dest$MT_N.out DERR=$FT_DIR/dest$MT_N.err DPIDF=$FT_DIR/dpid$MT_N
hop receive --listen 127.0.0.1:0 --port-file "$FT_DIR/port.oom" --pid-file "$DPIDF" --token-file "$FT_DIR/token" \
	-- prlimit --as=$LIMIT -- "$PROG" >"$DOUT" 2>"$DERR" &
RPID=$!
FT_PIDS+=("$RPID")
ft_wait_file "$FT_DIR/port.oom" . 10 || ft_die "no receiver"
PORT=$(cat "$FT_DIR/port.oom")
ft_migrate
ft_expect_aborted
echo "hop receive exited $RRC; the destination said: $(grep -v '^hop receive' "$DERR" | tail -n 2 | tr '\n' ' ')"
[ "$RRC" -lt 128 ] || ft_die "the destination was killed by signal $((RRC - 128)) instead of failing cleanly"
echo PASS
