#!/usr/bin/env python3
"""hopwire.py -- hop's wire spoken from Python, for the hostile-input tests.

Frames (src/lib/wire.h): magic u32 "HOPW" | version u8 | type u8 | flags u16 |
length u32 | crc32 u32, big-endian, then the payload. The token handshake
(src/tool/auth.c): key = BLAKE2b-256(token, key="hop token v1"); each side
proves HMAC-SHA-256(key, label NUL || client nonce || server nonce).
Nothing here is a copy of hop's C code paths: it is an independent client,
server and fake origin that can also lie, truncate and stall on purpose.

As a command (used by the shell tests):
  hopwire.py key TOKENFILE                 print the derived key (hex)
  hopwire.py index-patch IN OUT WHAT       write a lying copy of an index
"""
import hashlib
import hmac
import os
import socket
import struct
import sys
import time
import zlib

MAGIC = 0x484F5057
T = dict(AUTH_HELLO=1, AUTH_CHALLENGE=2, AUTH_PROOF=3, AUTH_OK=4,
         HELLO=10, HELLO_ACK=11, INDEX=12, INDEX_OK=13, PHASE=14, DATA=15,
         PHASE_END=16, PHASE_ACK=17, FREEZE=18, DIGEST=19, READY=20,
         COMMIT=21, RESUMED=22, ERROR=23,
         CTL_STATUS=40, CTL_STATUS_REPLY=41, CTL_MIGRATE=42, CTL_PROGRESS=43,
         CTL_RESULT=44)
NAME = {v: k for k, v in T.items()}


class Closed(Exception):
    pass


class Timeout(Exception):
    pass


def frame(t, payload=b"", flags=0, magic=MAGIC, version=1, length=None, crc=None):
    if isinstance(t, str):
        t = T[t]
    if length is None:
        length = len(payload)
    if crc is None:
        crc = zlib.crc32(payload) & 0xFFFFFFFF
    return struct.pack(">IBBHII", magic, version, t, flags, length, crc) + payload


class Conn:
    def __init__(self, sock):
        self.s = sock
        self.sent = []   # every buffer sent, in order (for replays)

    def send(self, data):
        self.sent.append(data)
        self.s.sendall(data)

    def send_frame(self, t, payload=b"", **kw):
        self.send(frame(t, payload, **kw))

    def _read(self, n, timeout):
        buf = b""
        deadline = time.time() + timeout
        while len(buf) < n:
            left = deadline - time.time()
            if left <= 0:
                raise Timeout("no data for %.1f s" % timeout)
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(n - len(buf))
            except socket.timeout:
                raise Timeout("no data for %.1f s" % timeout)
            except (ConnectionResetError, BrokenPipeError):
                raise Closed("reset")
            if not chunk:
                raise Closed("closed after %d of %d bytes" % (len(buf), n))
            buf += chunk
        return buf

    def recv_frame(self, timeout=10):
        hdr = self._read(16, timeout)
        magic, ver, t, flags, length, crc = struct.unpack(">IBBHII", hdr)
        if magic != MAGIC or ver != 1:
            raise ValueError("bad frame header %r" % hdr)
        if length > 64 << 20:
            raise ValueError("frame of %d bytes" % length)
        payload = self._read(length, timeout)
        if zlib.crc32(payload) & 0xFFFFFFFF != crc:
            raise ValueError("bad CRC")
        return t, payload

    def expect(self, t, timeout=10):
        got, payload = self.recv_frame(timeout)
        if got != T[t]:
            msg = payload[4:].decode(errors="replace") if got == T["ERROR"] else ""
            raise ValueError("expected %s, got %s %s" % (t, NAME.get(got, got), msg))
        return payload

    def closed_within(self, timeout):
        """True when the peer closes (or resets) within timeout, whatever it
        sends first; False when the link stays open and silent."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.s.settimeout(max(0.01, deadline - time.time()))
            try:
                if not self.s.recv(65536):
                    return True
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
        return False

    def close(self):
        self.s.close()


def connect(port, host="127.0.0.1", timeout=10):
    s = socket.create_connection((host, int(port)), timeout=timeout)
    return Conn(s)


def key_of(token_path):
    tok = open(token_path, "rb").read().strip(b" \t\r\n")
    return hashlib.blake2b(tok, digest_size=32, key=b"hop token v1").digest()


def proof(key, label, nc, ns):
    return hmac.new(key, label.encode() + b"\0" + nc + ns, hashlib.sha256).digest()


def hello_payload(nc, version=1):
    return b"hop-auth" + bytes([version]) + nc


def auth_client(c, key, nc=None):
    """Authenticate to a hop receive; raises on refusal. Returns the nonces."""
    nc = nc or os.urandom(32)
    c.send_frame("AUTH_HELLO", hello_payload(nc))
    ch = c.expect("AUTH_CHALLENGE")
    ns, smac = ch[:32], ch[32:]
    if not hmac.compare_digest(smac, proof(key, "hop server proof", nc, ns)):
        raise ValueError("server does not know the token")
    c.send_frame("AUTH_PROOF", proof(key, "hop client proof", nc, ns))
    c.expect("AUTH_OK")
    return nc, ns


def auth_server(c, key, ns=None):
    """Play `hop receive`'s side of the handshake. Returns (nc, ns)."""
    h = c.expect("AUTH_HELLO")
    nc = h[9:41]
    ns = ns or os.urandom(32)
    c.send_frame("AUTH_CHALLENGE", ns + proof(key, "hop server proof", nc, ns))
    p = c.expect("AUTH_PROOF")
    if not hmac.compare_digest(p, proof(key, "hop client proof", nc, ns)):
        raise ValueError("client does not know the token")
    c.send_frame("AUTH_OK")
    return nc, ns


# ---- the runtime protocol, origin side (src/lib/out.c) ---------------------------------
PROTO_VERSION = 2  # HOP_PROTO_VERSION (src/lib/wire.h)


def origin_hello(arch=1, psize=8, be=0, ld=2, resumed=0, lo=PROTO_VERSION, hi=PROTO_VERSION):
    return b"hopm" + bytes([lo, hi, arch, psize, be, ld]) + struct.pack(">IH", resumed, 0)


def phase(kind, rnd, recs, nbytes):
    return bytes([kind]) + struct.pack(">IQQ", rnd, recs, nbytes)


def obj_header(kind, var, addr, size, typ, count):
    return bytes([kind]) + struct.pack(">IQQIQ", var, addr, size, typ, count)


def rec_obj(kind, obj, off, data, rec=1):
    return bytes([rec]) + obj + struct.pack(">QI", off, len(data)) + data


# ---- indexes (docs/index-format.md) -------------------------------------------------------
HDR = 56
SIZES = dict(types=36, members=24, vars=24, funcs=20, points=4, sections=24, hints=4)
ORDER = ["types", "members", "vars", "funcs", "points", "sections", "hints"]


def index_tables(buf):
    """Offsets (from the start of the buffer) of each table, and its count."""
    strlen = struct.unpack(">I", buf[24:28])[0]
    counts = struct.unpack(">7I", buf[28:56])
    off = HDR + strlen
    out = {}
    for name, n in zip(ORDER, counts):
        out[name] = (off, n)
        off += n * SIZES[name]
    return out


def index_string(buf, off):
    base = HDR
    end = buf.index(b"\0", base + off)
    return buf[base + off:end].decode()


def index_fix_crc(buf):
    body = bytes(buf[HDR:])
    buf[16:20] = struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    return buf


def index_patch(buf, what):
    """A lying copy of an encoded index:
    var-size     the first variable claims 8 bytes more than its type
    member-out   the first struct's last member lies beyond the struct
    array-count  an array type claims 2^40 elements (size unchanged)
    type-ref     a variable refers to a type that does not exist
    crc          a byte of the body changed, CRC left as it was"""
    buf = bytearray(buf)
    tabs = index_tables(buf)
    if what == "var-size":
        off, n = tabs["vars"]
        assert n > 0
        size = struct.unpack(">Q", buf[off + 8:off + 16])[0]
        buf[off + 8:off + 16] = struct.pack(">Q", size + 8)
    elif what == "member-out":
        toff, nt = tabs["types"]
        moff, _ = tabs["members"]
        for i in range(nt):
            t = toff + 36 * i
            kind = buf[t + 4]
            size = struct.unpack(">Q", buf[t + 8:t + 16])[0]
            first, nm = struct.unpack(">II", buf[t + 28:t + 36])
            if kind == 5 and nm > 0 and size > 0:
                m = moff + 24 * (first + nm - 1)
                buf[m + 8:m + 16] = struct.pack(">Q", size + 16)
                break
        else:
            raise SystemExit("no struct in the index")
    elif what == "array-count":
        toff, nt = tabs["types"]
        for i in range(nt):
            t = toff + 36 * i
            if buf[t + 4] == 4:
                buf[t + 20:t + 28] = struct.pack(">Q", 1 << 40)
                break
        else:
            raise SystemExit("no array in the index")
    elif what == "type-ref":
        off, n = tabs["vars"]
        buf[off + 4:off + 8] = struct.pack(">I", 0x7FFFFFF0)
    elif what == "crc":
        buf[HDR + 1] ^= 0x40
        return bytes(buf)
    else:
        raise SystemExit("unknown patch " + what)
    return bytes(index_fix_crc(buf))


def rss_kb(pid):
    for line in open("/proc/%d/status" % int(pid)):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "key":
        print(key_of(sys.argv[2]).hex())
    elif sys.argv[1] == "index-patch":
        data = open(sys.argv[2], "rb").read()
        open(sys.argv[3], "wb").write(index_patch(data, sys.argv[4]))
    else:
        raise SystemExit(__doc__)
