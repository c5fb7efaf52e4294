#!/usr/bin/env python3
"""chat_world.py -- clients of the chat server across a hand-off.

Runs in the clients' namespace. Starts the relay (origin namespace), the
chat server (origin), several clients; hands the server off to the
destination namespace (SIGUSR1, then `srv resume` there, possibly a build
for another CPU under qemu); checks that every client keeps its connection
and sees every message exactly once, in order per sender: one client is in
the middle of a line at the switch, another sends while the server is
frozen; then new clients join at the old address (forwarded) and at the new
one; a client leaves; forwarding is ended; the relay exits by itself when
the last relayed connection closes.

usage: chat_world.py ONS DNS OIP DIP PORT DIR 'RELAY CMD' 'SRV ORIGIN CMD' 'SRV DEST CMD' [NCLIENTS]
"""
import os, shlex, signal, socket, subprocess, sys, time

ons, dns, oip, dip, port, wdir, relay_cmd, so_cmd, sd_cmd = sys.argv[1:10]
nclients = int(sys.argv[10]) if len(sys.argv) > 10 else 3
port = int(port)
procs = []


def fail(msg):
    print("FAIL:", msg, flush=True)
    for p in procs:
        if p.poll() is None:
            p.kill()
    sys.exit(1)


def start(ns, cmd, log):
    p = subprocess.Popen(["ip", "netns", "exec", ns] + shlex.split(cmd),
                         stdout=open(log, "w"), stderr=subprocess.STDOUT)
    procs.append(p)
    return p


def wait_file(path, t=10):
    end = time.time() + t
    while not os.path.exists(path):
        if time.time() > end:
            fail("%s never appeared" % path)
        time.sleep(0.02)


class Client:
    def __init__(self, ip, name):
        self.name = name
        end = time.time() + 10
        while True:
            try:
                self.s = socket.create_connection((ip, port), timeout=2)
                break
            except OSError:
                if time.time() > end:
                    fail("%s cannot connect to %s:%d" % (name, ip, port))
                time.sleep(0.05)
        self.s.settimeout(10)
        self.buf = b""
        self.lines = []

    def send(self, data):
        self.s.sendall(data.encode())

    def expect(self, want):
        """Receive exactly the lines in `want` (any interleaving of senders)."""
        want = sorted(want)
        got = []
        while len(got) < len(want):
            while b"\n" not in self.buf:
                try:
                    d = self.s.recv(65536)
                except socket.timeout:
                    fail("%s: timed out, got %r, wanted %r" % (self.name, got, want))
                if not d:
                    fail("%s: connection closed, got %r, wanted %r" % (self.name, got, want))
                self.buf += d
            line, self.buf = self.buf.split(b"\n", 1)
            got.append(line.decode())
            self.lines.append(line.decode())
        if sorted(got) != want:
            fail("%s: got %r, wanted %r" % (self.name, sorted(got), want))

    def expect_eof(self):
        try:
            d = self.s.recv(100)
        except socket.timeout:
            fail("%s: no end of connection" % self.name)
        if d:
            fail("%s: data %r instead of the end of the connection" % (self.name, d))
        self.s.close()


relay = start(ons, relay_cmd, wdir + "/relay.log")
wait_file(wdir + "/relay.sock")
srv = start(ons, so_cmd, wdir + "/srv-origin.log")

clients = [Client(oip, "c%d" % i) for i in range(nclients)]
time.sleep(0.2)
for i, c in enumerate(clients):
    c.send("hello from c%d\n" % i)
for c in clients:
    c.expect(["hello from c%d" % i for i in range(nclients)])
print("before: %d clients exchanged messages" % nclients, flush=True)

# c0 is in the middle of a line at the switch: the server has read "mid-"
# into its buffer (program state), the rest comes after
clients[0].send("mid-")
time.sleep(0.3)
t0 = time.time()
srv.send_signal(signal.SIGUSR1)
# c1 talks while the server is frozen / gone: bytes wait in the origin
# kernel's receive queue of the socket the relay now holds
clients[1].send("during the switch\n")
if srv.wait(timeout=20) != 0:
    fail("origin server failed: " + open(wdir + "/srv-origin.log").read())
dst = start(dns, sd_cmd, wdir + "/srv-dest.log")
clients[0].send("message\n")
for c in clients:
    c.expect(["mid-message", "during the switch"])
print("switch: messages across the hand-off arrived once each (%.0f ms)" % ((time.time() - t0) * 1000), flush=True)

for i, c in enumerate(clients):
    c.send("after from c%d\n" % i)
for c in clients:
    c.expect(["after from c%d" % i for i in range(nclients)])

# newcomers: at the old address (forwarded by the origin) and the new one
old = Client(oip, "new-at-old")
new = Client(dip, "new-at-new")
time.sleep(0.3)
old.send("I came to the old address\n")
new.send("I came to the new address\n")
everyone = clients + [old, new]
for c in everyone:
    c.expect(["I came to the old address", "I came to the new address"])
print("after: relayed, forwarded and direct clients all talk", flush=True)

# a relayed client leaves: the destination closes it, the relay closes the
# client's side
clients[0].send("bye\n")
clients[0].expect_eof()
wait_log = time.time() + 5
while "gone" not in open(wdir + "/srv-dest.log").read():
    if time.time() > wait_log:
        fail("the destination did not see the client leave")
    time.sleep(0.05)

# end forwarding: the old address stops accepting; connections in place stay
relay.send_signal(signal.SIGUSR1)
time.sleep(0.5)
try:
    socket.create_connection((oip, port), timeout=2)
    fail("the old address still accepts after forwarding ended")
except ConnectionRefusedError:
    pass
old.send("still here\n")
for c in everyone[1:]:
    c.expect(["still here"])
print("forwarding ended; the forwarded connection stays", flush=True)

for c in everyone[1:]:
    c.send("bye\n")
    c.expect_eof()
try:
    rc = relay.wait(timeout=15)
except subprocess.TimeoutExpired:
    fail("the relay did not exit after its last connection closed")
if rc != 0:
    fail("relay failed: " + open(wdir + "/relay.log").read())
stats = open(wdir + "/relay.log").read()
print(stats.strip().splitlines()[-1], flush=True)
if "relayed %d forwarded 1 " % nclients not in stats or "unpaired 0" not in stats:
    fail("relay statistics: " + stats)
dst.kill()
dst.wait()
print("ok", flush=True)
