#!/usr/bin/env bash
# timeout: 60
# Pipelining: many commands in one write, requests split across many writes
# (down to one byte at a time), a large value, and several clients at once.
. "$(dirname "$0")/lib.sh"
need redis-cli gcc python3
build_kvd x86_64 "$TMP/kvd"
start_kvd "$TMP/kvd" "$TMP/data"

python3 - "$PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])

def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out

def read_exact(s, n):
    data = b""
    while len(data) < n:
        b = s.recv(1 << 20)
        if not b:
            raise SystemExit("FAIL: connection closed after %d of %d bytes" % (len(data), n))
        data += b
    return data

def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)

s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

# 1. 20000 commands in one write; replies in order
N = 10000
req = b"".join(cmd("SET", "p:%d" % i, "v%d" % i) for i in range(N))
req += b"".join(cmd("GET", "p:%d" % i) for i in range(N))
s.sendall(req)
want = b"+OK\r\n" * N + b"".join(b"$%d\r\nv%d\r\n" % (len(b"v%d" % i), i) for i in range(N))
if read_exact(s, len(want)) != want:
    fail("pipelined replies differ")

# 2. one request sent one byte at a time, then a mixed stream cut at every size
one = cmd("RPUSH", "pl", "a" * 100, "b\r\nc")
for i in range(len(one)):
    s.sendall(one[i:i + 1])
    time.sleep(0.0005)
if read_exact(s, 4) != b":2\r\n":
    fail("byte-by-byte request")
stream = b"".join(cmd("INCR", "ctr") for _ in range(500)) + b"PING\r\n" * 10
pos, step = 0, 1
while pos < len(stream):
    s.sendall(stream[pos:pos + step])
    pos += step
    step = step % 97 + 1
want = b"".join(b":%d\r\n" % i for i in range(1, 501)) + b"+PONG\r\n" * 10
if read_exact(s, len(want)) != want:
    fail("split stream replies differ")

# 3. a 4 MB value in, and back out
big = bytes(range(256)) * (4 * 4096)
s.sendall(cmd("SET", "big", big) + cmd("GET", "big"))
want = b"+OK\r\n" + b"$%d\r\n" % len(big) + big + b"\r\n"
if read_exact(s, len(want)) != want:
    fail("4 MB value did not come back intact")

# 4. 20 clients interleaved, each pipelining its own counter
cs = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
for r in range(3):
    for i, c in enumerate(cs):
        c.sendall(cmd("INCRBY", "cc:%d" % i, i + 1) * 50)
for i, c in enumerate(cs):
    got = read_exact(c, len(b"".join(b":%d\r\n" % ((i + 1) * k) for k in range(1, 151))))
    if got != b"".join(b":%d\r\n" % ((i + 1) * k) for k in range(1, 151)):
        fail("client %d replies differ" % i)
print("pipeline ok")
PY
[ $? -eq 0 ] || die "pipeline checks"
expect "500" get ctr
expect "10023" dbsize
expect "3000" get cc:19
expect "v9999" get p:9999
finish
