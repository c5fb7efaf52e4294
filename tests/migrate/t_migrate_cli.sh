#!/usr/bin/env bash
# t_migrate_cli.sh -- the commands around a migration: hop status on a running
# program; hop migrate refuses a PID without a runtime; a program with a
# second thread is refused with a clear message and keeps running; hop
# receive refuses to bind without a token and binds loopback by default.
# timeout: 120
source "$(dirname "$0")/lib.sh"
p=$(mt_build x86_64 "$HOP_ROOT/tests/migrate/static/list.c") || mt_die build
mt_origin x86_64 "$p"
st=$(hop status "$OPID") || mt_die "hop status failed"
echo "$st"
echo "$st" | grep -q "state: idle" || mt_die "status lacks the state"
echo "$st" | grep -q "arch: x86_64" || mt_die "status lacks the arch"

out=$(hop migrate --to 127.0.0.1:1 --token-file "$MT_DIR/token" --json $$ 2>&1)
echo "$out" | grep -q "runs no hop runtime" || mt_die "migrating a non-hop process: $out"

cat >"$MT_DIR/threaded.c" <<'C'
#include <pthread.h>
#include <unistd.h>
#include "mtest.h"
static void *spin(void *a) { for (;;) sleep(1); return a; }
static void check(void) {}
int main(void) {
	pthread_t t;
	mt_start();
	pthread_create(&t, NULL, spin, NULL);
	mt_ready();
	for (;;) { HOP_POINT(tick); if (mt_after_point(check)) return 0; usleep(1000); }
}
C
pt=$(mt_build x86_64 "$MT_DIR/threaded.c") || mt_die build
o_save=$OPID
mt_origin x86_64 "$pt"
mt_migrate x86_64 "$pt"
mt_expect_aborted
echo "$RESULT" | grep -q "thread" || mt_die "threads not named in the refusal: $RESULT"
OPID=$o_save

hop receive --listen 0 --token-file /nonexistent -- true 2>"$MT_DIR/r.err" && mt_die "receive without a token file"
grep -q "token" "$MT_DIR/r.err" || mt_die "no message about the token"
hop receive --listen 0 --port-file "$MT_DIR/p" --token-file "$MT_DIR/token" -- true 2>"$MT_DIR/r2.err" &
r=$!
MT_PIDS+=("$r")
for ((i = 0; i < 100; i++)); do [ -s "$MT_DIR/p" ] && break; sleep 0.05; done
ss -ltn 2>/dev/null | grep ":$(cat "$MT_DIR/p") " | grep -q "127.0.0.1" || mt_die "default bind is not loopback"
kill "$r"
echo "cli ok"
