#!/usr/bin/env python3
"""chat_world.py -- clients of a chat server across a switch of machines.

Runs in the clients' namespace. Starts the chat server in the origin
namespace with several clients; switches it to the destination namespace;
checks that every client keeps its connection and sees every message
exactly once, in order per sender: one client is in the middle of a line
at the switch, another sends while the server is frozen; then new clients
join at the old address (forwarded by the origin) and at the new one; a
client leaves; forwarding is ended; the relay exits by itself when the last
relayed connection closes.

Two ways to switch:
  handoff ONS DNS OIP DIP PORT DIR 'RELAY CMD' 'SRV ORIGIN CMD' 'SRV DEST CMD' [N]
      tests/world/srv.c hands its descriptors off itself (SIGUSR1, then
      `srv resume` at the destination); tests/world/relay_drv.c relays.
  hop ONS DNS OIP DIP PORT DIR 'ORIGIN CMD' 'DEST CMD' [N]
      a real migration: `hop receive` at the destination, `hop migrate`
      at the origin (its relay runs on in the background).
"""
import os, shlex, signal, socket, subprocess, sys, time

mode = sys.argv[1]
ons, dns, oip, dip, port, wdir = sys.argv[2:8]
port = int(port)
procs = []


def kill_pidfile(path):
    """hop receive's program and hop migrate's relay are not our children."""
    try:
        os.kill(int(open(path).read()), signal.SIGKILL)
    except (OSError, ValueError):
        pass


def fail(msg):
    print("FAIL:", msg, flush=True)
    for p in procs:
        if p.poll() is None:
            p.kill()
    kill_pidfile(wdir + "/dest.pid")
    kill_pidfile(wdir + "/relay.pid")
    sys.exit(1)


def start(ns, cmd, log, env=None):
    p = subprocess.Popen(["ip", "netns", "exec", ns] + shlex.split(cmd), stdout=open(log, "w"),
                         stderr=subprocess.STDOUT, env=env)
    procs.append(p)
    return p


def wait_for(cond, what, t=20):
    end = time.time() + t
    while not cond():
        if time.time() > end:
            fail(what)
        time.sleep(0.02)


def log_has(name, text):
    try:
        return text in open(os.path.join(wdir, name)).read()
    except FileNotFoundError:
        return False


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
        self.s.settimeout(30)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data.encode())

    def expect(self, want):
        """Receive exactly the lines in `want` (any interleaving of senders)."""
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
        if sorted(got) != sorted(want):
            fail("%s: got %r, wanted %r" % (self.name, sorted(got), sorted(want)))

    def expect_eof(self):
        try:
            d = self.s.recv(100)
        except socket.timeout:
            fail("%s: no end of connection" % self.name)
        if d:
            fail("%s: data %r instead of the end of the connection" % (self.name, d))
        self.s.close()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


# ---- start ----------------------------------------------------------------
if mode == "handoff":
    relay_cmd, so_cmd, sd_cmd = sys.argv[8:11]
    nclients = int(sys.argv[11]) if len(sys.argv) > 11 else 3
    relay = start(ons, relay_cmd, wdir + "/relay.log")
    wait_for(lambda: os.path.exists(wdir + "/relay.sock"), "the relay did not start")
    srv = start(ons, so_cmd, wdir + "/srv-origin.log")
else:
    so_cmd, sd_cmd = sys.argv[8:10]
    nclients = int(sys.argv[10]) if len(sys.argv) > 10 else 3
    srv = start(ons, so_cmd, wdir + "/origin.out")
    wait_for(lambda: log_has("origin.out", "ready"), "the origin did not start")
    tok = wdir + "/token"
    with open(tok, "w") as f:
        f.write(os.urandom(24).hex())
    os.chmod(tok, 0o600)
    recv = start(dns, "hop receive --listen %s:7700 --token-file %s --pid-file %s/dest.pid -- %s"
                 % (dip, tok, wdir, sd_cmd), wdir + "/dest.out")

clients = [Client(oip, "c%d" % i) for i in range(nclients)]
time.sleep(0.3)
for i, c in enumerate(clients):
    c.send("hello from c%d\n" % i)
for c in clients:
    c.expect(["hello from c%d" % i for i in range(nclients)])
print("before: %d clients exchanged messages" % nclients, flush=True)

# c0 is in the middle of a line at the switch: the server holds "mid-" in
# its memory; the rest comes after
clients[0].send("mid-")
time.sleep(0.3)
t0 = time.time()
if mode == "handoff":
    srv.send_signal(signal.SIGUSR1)
    clients[1].send("during the switch\n")
    if srv.wait(timeout=30) != 0:
        fail("origin server failed: " + open(wdir + "/srv-origin.log").read())
    dst = start(dns, sd_cmd, wdir + "/srv-dest.log")
else:
    mig = subprocess.Popen(["ip", "netns", "exec", ons, "hop", "migrate", "--to", dip + ":7700",
                            "--token-file", tok, "--json", "--forward-for", "60",
                            "--relay-pid-file", wdir + "/relay.pid", str(srv.pid)],
                           stdout=subprocess.PIPE, stderr=open(wdir + "/migrate.err", "w"), text=True)
    # c1 talks while the migration runs and while the server is frozen
    clients[1].send("during the switch\n")
    out, _ = mig.communicate(timeout=120)
    print("hop migrate:", out.strip(), flush=True)
    if '"result": "committed"' not in out:
        fail("migration not committed: " + out + open(wdir + "/migrate.err").read())
    if srv.wait(timeout=20) != 0:
        fail("the origin did not exit after COMMIT")
    wait_for(lambda: log_has("dest.out", "resumed 1"), "the destination did not resume")
    wait_for(lambda: os.path.exists(wdir + "/relay.pid"), "no relay pid file")
    relay_pid = int(open(wdir + "/relay.pid").read())
clients[0].send("message\n")
for c in clients:
    c.expect(["mid-message", "during the switch"])
print("switch: messages across it arrived once each (%.0f ms)" % ((time.time() - t0) * 1000), flush=True)

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
dest_log = "srv-dest.log" if mode == "handoff" else "dest.out"
clients[0].send("bye\n")
clients[0].expect_eof()
wait_for(lambda: log_has(dest_log, "gone"), "the destination did not see the client leave", 5)

# end forwarding: the old address stops accepting; connections in place stay
if mode == "handoff":
    relay.send_signal(signal.SIGUSR1)
else:
    subprocess.run(["hop", "migrate", "--stop-forwarding", str(relay_pid)], check=True)
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
if mode == "handoff":
    try:
        rc = relay.wait(timeout=15)
    except subprocess.TimeoutExpired:
        fail("the relay did not exit after its last connection closed")
    if rc != 0:
        fail("relay failed: " + open(wdir + "/relay.log").read())
    stats = open(wdir + "/relay.log").read().strip().splitlines()[-1]
    if "relayed %d forwarded 1 " % nclients not in stats or "unpaired 0" not in stats:
        fail("relay statistics: " + stats)
    dst.kill()
    dst.wait()
else:
    wait_for(lambda: not pid_alive(relay_pid), "the relay did not exit after its last connection closed", 15)
    stats = [l for l in open(wdir + "/migrate.err").read().splitlines() if "relay done" in l]
    want = "relay done: %d clients relayed (0 never claimed), 1 connections forwarded" % nclients
    if not stats or want not in stats[-1]:
        fail("relay statistics: %r" % stats)
    stats = stats[-1]
    kill_pidfile(wdir + "/dest.pid")
    recv.wait()
print(stats, flush=True)
print("ok", flush=True)
