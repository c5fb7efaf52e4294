#!/usr/bin/env python3
"""ledger_client.py -- the demo's counting client.

Sends INCR <key> over one connection as fast as the server answers, one at a
time, and counts the replies it got. Every gap between two successful writes
is timed with this process's own CLOCK_MONOTONIC (never a clock inside a
migrated process). On SIGTERM/SIGINT it stops and prints one JSON line:
{"ok": N, "errors": N, "last": V, "max_gap_ms": G, "gaps_over_5ms": K}
`last` is the last value the server returned, which must equal `ok` when
nothing was lost or duplicated (the key starts at 0).
Each gap over 5 ms is also written to stderr as "END gap MS ms (from START)",
CLOCK_MONOTONIC seconds (the clock of HOP_TRACE's "at" and of the demo's
move windows), so a gap can be put on the move it belongs to.
"""
import json, signal, socket, sys, time

host, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
stop = False


def on_signal(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)

# a move to or from an emulated (qemu) side may pause for many seconds: the
# client waits (an INCR whose reply never came would look like a lost write)
s = socket.create_connection((host, port), timeout=600)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
req = b"*2\r\n$4\r\nINCR\r\n$%d\r\n%s\r\n" % (len(key), key)
ok = errors = 0
last = None
max_gap = 0.0
over = 0
buf = b""
prev = time.monotonic()
while not stop:
    try:
        s.sendall(req)
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("server closed the connection")
            buf += chunk
    except (OSError, ConnectionError) as e:
        if stop:
            break
        errors += 1
        print("ledger_client: %s" % e, file=sys.stderr)
        break
    line, buf = buf.split(b"\r\n", 1)
    now = time.monotonic()
    if line.startswith(b":"):
        ok += 1
        last = int(line[1:])
        gap = (now - prev) * 1000.0
        max_gap = max(max_gap, gap)
        if gap > 5.0:
            over += 1
            print("%.6f gap %.3f ms (from %.6f)" % (now, gap, prev), file=sys.stderr, flush=True)
        prev = now
    else:
        errors += 1
print(json.dumps({"ok": ok, "errors": errors, "last": last, "max_gap_ms": round(max_gap, 3),
                  "gaps_over_5ms": over}))
