#!/usr/bin/env python3
"""world_hold.py IP PORT N READY_FILE -- hold N connected clients to a chat
server (bench/world_bench.sh): connect them, write READY_FILE, then every
client sends one line after the other has been migrated (on SIGUSR1) and
each must get all N lines back: prints the time until all arrived."""
import os, resource, selectors, signal, socket, sys, time
ip, port, n, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
socks = []
for i in range(n):
    s = socket.create_connection((ip, port), timeout=10)
    socks.append(s)
open(ready, "w").write("ok\n")
go = []
signal.signal(signal.SIGUSR1, lambda *a: go.append(1))
while not go:
    time.sleep(0.01)
if n == 0:
    print("no clients")
    sys.exit(0)
# one line from one client; everyone must receive it through the relay
t0 = time.time()
socks[0].sendall(b"ping\n")
sel = selectors.DefaultSelector()
for s in socks:
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
got = 0
while got < n and time.time() - t0 < 30:
    for k, _ in sel.select(timeout=1):
        d = k.fileobj.recv(100)
        if d:
            got += d.count(b"\n")
print("%d/%d clients got the message through the relay %.1f ms after it was sent" % (got, n, (time.time() - t0) * 1000))
sys.exit(0 if got == n else 1)
