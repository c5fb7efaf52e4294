/* track.h -- dirty tracking: which pages of the program's migratable memory
 * were written since the last look (the delta queue).
 *
 * Tracked: the executable's writable data (.data and .bss, found from the
 * linker symbols __data_start and _end, page aligned outward: pages shared
 * with .got or copy-relocated libc variables are tracked too, harmlessly) and
 * every heap mapping, including ones the heap creates while tracking runs.
 *
 * Two backends behind one ops struct (track_uffd.c, track_mprotect.c):
 *   "uffd"      userfaultfd write-protect with UFFD_FEATURE_WP_ASYNC, read and
 *               re-armed with the PAGEMAP_SCAN ioctl; kernel writes just work.
 *   "mprotect"  PROT_READ + a SIGSEGV handler; portable (qemu-user). The
 *               wrappers in wrap.c keep system calls from meeting a protected
 *               page (the syscall window below).
 * Choice: $HOP_TRACK = auto (default: uffd if the kernel has it, else
 * mprotect) | uffd (fail clearly without it) | mprotect.
 *
 * Threads: start/collect/stop are called by one thread (the agent); the
 * program keeps running meanwhile. Idle cost (not tracking): none in the
 * program's writes; each wrapped system call with a buffer of arbitrary size
 * pays one atomic store to announce its window. See docs/runtime-memory.md.
 */
#ifndef HOP_TRACK_H
#define HOP_TRACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Start tracking (all pages count as clean from here on). 0, HOP_EBUSY if
 * already tracking, HOP_ENOTSUP if the forced backend is not available here,
 * HOP_ESYS. */
int hop__track_start(void);

/* Hand every page range written since the last collect (or start) to fn,
 * as page-aligned [start, end), and re-arm those pages, atomically with
 * respect to the program's writes: a write that fn's caller cannot have seen
 * is reported by the next collect. fn is called after re-arming, outside any
 * tracker lock, so reading the pages then sees every write already counted.
 * Pages the program is handing to a system call right now (mprotect backend)
 * are reported and stay dirty for the next collect as well.
 * Returns the number of dirty pages (>= 0), or HOP_E*; if fn returns non-zero,
 * reporting stops and that value is returned (the rest is lost: abort the
 * migration then). */
long hop__track_collect(int (*fn)(void *ctx, uintptr_t start, uintptr_t end), void *ctx);

/* The same for the last collect of a migration, with the program parked:
 * nothing is collected after it, so the pages are not re-armed (the uffd
 * backend's PAGEMAP_SCAN walks without write-protecting, the mprotect
 * backend makes no mprotect call): 330 -> 150 us for a 256 MiB heap, all of
 * it inside the pause. Stop tracking after it. */
long hop__track_collect_last(int (*fn)(void *ctx, uintptr_t start, uintptr_t end), void *ctx);

/* Stop tracking, unprotect everything. Safe to call when not tracking. */
void hop__track_stop(void);

/* "uffd", "mprotect", or "none" when not tracking. */
const char *hop__track_backend_name(void);

/* 1 while tracking. */
int hop__track_active(void);

/* Track one more range of the process (page aligned outward); while tracking
 * or before start. 0 or HOP_E*. */
int hop__track_add_range(uintptr_t start, uintptr_t end);

/* Cumulative counters, for benchmarks and `hop status`. */
struct hop_track_stats {
	uint64_t faults;    /* write faults taken (mprotect) */
	uint64_t collects;
	uint64_t windows;   /* syscall windows that had to unprotect pages */
	uint64_t escalations; /* ranges unprotected whole to stay under vm.max_map_count */
};
void hop__track_stats(struct hop_track_stats *st);

/* ---- the syscall window (used by wrap.c) --------------------------------
 * A wrapper announces the memory a system call will write, for the duration
 * of the call: hop__track_win_open() returns a handle for
 * hop__track_win_close(). While the mprotect tracker runs, open() makes the
 * tracked pages of the window writable and dirty, and the collector does
 * not re-protect pages of an open window; a tracker that starts while a
 * call is blocked (read on a socket) sees its window and leaves those pages
 * writable. Not tracking: one atomic store each way. */
int hop__track_win_open(const void *p, size_t n);
int hop__track_win_open_iov(const struct iovec *iov, int cnt);
void hop__track_win_close(int w);

/* ---- backends (track_*.c) -------------------------------------------------- */

/* A tracked range, as the generic part keeps it. The array of ranges is
 * append-only while tracking (the heap holds freed huge blocks mapped). */
struct hop__trange {
	uintptr_t start, end;
	uint8_t *dirty;    /* mprotect: one byte per page, 1 = written (unprotected) */
	int all_dirty;     /* mprotect: whole range unprotected (max_map_count escalation) */
	int runs;          /* mprotect: unprotected runs inside (estimate) */
	int ready;         /* the backend armed it: collect may look at it */
};

struct hop__track_ops {
	const char *name;
	int (*open)(void);                               /* probe + set up: 0 or HOP_E* */
	int (*add)(struct hop__trange *r);               /* protect a new range */
	/* report dirty runs of r through emit (start, end); re-arm them */
	/* rearm 0: the last collect, the pages may stay as they are */
	int (*collect)(struct hop__trange *r, int (*emit)(uintptr_t s, uintptr_t e), int rearm);
	void (*close)(void);                             /* unprotect all, release */
};
extern const struct hop__track_ops hop__track_uffd, hop__track_mprotect;

/* Shared state the backends use. */
extern size_t hop__track_page;
size_t hop__track_nranges(void);
struct hop__trange *hop__track_range(size_t i);
/* The range containing addr, or NULL (lock-free, signal safe). */
struct hop__trange *hop__track_find(uintptr_t addr);
/* Is any byte of [s, e) inside an open syscall window? (collector, under the lock) */
int hop__track_in_window(uintptr_t s, uintptr_t e);
/* The tracker's spinlock (collector and windows; never the signal handler). */
void hop__track_lock(void);
void hop__track_unlock(void);
/* 1 while the mprotect tracker protects pages (signal handler, windows). */
int hop__track_armed(void);
/* Windows announced before the mprotect tracker armed: fn for each range. */
void hop__track_windows(void (*fn)(uintptr_t s, uintptr_t e));
/* counters */
extern unsigned long *hop__track_ctr; /* [0] faults [1] collects [2] windows [3] escalations */

#endif
