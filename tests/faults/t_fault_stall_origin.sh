#!/usr/bin/env bash
# A stalled origin (connection open, no bytes), seen from the destination:
# a fake origin authenticates and then goes silent (before HELLO; in the
# middle of the INDEX frame; between DATA frames of a phase). The
# destination's link timeout ends each: it refuses, exits 3 without resuming.
# timeout: 120
. "$(dirname "$0")/flib.sh"
PROG=$(ft_build x86_64) || ft_die build
hop index --binary -o "$FT_DIR/dest.idx" "$PROG" || ft_die "hop index"
for when in before-hello mid-index mid-phase; do
	ft_receive x86_64 "$PROG" HOP_TIMEOUT_MS=1000
	python3 - "$PORT" "$FT_DIR" "$when" <<'PY' &
import os, struct, sys, time
sys.path.insert(0, os.environ["HOP_ROOT"] + "/tests/hostile")
import hopwire as w
port, d, when = sys.argv[1], sys.argv[2], sys.argv[3]
c = w.connect(port)
w.auth_client(c, w.key_of(d + "/token"))
if when != "before-hello":
    c.send_frame("HELLO", w.origin_hello()); c.expect("HELLO_ACK", timeout=30)
    idx = w.frame("INDEX", struct.pack(">Q", 0) + open(d + "/dest.idx", "rb").read())
    if when == "mid-index":
        c.send(idx[:100])
    else:
        c.send(idx); c.expect("INDEX_OK"); c.send_frame("PHASE", w.phase(1, 0, 10, 1000))
time.sleep(30)
PY
	FT_PIDS+=("$!")
	t0=$SECONDS
	for ((i = 0; i < 600; i++)); do ft_alive "$RPID" || break; sleep 0.05; done
	ft_alive "$RPID" && ft_die "$when: the destination waits forever"
	wait "$RPID"
	rc=$?
	[ $rc = 3 ] || ft_die "$when: hop receive exited $rc, want 3"
	grep -q "peer silent" "$DERR" || ft_die "$when: no timeout message"
	grep -q "^OK resumed" "$DOUT" && ft_die "$when: resumed"
	echo "$when: destination gave up after $((SECONDS - t0)) s: $(grep 'peer silent' "$DERR")"
done
echo PASS
