#!/usr/bin/env bash
# t_track_qemu.sh -- the mprotect tracker under qemu-user (where userfaultfd
# is ENOSYS) on i686, s390x, powerpc and aarch64: the fixture built with
# `hop cc --target T` starts tracking (auto must pick mprotect there), writes
# globals and heap, and lets the kernel (qemu's syscall emulation, which
# fails with EFAULT on a guest page without PAGE_WRITE just like Linux) write
# into tracked memory through the wrappers; all calls succeed, all pages are
# reported dirty, zeroing through libc leaves zeroes. track_threads.c: the
# program's thread and hop-shaped threads (agent, worker) take write faults
# at once; each keeps its own thread-local storage (qemu-i386 shares the GDT).
# timeout: 400
set -u
cd "${HOP_ROOT:-$(dirname "$0")/../..}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
declare -A QEMU=([i686]=qemu-i386 [s390x]=qemu-s390x [powerpc]=qemu-ppc [aarch64]=qemu-aarch64)
declare -A TRIPLE=([i686]=i686-linux-gnu [s390x]=s390x-linux-gnu [powerpc]=powerpc-linux-gnu [aarch64]=aarch64-linux-gnu)
rc=0 ran=0
for t in i686 s390x powerpc aarch64; do
	q=${QEMU[$t]}
	if ! command -v "$q" >/dev/null || ! command -v "${TRIPLE[$t]}-gcc" >/dev/null; then
		echo "$t: no $q or cross compiler, skipped"; continue
	fi
	if ! bin/hop cc --target "$t" -O1 -Isrc/lib -o "$tmp/prog.$t" tests/runtime/track_prog.c; then
		echo "$t: hop cc failed"; rc=1; continue
	fi
	for mode in auto mprotect; do
		out=$(HOP_TRACK=$mode timeout 60 "$q" -L "/usr/${TRIPLE[$t]}" "$tmp/prog.$t" "$tmp/prog.$t" 2>&1)
		if [ "$out" = "ok mprotect" ]; then
			echo "$t HOP_TRACK=$mode: $out"
		else
			echo "$t HOP_TRACK=$mode: FAILED"; echo "$out" | sed 's/^/    /'; rc=1
		fi
	done
	if ! bin/hop cc --target "$t" -O1 -Isrc/lib -o "$tmp/threads.$t" tests/runtime/track_threads.c -lpthread; then
		echo "$t: hop cc failed (track_threads)"; rc=1; continue
	fi
	for i in 1 2 3; do
		out=$(HOP_TRACK=mprotect timeout 120 "$q" -L "/usr/${TRIPLE[$t]}" "$tmp/threads.$t" 2>&1)
		if [ "$out" != "ok mprotect" ]; then
			echo "$t threads (run $i): FAILED"; echo "$out" | sed 's/^/    /'; rc=1; break
		fi
	done
	[ "$out" = "ok mprotect" ] && echo "$t threads: 3 runs ok"
	# forced uffd must fail clearly under qemu
	out=$(HOP_TRACK=uffd "$q" -L "/usr/${TRIPLE[$t]}" "$tmp/prog.$t" 2>&1)
	if echo "$out" | grep -q "userfaultfd"; then echo "$t HOP_TRACK=uffd: refused clearly"; else
		echo "$t HOP_TRACK=uffd: unexpected: $out"; rc=1; fi
	ran=$((ran + 1))
done
[ $ran -eq 0 ] && { echo "no qemu-user targets available"; exit 77; }
exit $rc
