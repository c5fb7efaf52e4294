#!/usr/bin/env bash
# Before authentication `hop receive` reads one bounded handshake and nothing
# else. Each malformed or hostile opening is refused with a clear line in its
# log, the connection is closed, nothing is launched, the receiver keeps
# listening and its memory does not grow; at the end a real client still gets
# in. Cases: bad magic, wrong wire version, truncated header, truncated
# payload, a length of 4 GiB, a length of 60 MiB (under the frame limit, over
# the handshake's), a CRC mismatch, frames out of order (AUTH_PROOF first, a
# runtime HELLO first, a second AUTH_HELLO instead of the proof), a wrong
# handshake version, a silent peer and a peer that stops mid-frame (the 5 s
# handshake timeout ends both), and 200 garbage connections in a row.
# timeout: 120
. "$(dirname "$0")/../faults/flib.sh"
ft_door
rss0=$(ft_rss_kb "$RPID")
python3 - "$PORT" "$DERR" "$RPID" <<'PY' || ft_die "a hostile opening was not handled"
import os, struct, sys, time, zlib
sys.path.insert(0, os.environ["HOP_ROOT"] + "/tests/hostile")
import hopwire as w
port, log, rpid = sys.argv[1], sys.argv[2], int(sys.argv[3])

def logged(pattern, before, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = open(log).read()[before:]
        if pattern in text:
            return text
        time.sleep(0.05)
    raise SystemExit("receiver did not log '%s'; log: %s" % (pattern, open(log).read()[before:]))

def case(name, data, expect, close=False, wait_close=8):
    before = len(open(log).read())
    t0 = time.time()
    c = w.connect(port)
    if data:
        c.send(data)
    if close:
        c.s.shutdown(1)
    closed = c.closed_within(wait_close)
    c.close()
    if not closed:
        raise SystemExit("%s: connection left open" % name)
    line = logged(expect, before)
    print("%-28s refused in %.2fs: %s" % (name, time.time() - t0, line.strip().splitlines()[-1]))
    os.kill(rpid, 0)

nc = os.urandom(32)
hello = w.frame("AUTH_HELLO", w.hello_payload(nc))
case("bad magic", w.frame("AUTH_HELLO", w.hello_payload(nc), magic=0x47455420), "bad magic")
case("HTTP request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "bad magic")
case("wire version 7", w.frame("AUTH_HELLO", w.hello_payload(nc), version=7), "wire version 7")
case("truncated header", hello[:9], "closed by peer", close=True)
case("truncated payload", hello[:30], "in the middle of a frame", close=True)
case("length 4 GiB", hello[:8] + struct.pack(">I", 0xFFFFFFF0) + hello[12:16], "exceeds the bound 41")
case("length 60 MiB", hello[:8] + struct.pack(">I", 60 << 20) + hello[12:16] + b"x" * 4096, "exceeds the bound 41")
case("CRC mismatch", hello[:-1] + bytes([hello[-1] ^ 1]), "CRC mismatch")
case("AUTH_PROOF first", w.frame("AUTH_PROOF", os.urandom(32)), "not a hop handshake")
case("runtime HELLO first", w.frame("HELLO", w.origin_hello()), "not a hop handshake")
case("short AUTH_HELLO", w.frame("AUTH_HELLO", b"hop-auth\x01"), "not a hop handshake")
case("handshake version 9", w.frame("AUTH_HELLO", w.hello_payload(nc, version=9)), "handshake version 9")
case("HELLO twice", hello + hello, "payload of 41 bytes exceeds the bound 32")
case("silent peer", b"", "silent for 5000 ms", wait_close=8)
case("stops mid-frame", hello[:20], "silent for 5000 ms", wait_close=8)
t0 = time.time()
for i in range(200):
    c = w.connect(port)
    c.send(os.urandom(64))
    c.closed_within(5)
    c.close()
print("200 garbage connections in %.1fs" % (time.time() - t0))
os.kill(rpid, 0)
PY
rss1=$(ft_rss_kb "$RPID")
hwm=$(ft_hwm_kb "$RPID")
echo "hop receive RSS: ${rss0} kB before, ${rss1} kB after, peak ${hwm} kB"
[ "$hwm" -lt $((rss0 + 2048)) ] || ft_die "hop receive's memory grew by more than 2 MB (peak $hwm kB, start $rss0 kB)"
ft_launched && ft_die "CMD was launched for an unauthenticated peer"
ft_alive "$RPID" || ft_die "hop receive exited"
python3 - "$PORT" "$FT_DIR/token" <<'PY' || ft_die "right token refused after the hostile openings"
import os, sys
sys.path.insert(0, os.environ["HOP_ROOT"] + "/tests/hostile")
import hopwire as w
w.auth_client(w.connect(sys.argv[1]), w.key_of(sys.argv[2]))
PY
ft_wait_file "$FT_DIR/launched" launched 10 || ft_die "CMD not launched for the right token"
echo PASS
