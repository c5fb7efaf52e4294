#!/usr/bin/env bash
# A peer with the wrong token, from either side: `hop receive` refuses it,
# launches nothing and keeps listening; `hop migrate` refuses a destination
# that does not know the token and never hands it the origin's connection;
# the origin carries on with its state intact.
# timeout: 120
. "$(dirname "$0")/../faults/flib.sh"

PROG=$(ft_build x86_64) || ft_die "build"
ft_origin x86_64 "$PROG"
ft_door

# 1. the real hop migrate with a wrong token
head -c 32 /dev/urandom | base64 >"$FT_DIR/wrong"
chmod 600 "$FT_DIR/wrong"
RESULT=$(hop migrate --to 127.0.0.1:"$PORT" --token-file "$FT_DIR/wrong" --json --quiet "$OPID" 2>>"$FT_DIR/migrate.err")
MRC=$?
echo "wrong token: $RESULT"
[ $MRC != 0 ] || ft_die "hop migrate succeeded with a wrong token"
echo "$RESULT" | grep -q '"result": "aborted"' || ft_die "no aborted result: $RESULT"
echo "$RESULT" | grep -q "does not know the token" || ft_die "error does not say why: $RESULT"
# the client checks the server's proof first and hangs up: the receiver sees it go
ft_wait_file "$DERR" "refused 127.0.0.1" 10 || ft_die "receiver did not log the refusal"
ft_alive "$RPID" || ft_die "hop receive exited after an unauthenticated peer"
ft_launched && ft_die "CMD was launched for an unauthenticated peer"
grep -q "migrating pid" "$OERR" && ft_die "the origin was handed the connection"
ft_check "$OPID" "$OOUT"

# 2. a client that does not know the token (sends a made-up proof)
python3 - "$PORT" <<'PY' || ft_die "python client (wrong proof)"
import os, sys
sys.path.insert(0, os.environ["HOP_ROOT"] + "/tests/hostile")
import hopwire as w
c = w.connect(sys.argv[1])
c.send_frame("AUTH_HELLO", w.hello_payload(os.urandom(32)))
ch = c.expect("AUTH_CHALLENGE")
assert len(ch) == 64, len(ch)
c.send_frame("AUTH_PROOF", os.urandom(32))
try:
    t, p = c.recv_frame(8)
    raise SystemExit("got %s after a wrong proof" % w.NAME.get(t))
except w.Closed:
    print("closed after a wrong proof: ok")
PY
ft_wait_file "$DERR" "refused .*peer does not know the token" 10 || ft_die "no refusal logged"

# 3. a fake destination that does not know the token: hop migrate refuses it
python3 - "$FT_DIR" <<'PY' &
import os, socket, sys
sys.path.insert(0, os.environ["HOP_ROOT"] + "/tests/hostile")
import hopwire as w
d = sys.argv[1]
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(1)
open(d + "/fakeport.tmp", "w").write(str(ls.getsockname()[1])); os.rename(d + "/fakeport.tmp", d + "/fakeport")
s, _ = ls.accept(); c = w.Conn(s)
h = c.expect("AUTH_HELLO")
c.send_frame("AUTH_CHALLENGE", os.urandom(64))   # a nonce and a MAC it cannot compute
open(d + "/fake.out", "w").write("closed\n" if c.closed_within(8) else "still open\n")
PY
FPID=$!
FT_PIDS+=("$FPID")
ft_wait_file "$FT_DIR/fakeport" . 10 || ft_die "fake destination did not start"
RESULT=$(hop migrate --to 127.0.0.1:"$(cat "$FT_DIR/fakeport")" --token-file "$FT_DIR/token" --json --quiet "$OPID" 2>>"$FT_DIR/migrate.err")
MRC=$?
echo "fake destination: $RESULT"
[ $MRC != 0 ] || ft_die "hop migrate accepted a destination without the token"
echo "$RESULT" | grep -q "destination does not know the token" || ft_die "error does not say why: $RESULT"
wait "$FPID"
grep -q closed "$FT_DIR/fake.out" || ft_die "hop migrate kept talking to the fake destination"
grep -q "migrating pid" "$OERR" && ft_die "the origin was handed a connection to the fake destination"
ft_check "$OPID" "$OOUT"

# 4. the door still works for the right token
python3 - "$PORT" "$FT_DIR/token" <<'PY' || ft_die "right token refused"
import os, sys
sys.path.insert(0, os.environ["HOP_ROOT"] + "/tests/hostile")
import hopwire as w
c = w.connect(sys.argv[1])
w.auth_client(c, w.key_of(sys.argv[2]))
print("authenticated")
PY
ft_wait_file "$FT_DIR/launched" launched 10 || ft_die "CMD not launched for the right token"
echo "PASS"
