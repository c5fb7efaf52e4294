#!/usr/bin/env bash
# The control socket is usable only by the process's owner (and root):
#  - it lives in a 0700 directory of the owner, the socket itself is 0600;
#  - another user (nobody, via setpriv) cannot reach it, and even when the
#    permissions are opened up by mistake the agent refuses that user by
#    SO_PEERCRED: no status, no migration, the connection is just closed;
#  - the owner's malformed requests (oversized, unknown type, a migration
#    without a connection, bad parameters, silence) get a clear refusal and
#    the program carries on, its state intact;
#  - the tool refuses a socket answered by another process (an impostor);
#  - a control directory others may enter is refused at hop_init.
# timeout: 120
. "$(dirname "$0")/../faults/flib.sh"
[ "$(id -u)" = 0 ] || ft_skip "needs root to run a client as another user (setpriv)"
command -v setpriv >/dev/null || ft_skip "no setpriv"
NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups"
$NOBODY true 2>/dev/null || ft_skip "setpriv cannot switch to nobody here"
PROG=$(ft_build x86_64) || ft_die build
ft_origin x86_64 "$PROG"
SOCK=$HOP_RUN_DIR/$OPID.sock
[ -S "$SOCK" ] || ft_die "no control socket at $SOCK"

echo "== permissions"
[ "$(stat -c %a "$HOP_RUN_DIR")" = 700 ] || ft_die "control directory mode $(stat -c %a "$HOP_RUN_DIR")"
[ "$(stat -c %u "$HOP_RUN_DIR")" = "$(id -u)" ] || ft_die "control directory not ours"
[ "$(stat -c %a "$SOCK")" = 600 ] || ft_die "control socket mode $(stat -c %a "$SOCK")"
hop status "$OPID" >"$FT_DIR/status.out" 2>&1 || ft_die "owner's hop status failed: $(cat "$FT_DIR/status.out")"
grep -q "pid: $OPID" "$FT_DIR/status.out" || ft_die "status: $(cat "$FT_DIR/status.out")"

# a raw client (system python: nobody cannot read root's pyenv)
cat >"$FT_DIR/ctlclient.py" <<'PY'
import os, socket, struct, sys, zlib
path, what = sys.argv[1], sys.argv[2]
def frame(t, p=b""):
    return struct.pack(">IBBHII", 0x484F5057, 1, t, 0, len(p), zlib.crc32(p) & 0xFFFFFFFF) + p
s = socket.socket(socket.AF_UNIX)
s.settimeout(8)
try:
    s.connect(path)
except PermissionError:
    print("connect: permission denied"); sys.exit(0)
def send_request():
  if what == "status":
    s.sendall(frame(40))
  elif what == "migrate":
    a, b = socket.socketpair()
    params = struct.pack(">IIQII", 5000, 30, 0, 0, 3000)
    s.sendmsg([frame(42, params)], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", a.fileno()))])
  elif what == "oversized":
    s.sendall(struct.pack(">IBBHII", 0x484F5057, 1, 40, 0, 1 << 20, 0))
  elif what == "unknown":
    s.sendall(frame(43, b"\0" * 49))
  elif what == "nofd":
    s.sendall(frame(42, struct.pack(">IIQII", 5000, 30, 0, 0, 3000)))
  elif what == "badparams":
    s.sendall(frame(42, b"\0" * 7))
  elif what == "silent":
    pass
try:
    send_request()
except (BrokenPipeError, ConnectionResetError):
    print("closed without an answer"); sys.exit(0)
data = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    print("no answer within 8 s"); sys.exit(0)
except ConnectionResetError:
    pass
if not data:
    print("closed without an answer")
elif data[5] == 41:
    print("STATUS: " + data[16:].decode(errors="replace").replace("\n", "; "))
elif data[5] == 44:
    print("RESULT: " + data[16 + 34:].decode(errors="replace"))
else:
    print("frame type %d" % data[5])
PY
ctl() { /usr/bin/python3 "$FT_DIR/ctlclient.py" "$SOCK" "$1"; }
nobody_ctl() { $NOBODY /usr/bin/python3 "$FT_DIR/ctlclient.py" "$SOCK" "$1"; }

echo "== another user, permissions as hop sets them"
out=$($NOBODY env HOP_RUN_DIR="$HOP_RUN_DIR" hop status "$OPID" 2>&1) && ft_die "nobody's hop status succeeded: $out"
echo "hop status as nobody: $out"
out=$(nobody_ctl status)
echo "raw connect as nobody: $out"
[ "$out" = "connect: permission denied" ] || ft_die "nobody reached the socket: $out"

echo "== another user, permissions opened up by mistake: SO_PEERCRED still refuses"
chmod 711 "$HOP_RUN_DIR"
chmod 666 "$SOCK"
for what in status migrate; do
	out=$(nobody_ctl $what)
	echo "nobody $what: $out"
	[ "$out" = "closed without an answer" ] || ft_die "nobody's $what was answered: $out"
done
chmod 700 "$HOP_RUN_DIR"
chmod 600 "$SOCK"
grep -q "migrating pid" "$OERR" && ft_die "the origin started a migration for nobody"
ft_check "$OPID" "$OOUT"

echo "== the owner's malformed requests"
expect_refusal() { # what pattern
	local out
	out=$(ctl "$1")
	echo "$1: $out"
	echo "$out" | grep -q -- "$2" || ft_die "$1: want '$2'"
}
expect_refusal oversized "RESULT: .*exceeds the bound 256"
expect_refusal unknown "RESULT: .*control request of type CTL_PROGRESS"
expect_refusal nofd "RESULT: .*without a connection attached"
expect_refusal badparams "RESULT: .*migrate parameters: 7 bytes"
t0=$SECONDS
expect_refusal silent "closed without an answer\|RESULT: .*short header"
hop status "$OPID" >/dev/null || ft_die "hop status fails after a silent client"
echo "a silent client held the agent for $((SECONDS - t0)) s"
ft_check "$OPID" "$OOUT"

echo "== an impostor socket: the tool checks who answers"
sleep 60 &
VICTIM=$!
FT_PIDS+=("$VICTIM")
/usr/bin/python3 - "$HOP_RUN_DIR/$VICTIM.sock" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept(); c.recv(100); c.close()
PY
FT_PIDS+=("$!")
for ((i = 0; i < 100; i++)); do [ -S "$HOP_RUN_DIR/$VICTIM.sock" ] && break; sleep 0.05; done
out=$(hop status "$VICTIM" 2>&1) && ft_die "hop status believed an impostor: $out"
echo "impostor: $out"
echo "$out" | grep -q "answered by pid .*, not $VICTIM" || ft_die "impostor not named"

echo "== a control directory others may enter is refused"
mkdir -p "$FT_DIR/open" && chmod 777 "$FT_DIR/open"
HOP_RUN_DIR=$FT_DIR/open "$PROG" >"$FT_DIR/open.out" 2>&1 && ft_die "hop_init accepted a 0777 control directory"
cat "$FT_DIR/open.out"
grep -q "others may enter it" "$FT_DIR/open.out" || ft_die "no clear refusal"
ft_check "$OPID" "$OOUT"
echo PASS
