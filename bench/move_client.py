#!/usr/bin/env python3
"""move_client.py -- the counting client of bench/move_compare.sh.

Like scripts/ledger_client.py (INCR <key> over one connection, one request at
a time, as fast as the server answers, gaps timed with this process's own
CLOCK_MONOTONIC), but it follows a server that moves to another address, the
way a client of a replicated Redis must:

  move_client.py KEY HOST:PORT[,HOST:PORT...]

- On a closed connection, a connection error or an error reply (-READONLY
  from a demoted master, -LOADING ...), it moves to the next address of the
  list (round robin, 1 ms pause after a whole round without success) and
  sends the same INCR again.
- SIGUSR1 tells it to leave its current address now (the "careful manual"
  Redis switch: the old master is paused and will never answer); an INCR
  waiting for its reply there is sent again to the next address.

A retried INCR may have been applied already (its reply was lost), so the
client cannot know its writes were applied exactly once. It keeps the values
the server returned: each reply should be the previous one + 1. A larger
value means writes applied that this client was never told of (duplicates of
retried INCRs); a smaller or equal one means acknowledged writes the server
no longer has (lost). On SIGTERM/SIGINT it stops and prints one JSON line:
{"ok", "errors", "reconnects", "retries", "unanswered" (an INCR sent
 and never answered when the stop came: 0 or 1), "first", "last", "jumps_up",
 "jumps_down", "max_gap_ms", "gaps_over_5ms", "t_max_gap"}
(t_max_gap: CLOCK_MONOTONIC seconds when the longest gap ended).
"""
import faulthandler, json, os, select, signal, socket, sys, time

faulthandler.register(signal.SIGUSR2)  # move_compare.sh asks for a stack when a stop hangs

key = sys.argv[1].encode()
addrs = []
for a in sys.argv[2].split(","):
    h, p = a.rsplit(":", 1)
    addrs.append((h, int(p)))

stop = False
switch = False
rfd, wfd = os.pipe()
os.set_blocking(wfd, False)
signal.set_wakeup_fd(wfd)


def on_stop(*_):
    global stop
    stop = True


def on_switch(*_):
    global switch
    switch = True


signal.signal(signal.SIGTERM, on_stop)
signal.signal(signal.SIGINT, on_stop)
signal.signal(signal.SIGUSR1, on_switch)

req = b"*2\r\n$4\r\nINCR\r\n$%d\r\n%s\r\n" % (len(key), key)
cur = 0
sock = None
ok = errors = reconnects = retries = unanswered = 0
first = last = None
jumps_up = jumps_down = 0
max_gap = 0.0
t_max_gap = None
over = 0


class Retry(Exception):
    pass


def connect():
    """Connects to addrs[cur], trying the following ones on failure."""
    global sock, cur
    tried = 0
    while not stop:
        h, p = addrs[cur]
        try:
            s = socket.create_connection((h, p), timeout=1)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            sock = s
            return
        except OSError:
            cur = (cur + 1) % len(addrs)
            tried += 1
            if tried % len(addrs) == 0:
                time.sleep(0.001)


def drop(next_addr):
    global sock, cur, reconnects
    if sock is not None:
        sock.close()
        sock = None
    if next_addr:
        cur = (cur + 1) % len(addrs)
    reconnects += 1


def incr():
    """Sends one INCR and returns the reply line; raises Retry on failure."""
    global switch, unanswered
    stop_deadline = None
    buf = b""
    try:
        sock.sendall(req)
    except (BlockingIOError, OSError) as e:  # a 40-byte request fits in the buffer
        raise Retry(str(e))
    while b"\r\n" not in buf:
        r, _, _ = select.select([sock, rfd], [], [], 1.0)
        if rfd in r:
            os.read(rfd, 512)
        # a stop waits for the reply: an INCR left unanswered would look
        # like a duplicate in the final count
        if stop and stop_deadline is None:
            stop_deadline = time.monotonic() + 2.0
        if stop_deadline is not None and time.monotonic() > stop_deadline:
            raise Retry("no reply within 2 s of the stop")
        if switch:
            switch = False
            raise Retry("told to switch")
        if sock in r:
            try:
                chunk = sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError as e:
                raise Retry(str(e))
            if not chunk:
                raise Retry("server closed the connection")
            buf += chunk
    return buf.split(b"\r\n", 1)[0]


connect()
prev = time.monotonic()
pending_retry = False
while not stop:
    try:
        line = incr()
    except Retry as e:
        print("%.6f %s %s:%d: %s" % (time.monotonic(), "stop" if stop else "retry", addrs[cur][0], addrs[cur][1], e),
              file=sys.stderr, flush=True)
        if stop:
            unanswered += 1
            break
        errors += 1
        retries += 1
        drop(True)
        connect()
        continue
    if not line.startswith(b":"):
        # -READONLY, -LOADING, -ERR ...: not applied; try the next address
        print("%.6f reply %s:%d: %s" % (time.monotonic(), addrs[cur][0], addrs[cur][1], line.decode(errors="replace")),
              file=sys.stderr, flush=True)
        errors += 1
        retries += 1
        drop(True)
        time.sleep(0.0005)
        connect()
        continue
    now = time.monotonic()
    v = int(line[1:])
    ok += 1
    if first is None:
        first = v
    elif v > last + 1:
        jumps_up += v - last - 1
    elif v <= last:
        jumps_down += last + 1 - v
    last = v
    gap = (now - prev) * 1000.0
    if gap > max_gap:
        max_gap = gap
        t_max_gap = now
    if gap > 5.0:
        over += 1
        # where the gap was, on the clock hop's HOP_TRACE lines use (CLOCK_MONOTONIC)
        print("%.6f gap %.3f ms (from %.6f)" % (now, gap, prev), file=sys.stderr, flush=True)
    prev = now
print(json.dumps({"ok": ok, "errors": errors, "reconnects": reconnects, "retries": retries, "unanswered": unanswered,
                  "first": first, "last": last, "jumps_up": jumps_up, "jumps_down": jumps_down,
                  "max_gap_ms": round(max_gap, 3), "gaps_over_5ms": over,
                  "t_max_gap": t_max_gap}), flush=True)
