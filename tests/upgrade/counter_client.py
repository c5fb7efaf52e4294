#!/usr/bin/env python3
"""counter_client.py -- the upgrade tests' counting client (kvd, RESP).

Sends INCR KEY over one connection, one request at a time, and remembers
the last value the server acknowledged. Controlled by signals so a test can
compare the server's counter with what the client saw at a moment it
chooses:
  SIGUSR1  finish the request in flight, then stop sending and write
           {"ok": N, "errors": N, "last": V} to STATEFILE
  SIGUSR2  go on sending (the test removes STATEFILE first)
  SIGTERM  finish the request in flight, write the state, exit
While paused nothing is in flight, so the server's counter must equal
`last` exactly: anything below is a lost write, anything above a write
applied twice (or a request the client never made).
With SPLIT, each request goes in two segments 1 ms apart, so the server
often holds half a request when it is moved: the half it has read is
program memory (written by the kernel's read()) and must arrive with it, the
other half comes through the relay.
Usage: counter_client.py HOST PORT KEY STATEFILE [split]
"""
import json, os, signal, socket, sys, time

host, port, key, state = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4]
split = len(sys.argv) > 5 and sys.argv[5] == "split"
pause = stop = False


def on_usr1(*_):
    global pause
    pause = True


def on_usr2(*_):
    global pause
    pause = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGUSR1, on_usr1)
signal.signal(signal.SIGUSR2, on_usr2)
signal.signal(signal.SIGTERM, on_term)

s = socket.create_connection((host, port), timeout=60)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
open(state + ".started", "w").close()  # the handlers are in place
req = b"*2\r\n$4\r\nINCR\r\n$%d\r\n%s\r\n" % (len(key), key)
ok = errors = 0
last = None
buf = b""
err = None


def write_state():
    tmp = state + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"ok": ok, "errors": errors, "last": last, "error": err}, f)
    os.rename(tmp, state)


while not stop:
    if pause:
        write_state()
        while pause and not stop:
            time.sleep(0.005)
        continue
    try:
        if split:
            s.sendall(req[:len(req) // 2])
            time.sleep(0.001)
            s.sendall(req[len(req) // 2:])
        else:
            s.sendall(req)
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            buf += chunk
    except (OSError, ConnectionError) as e:
        errors += 1
        err = str(e)
        break
    line, buf = buf.split(b"\r\n", 1)
    if line.startswith(b":"):
        ok += 1
        last = int(line[1:])
    else:
        errors += 1
        err = line.decode(errors="replace")
write_state()
