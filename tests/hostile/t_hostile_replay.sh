#!/usr/bin/env bash
# Replayed handshakes fail because both sides pick fresh nonces:
#  - a man in the middle records a real `hop migrate` -> `hop receive`
#    handshake (and then drops the link: the migration aborts, the origin
#    carries on); replaying the client's bytes to a receiver with the same
#    token is refused and launches nothing;
#  - replaying the recorded server side (challenge + proof) to a new
#    `hop migrate` is refused too.
# timeout: 120
. "$(dirname "$0")/../faults/flib.sh"

PROG=$(ft_build x86_64) || ft_die "build"
ft_origin x86_64 "$PROG"
ft_door
REAL=$PORT

# the recorder: accepts hop migrate, relays the handshake to the real
# receiver, writes both directions' frames to files, then cuts both links
python3 - "$REAL" "$FT_DIR" <<'PY' &
import os, socket, sys
sys.path.insert(0, os.environ["HOP_ROOT"] + "/tests/hostile")
import hopwire as w
real, d = sys.argv[1], sys.argv[2]
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(1)
open(d + "/mitm.tmp", "w").write(str(ls.getsockname()[1])); os.rename(d + "/mitm.tmp", d + "/mitmport")
s, _ = ls.accept(); cli = w.Conn(s); srv = w.connect(real)
c2s, s2c = b"", b""
for want_from_client, want_from_server in (("AUTH_HELLO", "AUTH_CHALLENGE"), ("AUTH_PROOF", "AUTH_OK")):
    p = cli.expect(want_from_client); f = w.frame(want_from_client, p); c2s += f; srv.send(f)
    p = srv.expect(want_from_server); f = w.frame(want_from_server, p); s2c += f; cli.send(f)
open(d + "/c2s", "wb").write(c2s); open(d + "/s2c", "wb").write(s2c)
cli.close(); srv.close()
PY
MPID=$!
FT_PIDS+=("$MPID")
ft_wait_file "$FT_DIR/mitmport" . 10 || ft_die "recorder did not start"
RESULT=$(hop migrate --to 127.0.0.1:"$(cat "$FT_DIR/mitmport")" --token-file "$FT_DIR/token" --json --quiet "$OPID" 2>>"$FT_DIR/migrate.err")
echo "recorded migration: $RESULT"
wait "$MPID" || ft_die "recorder failed"
echo "$RESULT" | grep -q '"result": "aborted"' || ft_die "migration through a cut link did not abort"
ft_check "$OPID" "$OOUT"
[ -s "$FT_DIR/c2s" ] && [ -s "$FT_DIR/s2c" ] || ft_die "nothing recorded"
# the real receiver authenticated the recorder and launched its CMD: that door is used up
ft_wait_file "$FT_DIR/launched" launched 10 || ft_die "the recorded handshake was not a good one"
rm -f "$FT_DIR/launched"

# replay the client's side to a fresh receiver with the same token
ft_door
python3 - "$PORT" "$FT_DIR/c2s" <<'PY' || ft_die "client replay"
import os, sys
sys.path.insert(0, os.environ["HOP_ROOT"] + "/tests/hostile")
import hopwire as w
c = w.connect(sys.argv[1])
rec = open(sys.argv[2], "rb").read()
hello, proof = rec[:16 + 41], rec[16 + 41:]
c.send(hello)
ch = c.expect("AUTH_CHALLENGE")        # a fresh server nonce
c.send(proof)                           # the old proof: for the old nonce
try:
    t, p = c.recv_frame(8)
    raise SystemExit("replayed proof answered with %s" % w.NAME.get(t))
except w.Closed:
    print("client replay refused: ok")
PY
ft_wait_file "$DERR" "refused .*peer does not know the token" 10 || ft_die "receiver did not log the refusal"
ft_alive "$RPID" || ft_die "receiver exited"
ft_launched && ft_die "a replayed handshake launched CMD"

# replay the server's side to a new hop migrate
python3 - "$FT_DIR" <<'PY' &
import os, socket, sys
sys.path.insert(0, os.environ["HOP_ROOT"] + "/tests/hostile")
import hopwire as w
d = sys.argv[1]
rec = open(d + "/s2c", "rb").read()
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(1)
open(d + "/fake.tmp", "w").write(str(ls.getsockname()[1])); os.rename(d + "/fake.tmp", d + "/fakeport")
s, _ = ls.accept(); c = w.Conn(s)
c.expect("AUTH_HELLO")                  # a fresh client nonce
c.send(rec[:16 + 64])                   # the old challenge and proof
open(d + "/fake.out", "w").write("closed\n" if c.closed_within(8) else "still open\n")
PY
FPID=$!
FT_PIDS+=("$FPID")
ft_wait_file "$FT_DIR/fakeport" . 10 || ft_die "fake destination did not start"
RESULT=$(hop migrate --to 127.0.0.1:"$(cat "$FT_DIR/fakeport")" --token-file "$FT_DIR/token" --json --quiet "$OPID" 2>>"$FT_DIR/migrate.err")
echo "server replay: $RESULT"
echo "$RESULT" | grep -q "destination does not know the token" || ft_die "replayed server proof accepted: $RESULT"
wait "$FPID"
grep -q closed "$FT_DIR/fake.out" || ft_die "hop migrate kept talking after a replayed challenge"
ft_check "$OPID" "$OOUT"
echo PASS
