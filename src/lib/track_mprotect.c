/* track_mprotect.c -- the portable dirty tracker: PROT_READ + SIGSEGV.
 *
 * Tracked pages are write-protected; the first write to one faults, the
 * handler marks the page written (a byte per page) and makes it writable;
 * collect reports the written pages and protects them again. Works wherever
 * mprotect does, including qemu-user (where userfaultfd is ENOSYS).
 *
 * Two hazards and what we do about them (docs/runtime-memory.md):
 *  - A kernel write into a protected page (read(2) into it) fails with EFAULT
 *    and raises no signal. The wrappers in wrap.c announce such memory as a
 *    syscall window; windows are unprotected before the call (under the
 *    tracker lock) and never re-protected while open, and arming leaves the
 *    pages of already-open windows writable.
 *  - Every writable page inside a protected range splits a VMA, and
 *    vm.max_map_count (65530) bounds the VMAs of a process. We keep an
 *    estimate of the writable runs inside protected ranges; when one more
 *    would pass the budget (or mprotect says ENOMEM), the whole range is
 *    made writable and counted dirty as a whole ("escalation"), which merges
 *    its VMAs back into one. Collect re-protects a range with more than half
 *    of its pages dirty in one call.
 *
 * The handler takes no lock: it makes the page writable first and marks it
 * second, while collect clears the mark first and protects second, so a
 * write is always either seen by this collect or marked for the next one.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "err.h"
#include "thread.h"
#include "track.h"

#define MAX_SNAP 64

struct mstate {
	long runs;        /* writable runs inside protected ranges (estimate) */
	long budget;      /* most runs we allow (from vm.max_map_count) */
	uintptr_t last_fault;
	uintptr_t snap[MAX_SNAP][2]; /* open windows, page aligned (collector) */
	size_t nsnap;
	int snap_over;
};

static struct mstate *M;
static struct sigaction old_sa;
static int installed;

static size_t npages(const struct hop__trange *r)
{
	return (r->end - r->start) / hop__track_page;
}

/* ---- the fault handler ------------------------------------------------------ */

static int escalate(struct hop__trange *r)
{
	if (mprotect((void *)r->start, r->end - r->start, PROT_READ | PROT_WRITE) < 0)
		return -1;
	__atomic_store_n(&r->all_dirty, 1, __ATOMIC_SEQ_CST);
	long n = __atomic_exchange_n(&r->runs, 0, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&M->runs, n, __ATOMIC_RELAXED);
	__atomic_fetch_add(&hop__track_ctr[3], 1, __ATOMIC_RELAXED);
	return 0;
}

static int mark_written(struct hop__trange *r, uintptr_t a)
{
	size_t ps = hop__track_page, n = npages(r);
	uintptr_t pg = a & ~(uintptr_t)(ps - 1);
	size_t i = (pg - r->start) / ps;

	if (!__atomic_load_n(&r->dirty, __ATOMIC_ACQUIRE))
		return -1; /* not protected by us (yet) */
	__atomic_fetch_add(&hop__track_ctr[0], 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&r->all_dirty, __ATOMIC_SEQ_CST))
		return mprotect((void *)pg, ps, PROT_READ | PROT_WRITE);
	int left = i > 0 && __atomic_load_n(&r->dirty[i - 1], __ATOMIC_RELAXED);
	int right = i + 1 < n && __atomic_load_n(&r->dirty[i + 1], __ATOMIC_RELAXED);
	long delta = 1 - left - right;
	if (delta > 0 && __atomic_load_n(&M->runs, __ATOMIC_RELAXED) + delta > M->budget)
		return escalate(r);
	if (mprotect((void *)pg, ps, PROT_READ | PROT_WRITE) < 0)
		return errno == ENOMEM ? escalate(r) : -1;
	__atomic_store_n(&r->dirty[i], 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&M->runs, delta, __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->runs, delta, __ATOMIC_RELAXED);
	return 0;
}

/* Not our fault: do what would have happened without us. */
static void pass_on(int sig, siginfo_t *si, void *uc)
{
	if ((old_sa.sa_flags & SA_SIGINFO) && old_sa.sa_sigaction) {
		old_sa.sa_sigaction(sig, si, uc);
		return;
	}
	if (!(old_sa.sa_flags & SA_SIGINFO) && old_sa.sa_handler != SIG_DFL && old_sa.sa_handler != SIG_IGN) {
		old_sa.sa_handler(sig);
		return;
	}
	/* default action: restore it; the faulting instruction runs again and
	 * the process dies as it would have (a sent signal is raised again) */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	if (si->si_code <= 0)
		raise(sig);
}


static void on_segv(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	/* qemu-i386: our return reloads %gs from a GDT all threads share; each of
	 * hop's threads has a descriptor of its own (thread.c), this is a safety
	 * net for the one the program's thread uses */
	hop__tls_keep();
	if (si->si_code > 0) {
		uintptr_t a = (uintptr_t)si->si_addr;
		struct hop__trange *r = hop__track_find(a);
		if (r) {
			if (hop__track_armed()) {
				if (mark_written(r, a) == 0) {
					errno = saved;
					return;
				}
			} else if (M->last_fault != a) {
				/* tracking just stopped; the page is writable again: retry once */
				M->last_fault = a;
				errno = saved;
				return;
			}
		}
	}
	errno = saved;
	pass_on(sig, si, uc);
}

/* ---- windows ------------------------------------------------------------------- */

/* Called by track.c for a syscall window while armed: make the tracked pages
 * of [s, e) writable and dirty, under the lock so collect cannot interleave. */
void hop__track_mprotect_window(uintptr_t s, uintptr_t e);
void hop__track_mprotect_window(uintptr_t s, uintptr_t e)
{
	size_t ps = hop__track_page;
	s &= ~(uintptr_t)(ps - 1);
	e = (e + ps - 1) & ~(uintptr_t)(ps - 1);
	hop__track_lock();
	size_t nr = hop__track_nranges();
	for (size_t k = 0; k < nr; k++) {
		struct hop__trange *r = hop__track_range(k);
		uintptr_t a = s > r->start ? s : r->start, b = e < r->end ? e : r->end;
		if (a >= b || __atomic_load_n(&r->all_dirty, __ATOMIC_SEQ_CST))
			continue;
		__atomic_fetch_add(&hop__track_ctr[2], 1, __ATOMIC_RELAXED);
		if (mprotect((void *)a, b - a, PROT_READ | PROT_WRITE) < 0) {
			escalate(r); /* ENOMEM (map count): the whole range then */
			continue;
		}
		for (uintptr_t p = a; p < b; p += ps)
			__atomic_store_n(&r->dirty[(p - r->start) / ps], 1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&r->runs, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&M->runs, 1, __ATOMIC_RELAXED);
	}
	hop__track_unlock();
}

static void snap_cb(uintptr_t s, uintptr_t e)
{
	size_t ps = hop__track_page;
	if (M->nsnap == MAX_SNAP) {
		M->snap_over = 1;
		return;
	}
	M->snap[M->nsnap][0] = s & ~(uintptr_t)(ps - 1);
	M->snap[M->nsnap][1] = (e + ps - 1) & ~(uintptr_t)(ps - 1);
	M->nsnap++;
}

/* Take the open windows (tracker lock held). */
static void snap_windows(void)
{
	M->nsnap = 0;
	M->snap_over = 0;
	hop__track_windows(snap_cb);
}

/* Clear the marks of [s, e) and protect it, except pages in an open window
 * (those stay writable and marked). Returns the number of window pieces kept. */
static int protect_except_windows(struct hop__trange *r, uintptr_t s, uintptr_t e)
{
	size_t ps = hop__track_page;
	int kept = 0;
	while (s < e) {
		/* the first window overlapping [s, e) */
		uintptr_t ws = e, we = e;
		for (size_t k = 0; k < M->nsnap; k++) {
			uintptr_t a = M->snap[k][0] > s ? M->snap[k][0] : s;
			uintptr_t b = M->snap[k][1] < e ? M->snap[k][1] : e;
			if (a < b && a < ws) {
				ws = a;
				we = b;
			}
		}
		if (M->snap_over) /* too many windows to tell: keep everything writable */
			ws = s, we = e;
		if (ws > s) {
			for (uintptr_t p = s; p < ws; p += ps)
				__atomic_store_n(&r->dirty[(p - r->start) / ps], 0, __ATOMIC_SEQ_CST);
			if (mprotect((void *)s, ws - s, PROT_READ) < 0) {
				escalate(r);
				return kept;
			}
		}
		if (we > ws) {
			for (uintptr_t p = ws; p < we; p += ps)
				__atomic_store_n(&r->dirty[(p - r->start) / ps], 1, __ATOMIC_SEQ_CST);
			kept++;
		}
		s = we;
	}
	return kept;
}

/* ---- the backend --------------------------------------------------------------- */

static long read_long_file(const char *path, long dflt)
{
	FILE *f = fopen(path, "re");
	long v = dflt;
	if (!f)
		return dflt;
	if (fscanf(f, "%ld", &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

static long count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	long n = 0;
	int c;
	if (!f)
		return 1000;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static int mp_open(void)
{
	if (!M) {
		void *p = mmap(NULL, sizeof(*M), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return hop__sysfail("mprotect tracker: mmap");
		M = p;
	}
	M->runs = 0;
	M->last_fault = 0;
	/* Each writable run inside a protected range costs up to two VMAs. Leave
	 * room for the program's own mappings to grow. */
	long max = read_long_file("/proc/sys/vm/max_map_count", 65530);
	long budget = (max - count_maps() - 8192) / 2;
	const char *env = getenv("HOP_TRACK_MAX_RUNS");
	if (env && *env)
		budget = atol(env);
	M->budget = budget < 16 ? 16 : budget;
	/* (Re)install unless ours is the current handler: the program may have
	 * installed its own since the last run; it becomes the one we pass on to. */
	struct sigaction cur;
	if (sigaction(SIGSEGV, NULL, &cur) == 0 && (!(cur.sa_flags & SA_SIGINFO) || cur.sa_sigaction != on_segv))
		installed = 0;
	/* With lazy binding, the first call of a libc function through the PLT
	 * writes its .got.plt slot -- which lies in the tracked data range. In
	 * the program that is an ordinary fault; inside the handler it would be
	 * a fault in the handler, fatal. So call what the handler calls once now. */
	int e = errno;
	mprotect(M, sizeof(*M), PROT_READ | PROT_WRITE);
	raise(0);
	errno = e;
	if (!installed) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_segv;
		sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGSEGV, &sa, &old_sa) < 0)
			return hop__sysfail("mprotect tracker: sigaction(SIGSEGV)");
		installed = 1; /* stays after stop: a fault in flight then must still find us */
	}
	return 0;
}

static int mp_add(struct hop__trange *r)
{
	size_t n = npages(r);
	void *d = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (d == MAP_FAILED)
		return hop__sysfail("mprotect tracker: mmap of %zu page marks", n);
	__atomic_store_n(&r->dirty, (uint8_t *)d, __ATOMIC_RELEASE);
	snap_windows();
	int kept = protect_except_windows(r, r->start, r->end);
	r->runs = kept;
	__atomic_fetch_add(&M->runs, kept, __ATOMIC_RELAXED);
	return 0;
}

static int mp_collect(struct hop__trange *r, int (*emit)(uintptr_t s, uintptr_t e), int rearm)
{
	size_t ps = hop__track_page, n = npages(r);
	int rc = 0;

	hop__track_lock();
	snap_windows();
	long old_runs = __atomic_load_n(&r->runs, __ATOMIC_RELAXED);
	if (__atomic_load_n(&r->all_dirty, __ATOMIC_SEQ_CST)) {
		rc = emit(r->start, r->end);
		if (!rearm) {
			hop__track_unlock();
			return rc;
		}
		__atomic_store_n(&r->all_dirty, 0, __ATOMIC_SEQ_CST);
		int kept = protect_except_windows(r, r->start, r->end);
		__atomic_store_n(&r->runs, kept, __ATOMIC_RELAXED);
		__atomic_fetch_add(&M->runs, kept - old_runs, __ATOMIC_RELAXED);
		hop__track_unlock();
		return rc;
	}
	size_t ndirty = 0;
	for (size_t i = 0; i < n; i++)
		ndirty += r->dirty[i] != 0;
	if (ndirty == 0) {
		hop__track_unlock();
		return 0;
	}
	for (size_t i = 0; i < n && rc == 0;) {
		if (!__atomic_load_n(&r->dirty[i], __ATOMIC_SEQ_CST)) {
			i++;
			continue;
		}
		size_t j = i + 1;
		while (j < n && __atomic_load_n(&r->dirty[j], __ATOMIC_SEQ_CST))
			j++;
		rc = emit(r->start + i * ps, r->start + j * ps);
		i = j;
	}
	if (!rearm) {
		hop__track_unlock();
		return rc;
	}
	int kept;
	if (ndirty * 2 > n) {
		/* mostly dirty: one call for the whole range */
		kept = protect_except_windows(r, r->start, r->end);
	} else {
		kept = 0;
		for (size_t i = 0; i < n;) {
			if (!__atomic_load_n(&r->dirty[i], __ATOMIC_SEQ_CST)) {
				i++;
				continue;
			}
			size_t j = i + 1;
			while (j < n && __atomic_load_n(&r->dirty[j], __ATOMIC_SEQ_CST))
				j++;
			kept += protect_except_windows(r, r->start + i * ps, r->start + j * ps);
			i = j;
		}
	}
	/* runs added by faults during this collect are counted by them */
	__atomic_fetch_add(&r->runs, kept - old_runs, __ATOMIC_RELAXED);
	__atomic_fetch_add(&M->runs, kept - old_runs, __ATOMIC_RELAXED);
	hop__track_unlock();
	return rc;
}

static void mp_close(void)
{
	size_t n = hop__track_nranges();
	hop__track_lock();
	for (size_t i = 0; i < n; i++) {
		struct hop__trange *r = hop__track_range(i);
		mprotect((void *)r->start, r->end - r->start, PROT_READ | PROT_WRITE);
	}
	hop__track_unlock();
}

const struct hop__track_ops hop__track_mprotect = {
	.name = "mprotect",
	.open = mp_open,
	.add = mp_add,
	.collect = mp_collect,
	.close = mp_close,
};
