#!/usr/bin/env bash
# t_track_wrap.sh -- native x86_64: a hop program lets the kernel write into
# tracked globals and heap through the wrapped system calls (read, recv,
# readv, recvmsg, stat, clock_gettime, poll, select, pipe, waitpid, fread ...)
# under both dirty trackers; every call succeeds and every page is reported.
# track_threads.c: the program's thread and hop-shaped threads fault at once.
# timeout: 120
set -u
cd "${HOP_ROOT:-$(dirname "$0")/../..}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin/hop cc --target x86_64 -O1 -Isrc/lib -o "$tmp/prog" tests/runtime/track_prog.c || { echo "hop cc failed"; exit 1; }
rc=0
HOP_TRACK=mprotect "$tmp/prog" || rc=1
if HOP_TRACK=uffd "$tmp/prog" 2>"$tmp/err"; then :; else
	if grep -q "not available\|lacks" "$tmp/err"; then
		echo "uffd not available here: $(cat "$tmp/err")"
	else
		cat "$tmp/err"; rc=1
	fi
fi
bin/hop cc --target x86_64 -O1 -Isrc/lib -o "$tmp/threads" tests/runtime/track_threads.c -lpthread || { echo "hop cc failed"; exit 1; }
HOP_TRACK=mprotect "$tmp/threads" || rc=1
# a small run budget forces the max_map_count escalation path on the way
HOP_TRACK=mprotect HOP_TRACK_MAX_RUNS=16 "$tmp/prog" || rc=1
exit $rc
