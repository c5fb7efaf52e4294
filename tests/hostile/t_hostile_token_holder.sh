#!/usr/bin/env bash
# A peer that holds the token but lies: a fake origin (Python) authenticates
# to a real `hop receive` and then sends the destination runtime frames out
# of order, oversized frames and lengths, indexes that lie about sizes, and
# records beyond what a phase declared. Each time the destination refuses
# with a clear message, exits (status 3, no signal, no crash), never resumes
# the program, and its memory stays small.
# timeout: 240
. "$(dirname "$0")/../faults/flib.sh"
PROG=$(ft_build x86_64) || ft_die build
hop index --binary -o "$FT_DIR/dest.idx" "$PROG" || ft_die "hop index"
for lie in var-size member-out array-count type-ref crc; do
	$PY index-patch "$FT_DIR/dest.idx" "$FT_DIR/lie-$lie.idx" $lie || ft_die "index-patch $lie"
done

# hostile CASE EXPECT: one destination, one lie
hostile() {
	local name=$1 expect=$2
	ft_receive x86_64 "$PROG" HOP_TIMEOUT_MS=2000
	python3 - "$PORT" "$FT_DIR" "$name" "$DPIDF" <<'PY' >>"$FT_DIR/py.out" 2>&1
import os, struct, sys, time
sys.path.insert(0, os.environ["HOP_ROOT"] + "/tests/hostile")
import hopwire as w
port, d, case = sys.argv[1], sys.argv[2], sys.argv[3]
c = w.connect(port)
w.auth_client(c, w.key_of(d + "/token"))

def hwm_check(limit_mb=64):
    """The destination's peak memory stays small while the lie is in flight."""
    time.sleep(1)
    pid = int(open(sys.argv[4]).read())
    try:
        hwm = [int(l.split()[1]) for l in open("/proc/%d/status" % pid) if l.startswith("VmHWM:")][0]
    except FileNotFoundError:
        print("%s: the destination already refused and exited" % case)
        return
    print("%s: destination peak RSS %d kB" % (case, hwm))
    open(d + "/hwm", "a").write("%s: %d kB\n" % (case, hwm))
    if hwm > limit_mb * 1024:
        raise SystemExit("destination peak RSS %d kB" % hwm)

def hello():
    c.send_frame("HELLO", w.origin_hello())
    c.expect("HELLO_ACK", timeout=30)

def index(path=d + "/dest.idx"):
    c.send_frame("INDEX", struct.pack(">Q", 0) + open(path, "rb").read())

def ready():
    hello(); index(); c.expect("INDEX_OK")

obj = w.obj_header(2, 0xFFFFFFFF, 0x7f0000001000, 64, 0xFFFFFFFF, 0)
try:
    if case == "DATA before HELLO":
        c.send_frame("DATA", b"\x01" * 20)
    elif case == "protocol version 9":
        c.send_frame("HELLO", w.origin_hello(lo=9, hi=9))
        c.expect("ERROR")
    elif case == "protocol version 1 (BLAKE2s digest)":
        c.send_frame("HELLO", w.origin_hello(lo=1, hi=1))
        c.expect("ERROR")
    elif case == "HELLO of 64 KiB":
        c.send_frame("HELLO", b"hopm" + b"\0" * 65532)
    elif case == "INDEX of 4 GiB":
        hello()
        c.send(w.frame("INDEX", b"", length=0xFFFFFFF0))
    elif case == "INDEX of 60 MiB, then silence":
        hello()
        c.send(w.frame("INDEX", b"", length=60 << 20) + b"\0" * (1 << 20))
        hwm_check()
        time.sleep(5)
    elif case.startswith("index lies: "):
        hello()
        index(d + "/lie-" + case.split(": ")[1] + ".idx")
    elif case == "DATA outside a phase":
        ready(); c.send_frame("DATA", w.rec_obj(2, obj, 0, b"x" * 64))
    elif case == "final phase before FREEZE":
        ready(); c.send_frame("PHASE", w.phase(3, 1, 0, 0))
    elif case == "COMMIT before READY":
        ready(); c.send_frame("COMMIT")
    elif case == "DIGEST before the final phase":
        ready(); c.send_frame("DIGEST", b"\0" * 16)
    elif case == "record kind 9":
        ready(); c.send_frame("PHASE", w.phase(1, 0, 1, 64)); c.send_frame("DATA", b"\x09" + b"\0" * 60)
    elif case == "more bytes than declared":
        ready(); c.send_frame("PHASE", w.phase(1, 0, 1, 8)); c.send_frame("DATA", w.rec_obj(2, obj, 0, b"x" * 64))
    elif case == "more records than declared":
        ready(); c.send_frame("PHASE", w.phase(1, 0, 1, 128))
        c.send_frame("DATA", w.rec_obj(2, obj, 0, b"x" * 64) + w.rec_obj(2, obj, 0, b"x" * 64))
    elif case == "bytes outside the object":
        ready(); c.send_frame("PHASE", w.phase(1, 0, 1, 64)); c.send_frame("DATA", w.rec_obj(2, obj, 32, b"x" * 64))
    elif case == "object of 1 TiB + 1":
        ready(); c.send_frame("PHASE", w.phase(1, 0, 1, 8))
        c.send_frame("DATA", w.rec_obj(2, w.obj_header(2, 0xFFFFFFFF, 0x10000, (1 << 40) + 1, 0xFFFFFFFF, 0), 0, b"y" * 8))
    elif case == "two objects of 512 GiB, 8 bytes sent":
        ready(); c.send_frame("PHASE", w.phase(1, 0, 3, 1 << 40))
        for a in (0x10000, 0x20000):
            c.send_frame("DATA", w.rec_obj(2, w.obj_header(2, 0xFFFFFFFF, a, 1 << 39, 0xFFFFFFFF, 0), 0, b"z" * 8))
        hwm_check()
        c.send_frame("PHASE_END")
    elif case == "phase ends short":
        ready(); c.send_frame("PHASE", w.phase(1, 0, 5, 100)); c.send_frame("PHASE_END")
    elif case == "FREEZE at another point":
        ready(); c.send_frame("FREEZE", struct.pack(">IH", 0, 9) + b"elsewhere")
    elif case == "origin sends ERROR":
        ready(); c.send_frame("ERROR", struct.pack(">i", -16) + b"changed my mind")
    else:
        raise SystemExit("unknown case " + case)
except (BrokenPipeError, ConnectionResetError, w.Closed):
    print("%s: the destination hung up early" % case)
print("%s: sent" % case)
c.closed_within(15)
PY
	local pyrc=$?
	local i
	for ((i = 0; i < 400; i++)); do ft_alive "$RPID" || break; sleep 0.05; done
	ft_alive "$RPID" && ft_die "$name: the destination still runs"
	wait "$RPID"
	local rc=$?
	grep -q "^OK resumed" "$DOUT" && ft_die "$name: the destination resumed"
	[ $rc = 3 ] || ft_die "$name: hop receive exited $rc (want 3: the destination refused and exited)"
	grep -q -- "$expect" "$DERR" || ft_die "$name: no '$expect' in the destination's log"
	[ $pyrc = 0 ] || ft_die "$name: the fake origin failed: $(tail -n 3 "$FT_DIR/py.out")"
	printf '%-40s refused: %s\n' "$name" "$(grep -- "$expect" "$DERR" | tail -n 1 | sed 's/^hop: //')"
}

hostile "DATA before HELLO" "expected frame HELLO, got DATA"
hostile "protocol version 9" "protocol versions 9..9"
hostile "protocol version 1 (BLAKE2s digest)" "protocol versions 1..1, we speak 2: build both sides with the same hop"
hostile "HELLO of 64 KiB" "payload of 65536 bytes exceeds the bound"
hostile "INDEX of 4 GiB" "exceeds the bound"
hostile "INDEX of 60 MiB, then silence" "peer silent"
hostile "index lies: var-size" "index: variable .* has size"
hostile "index lies: member-out" "outside"
hostile "index lies: array-count" "array type"
hostile "index lies: type-ref" "bad type"
hostile "index lies: crc" "checksum mismatch"
hostile "DATA outside a phase" "DATA outside a phase"
hostile "final phase before FREEZE" "PHASE 3 out of order"
hostile "COMMIT before READY" "unexpected frame COMMIT"
hostile "DIGEST before the final phase" "unexpected frame DIGEST"
hostile "record kind 9" "record kind 9"
hostile "more bytes than declared" "more bytes than the phase declared"
hostile "more records than declared" "more records than the phase declared"
hostile "bytes outside the object" "outside an object of 64 bytes"
hostile "object of 1 TiB + 1" "beyond the limit"
# refused at the allocation (no overcommit of 512 GiB here), else at PHASE_END
hostile "two objects of 512 GiB, 8 bytes sent" "549755813888 bytes\|phase declared 3 records"
hostile "phase ends short" "phase declared 5 records"
hostile "FREEZE at another point" "origin froze at HOP_POINT(elsewhere)"
hostile "origin sends ERROR" "the origin aborted: changed my mind"
echo PASS
