/* track.c -- dirty tracking, the generic part: which ranges are tracked,
 * the backend choice, collect, and the syscall windows of wrap.c.
 *
 * Everything the tracker writes while tracking lives in memory it mmap'ed
 * itself (struct tstate), never in the executable's .data/.bss, which is
 * itself tracked: a SIGSEGV handler that wrote a protected global would fault
 * inside itself. Backends: track_uffd.c, track_mprotect.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "err.h"
#include "heap.h"
#include "track.h"

#define MAX_RANGES 16384
#define SLOTS_PER_THREAD 4
#define MAX_THREADS 64
#define NSLOT (SLOTS_PER_THREAD * MAX_THREADS)

enum { WIN_FREE = 0, WIN_RANGE = 1, WIN_IOV = 2 };

struct win {
	uintptr_t a, b; /* RANGE: [a, b); IOV: iov array, count */
	int kind;
};

struct tstate {
	int lock;
	int nthreads;
	size_t nranges;
	struct hop__trange ranges[MAX_RANGES];
	struct win win[NSLOT];
	unsigned long ctr[4]; /* word-sized: 32-bit powerpc has no 8-byte atomics */
	uintptr_t (*out)[2]; /* collect's runs, before they go to fn */
	size_t nout, capout;
	long pages;
	int lost;            /* a range could not be tracked: collect fails */
	int armed;           /* the mprotect tracker protects pages: windows must unprotect */
	uintptr_t iw_s, iw_e; /* hop__track_in_window's query */
	int iw_hit;
};

static struct tstate *T;
static const struct hop__track_ops *ops;
size_t hop__track_page;
unsigned long *hop__track_ctr;

static __thread int my_base __attribute__((tls_model("initial-exec"))); /* slot base + 1; 0 = none */
static __thread int my_depth __attribute__((tls_model("initial-exec")));

static int tinit(void)
{
	static int init_lock;
	if (__atomic_load_n(&T, __ATOMIC_ACQUIRE))
		return 0;
	while (__atomic_exchange_n(&init_lock, 1, __ATOMIC_ACQUIRE))
		;
	if (!T) {
		hop__track_page = (size_t)sysconf(_SC_PAGESIZE);
		void *p = mmap(NULL, sizeof(struct tstate), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED) {
			hop__track_ctr = ((struct tstate *)p)->ctr;
			__atomic_store_n(&T, (struct tstate *)p, __ATOMIC_RELEASE);
		}
	}
	__atomic_store_n(&init_lock, 0, __ATOMIC_RELEASE);
	return T ? 0 : -1;
}

void hop__track_lock(void)
{
	while (__atomic_exchange_n(&T->lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&T->lock, __ATOMIC_RELAXED))
			;
}

void hop__track_unlock(void)
{
	__atomic_store_n(&T->lock, 0, __ATOMIC_RELEASE);
}

size_t hop__track_nranges(void)
{
	return T ? __atomic_load_n(&T->nranges, __ATOMIC_ACQUIRE) : 0;
}

struct hop__trange *hop__track_range(size_t i)
{
	return &T->ranges[i];
}

struct hop__trange *hop__track_find(uintptr_t addr)
{
	size_t n = hop__track_nranges();
	for (size_t i = 0; i < n; i++)
		if (T->ranges[i].start <= addr && addr < T->ranges[i].end)
			return &T->ranges[i];
	return NULL;
}

/* ---- syscall windows ----------------------------------------------------- */

/* Pages of [s, e) the mprotect tracker protects: unprotect and mark dirty. */
void hop__track_mprotect_window(uintptr_t s, uintptr_t e);

static int slot(void)
{
	if (!my_base) {
		int t = __atomic_fetch_add(&T->nthreads, 1, __ATOMIC_RELAXED);
		if (t >= MAX_THREADS)
			return -1; /* > 64 threads: such a program is not migrated anyway */
		my_base = t * SLOTS_PER_THREAD + 1;
	}
	if (my_depth >= SLOTS_PER_THREAD)
		return -1;
	return my_base - 1 + my_depth++;
}

static int win_publish(uintptr_t a, uintptr_t b, int kind)
{
	if (!T && tinit() < 0)
		return -1;
	int i = slot();
	if (i < 0)
		return -1;
	T->win[i].a = a;
	T->win[i].b = b;
	/* seq_cst: either the tracker's arming sees this window, or we see it armed */
	__atomic_store_n(&T->win[i].kind, kind, __ATOMIC_SEQ_CST);
	return i;
}

static int armed(void)
{
	return __atomic_load_n(&T->armed, __ATOMIC_SEQ_CST);
}

int hop__track_armed(void)
{
	return T && armed();
}

int hop__track_win_open(const void *p, size_t n)
{
	if (!p || !n)
		return -1;
	uintptr_t a = (uintptr_t)p, b = a + n < a ? UINTPTR_MAX : a + n;
	int i = win_publish(a, b, WIN_RANGE);
	if (i >= 0 && __builtin_expect(armed(), 0))
		hop__track_mprotect_window(a, b);
	return i;
}

int hop__track_win_open_iov(const struct iovec *iov, int cnt)
{
	if (!iov || cnt <= 0)
		return -1;
	int i = win_publish((uintptr_t)iov, (uintptr_t)cnt, WIN_IOV);
	if (i >= 0 && __builtin_expect(armed(), 0))
		for (int k = 0; k < cnt; k++)
			if (iov[k].iov_len)
				hop__track_mprotect_window((uintptr_t)iov[k].iov_base,
							   (uintptr_t)iov[k].iov_base + iov[k].iov_len);
	return i;
}

void hop__track_win_close(int w)
{
	if (w < 0)
		return;
	__atomic_store_n(&T->win[w].kind, WIN_FREE, __ATOMIC_RELEASE);
	my_depth--;
}

void hop__track_windows(void (*fn)(uintptr_t s, uintptr_t e))
{
	for (int i = 0; i < NSLOT; i++) {
		int k = __atomic_load_n(&T->win[i].kind, __ATOMIC_SEQ_CST);
		if (k == WIN_RANGE)
			fn(T->win[i].a, T->win[i].b);
		else if (k == WIN_IOV) {
			const struct iovec *iov = (const struct iovec *)T->win[i].a;
			for (uintptr_t j = 0; j < T->win[i].b; j++)
				if (iov[j].iov_len)
					fn((uintptr_t)iov[j].iov_base, (uintptr_t)iov[j].iov_base + iov[j].iov_len);
		}
	}
}

static void in_window_cb(uintptr_t s, uintptr_t e)
{
	uintptr_t ps = hop__track_page;
	s &= ~(ps - 1);
	e = (e + ps - 1) & ~(ps - 1);
	if (s < T->iw_e && T->iw_s < e)
		T->iw_hit = 1;
}

int hop__track_in_window(uintptr_t s, uintptr_t e)
{
	/* callers hold the tracker lock, so the query fields are theirs */
	T->iw_s = s;
	T->iw_e = e;
	T->iw_hit = 0;
	hop__track_windows(in_window_cb);
	return T->iw_hit;
}

/* ---- ranges -------------------------------------------------------------- */

static int add_range_locked(uintptr_t s, uintptr_t e)
{
	uintptr_t ps = hop__track_page;
	s &= ~(ps - 1);
	e = (e + ps - 1) & ~(ps - 1);
	if (s >= e)
		return 0;
	if (T->nranges >= MAX_RANGES) {
		T->lost = 1;
		return hop__fail(HOP_ENOMEM, "dirty tracking: more than %d ranges", MAX_RANGES);
	}
	struct hop__trange *r = &T->ranges[T->nranges];
	memset(r, 0, sizeof(*r));
	r->start = s;
	r->end = e;
	/* published before the backend protects it, so a fault finds it */
	__atomic_store_n(&T->nranges, T->nranges + 1, __ATOMIC_RELEASE);
	int rc = ops->add(r);
	if (rc < 0)
		T->lost = 1;
	else
		__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
	return rc;
}

int hop__track_add_range(uintptr_t start, uintptr_t end)
{
	if (!ops)
		return hop__fail(HOP_EINVAL, "hop__track_add_range: not tracking");
	hop__track_lock();
	int rc = add_range_locked(start, end);
	hop__track_unlock();
	return rc;
}

/* The heap made a mapping (in the allocating thread, heap lock held). */
static void on_heap_map(void *ctx, uintptr_t s, uintptr_t e, int added)
{
	(void)ctx;
	if (!added)
		return; /* cannot happen while we hold the heap; nothing to undo */
	hop__track_lock();
	add_range_locked(s, e);
	hop__track_unlock();
}

/* The executable's writable data. Linker symbols are simpler and surer than
 * the index here, and need no index at all. */
extern char __data_start[] __attribute__((weak));
extern char data_start[] __attribute__((weak));
extern char _edata[] __attribute__((weak));
extern char _end[] __attribute__((weak));

static int data_range(uintptr_t *s, uintptr_t *e)
{
	char *a = __data_start ? __data_start : data_start ? data_start : _edata;
	if (!a || !_end)
		return -1;
	*s = (uintptr_t)a;
	*e = (uintptr_t)_end;
	return 0;
}

/* ---- start / collect / stop ------------------------------------------------ */

int hop__track_start(void)
{
	if (tinit() < 0)
		return hop__sysfail("dirty tracking: mmap of the tracker's state");
	if (ops)
		return hop__fail(HOP_EBUSY, "dirty tracking is already running (%s)", ops->name);
	const char *want = getenv("HOP_TRACK");
	int rc;
	if (!want || !*want || strcmp(want, "auto") == 0) {
		ops = &hop__track_uffd;
		rc = ops->open();
		if (rc < 0) {
			ops = &hop__track_mprotect;
			rc = ops->open();
		}
	} else if (strcmp(want, "uffd") == 0) {
		ops = &hop__track_uffd;
		rc = ops->open();
	} else if (strcmp(want, "mprotect") == 0) {
		ops = &hop__track_mprotect;
		rc = ops->open();
	} else
		return hop__fail(HOP_EINVAL, "HOP_TRACK=%s: expected auto, uffd or mprotect", want);
	if (rc < 0) {
		ops = NULL;
		return rc;
	}
	/* the previous run's ranges stayed valid for a late fault; drop them now */
	for (size_t i = 0; i < T->nranges; i++)
		if (T->ranges[i].dirty)
			munmap(T->ranges[i].dirty, (T->ranges[i].end - T->ranges[i].start) / hop__track_page);
	__atomic_store_n(&T->nranges, 0, __ATOMIC_SEQ_CST);
	if (ops == &hop__track_mprotect)
		__atomic_store_n(&T->armed, 1, __ATOMIC_SEQ_CST);
	T->lost = 0;
	T->pages = 0;
	hop__clear_error();

	uintptr_t ds, de;
	hop__track_lock();
	rc = data_range(&ds, &de) == 0 ? add_range_locked(ds, de) : 0;
	hop__track_unlock();
	if (rc < 0) {
		hop__track_stop();
		return rc;
	}
	hop__heap_hold(1);
	hop__heap_watch(on_heap_map, NULL);
	if (T->lost) {
		rc = hop__fail(HOP_ESYS, "dirty tracking: a heap range could not be tracked: %s", hop_last_error());
		hop__track_stop();
		return rc;
	}
	return 0;
}

static int emit(uintptr_t s, uintptr_t e)
{
	if (T->nout == T->capout) {
		size_t cap = T->capout ? T->capout * 2 : 1024;
		void *p = mmap(NULL, cap * sizeof(*T->out), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return hop__sysfail("dirty tracking: mmap of %zu runs", cap);
		if (T->out) {
			memcpy(p, T->out, T->nout * sizeof(*T->out));
			munmap(T->out, T->capout * sizeof(*T->out));
		}
		T->out = p;
		T->capout = cap;
	}
	/* coalesce with the previous run */
	if (T->nout && T->out[T->nout - 1][1] == s)
		T->out[T->nout - 1][1] = e;
	else {
		T->out[T->nout][0] = s;
		T->out[T->nout][1] = e;
		T->nout++;
	}
	T->pages += (long)((e - s) / hop__track_page);
	return 0;
}

static long collect(int (*fn)(void *ctx, uintptr_t start, uintptr_t end), void *ctx, int rearm)
{
	if (!ops)
		return hop__fail(HOP_EINVAL, "hop__track_collect: not tracking");
	if (T->lost)
		return hop__fail(HOP_ENOMEM, "dirty tracking lost a range: the delta is incomplete");
	T->nout = 0;
	T->pages = 0;
	size_t n = hop__track_nranges();
	for (size_t i = 0; i < n; i++) {
		/* a range the program's thread is adding right now: next time */
		if (!__atomic_load_n(&T->ranges[i].ready, __ATOMIC_ACQUIRE))
			continue;
		int rc = ops->collect(&T->ranges[i], emit, rearm);
		if (rc < 0)
			return rc;
	}
	__atomic_fetch_add(&T->ctr[1], 1, __ATOMIC_RELAXED);
	for (size_t i = 0; i < T->nout && fn; i++) {
		int rc = fn(ctx, T->out[i][0], T->out[i][1]);
		if (rc)
			return rc;
	}
	return T->pages;
}

long hop__track_collect(int (*fn)(void *ctx, uintptr_t start, uintptr_t end), void *ctx)
{
	return collect(fn, ctx, 1);
}

long hop__track_collect_last(int (*fn)(void *ctx, uintptr_t start, uintptr_t end), void *ctx)
{
	return collect(fn, ctx, 0);
}

void hop__track_stop(void)
{
	if (!ops)
		return;
	hop__heap_watch(NULL, NULL);
	ops->close();
	__atomic_store_n(&T->armed, 0, __ATOMIC_SEQ_CST);
	/* The ranges (and their dirty bytes) stay until the next start: a write
	 * that faulted just before close() unprotected its page still finds its
	 * range in the signal handler and simply retries. */
	ops = NULL;
	hop__heap_hold(0);
}

const char *hop__track_backend_name(void)
{
	return ops ? ops->name : "none";
}

int hop__track_active(void)
{
	return ops != NULL;
}

void hop__track_stats(struct hop_track_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!T)
		return;
	st->faults = __atomic_load_n(&T->ctr[0], __ATOMIC_RELAXED);
	st->collects = __atomic_load_n(&T->ctr[1], __ATOMIC_RELAXED);
	st->windows = __atomic_load_n(&T->ctr[2], __ATOMIC_RELAXED);
	st->escalations = __atomic_load_n(&T->ctr[3], __ATOMIC_RELAXED);
}
