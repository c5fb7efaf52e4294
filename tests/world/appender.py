#!/usr/bin/env python3
"""appender.py DIR -- a program writing its data directory while it is synced:
appends numbered lines to DIR/log (flushing each), and every 20 ms rewrites
64 bytes in place somewhere in DIR/big. Runs until killed; a SIGSTOP is the
freeze."""
import os, random, sys, time
d = sys.argv[1]
log = open(os.path.join(d, "log"), "a")
big = os.open(os.path.join(d, "big"), os.O_RDWR)
size = os.fstat(big).st_size
n = 0
last = time.time()
while True:
    log.write("line %d %s\n" % (n, "x" * (n % 50)))
    log.flush()
    n += 1
    if time.time() - last > 0.02:
        os.pwrite(big, os.urandom(64), random.randrange(0, size - 64))
        last = time.time()
    time.sleep(0.001)
