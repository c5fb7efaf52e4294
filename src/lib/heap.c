/* heap.c -- hop's allocator and block table.
 *
 * Why our own allocator: hop must know every live block of the program (start
 * and asked-for size), find the block behind any pointer in O(1), keep all
 * heap memory in mappings it can write-protect, and keep its bookkeeping out
 * of those mappings so that malloc/free never dirty a data page.
 *
 * Shape (see docs/runtime-memory.md):
 *  - Address space is cut in 64 KiB *granules*. A two-level radix table maps
 *    a granule to the *span* descriptor that covers it: a slab of one size
 *    class, or one huge block. Descriptors and tables live in mmap'ed
 *    metadata memory, never in the heap's data mappings.
 *  - Small blocks (<= 128 KiB) come from slabs: runs of granules carved from
 *    mmap'ed arenas, one size class per slab (16-byte steps to 128, then four
 *    classes per power of two). Per slot the side table holds the "slack"
 *    (class size minus asked-for size; 0xffff = free) and a stack of free
 *    slot numbers.
 *  - Huge blocks (> 128 KiB, or large alignments) get their own mapping,
 *    granule aligned, so no granule is shared.
 *  - A slot number is found by multiplying with a precomputed reciprocal
 *    (exact for every offset a slab can have; heap_check_div() proves it in
 *    the unit test).
 *  - Span descriptors keep their class forever and are never freed, so a
 *    lock-free reader that raced with a writer reads a consistent (if stale)
 *    descriptor and bounds-checks the slot it computes.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "err.h"
#include "heap.h"

#define GRAN_SHIFT 16
#define GRAN ((uintptr_t)1 << GRAN_SHIFT)
#define L2_BITS 16
#define L2_N ((size_t)1 << L2_BITS)
/* 64-bit: granule numbers up to 2^32 (addresses below 2^48); 32-bit: 2^16. */
#define L1_N (sizeof(void *) == 8 ? ((size_t)1 << 16) : (size_t)1)

#define NCLASS 48
#define SMALL_MAX ((size_t)128 << 10)
#define SLOT_FREE 0xffffu
#define DIV_SHIFT 40

enum { SPAN_SLAB = 1, SPAN_HUGE = 2 };

struct mapping {
	uintptr_t start, end;
	int huge;
	struct mapping *next; /* sorted by start */
};

struct span {
	uintptr_t base;
	size_t len;           /* bytes covered (granule multiple) */
	uint64_t inv;         /* ceil(2^40 / size) */
	uint32_t size;        /* slot size (slab) */
	uint32_t nslots;
	uint32_t bump;        /* slots [bump, nslots) never handed out (still zero) */
	uint32_t top;         /* height of the free stack */
	uint32_t nlive;
	uint8_t kind, cls, on_partial;
	uint16_t *slack;      /* per slot */
	uint16_t *freestk;    /* free slot numbers */
	size_t huge_req;      /* SPAN_HUGE: asked-for size (SIZE_MAX = free) */
	struct mapping *map;
	struct span *next;    /* class partial list / recycled huge descriptors */
};

/* All mutable allocator state lives in metadata memory (below), not in the
 * executable's .data/.bss, so allocation does not dirty tracked globals. */
struct hstate {
	int lock;
	int hold;
	int logging, log_overflow;
	struct span *cur[NCLASS];     /* slab being allocated from */
	struct span *partial[NCLASS]; /* other slabs with free slots */
	struct span *huge_free;       /* recycled huge descriptors */
	struct mapping *maps;         /* all mappings, by address */
	struct mapping *deferred;     /* huge mappings freed while held */
	uintptr_t arena_cur, arena_end; /* carving area */
	size_t mapped;
	void (*watch)(void *ctx, uintptr_t start, uintptr_t end, int added);
	void *watch_ctx;
	struct hop_heap_event *log;
	size_t nlog, caplog;
	char *meta_cur, *meta_end;    /* bump area for descriptors */
};

static struct span **volatile *l1; /* L1_N pointers to L2 tables */
static struct hstate *H;
static size_t page_size;

__thread int hop__heap_in_runtime __attribute__((tls_model("initial-exec")));

/* Per-thread cache of free slots, per class (like glibc's tcache): the fast
 * path of malloc and free takes no lock. A cached slot is free in the table
 * (slack = SLOT_FREE), so readers and hop__heap_stats never count it; it is
 * just not on its slab's free stack. Not used while the alloc/free log is on
 * (every event then goes through the locked path). A thread that exits
 * leaves its few cached slots unused. */
#define TC_N 16
struct tc_ent {
	uintptr_t p;   /* the slot */
	uint16_t *sl;  /* its slack in the side table */
	uint32_t size; /* its class size */
};
static __thread struct {
	uint8_t n[NCLASS];
	struct tc_ent e[NCLASS][TC_N];
} tc __attribute__((tls_model("initial-exec")));

/* ---- classes ---------------------------------------------------------------- */

static uint32_t class_size(unsigned c)
{
	if (c < 8)
		return (c + 1) * 16;
	unsigned g = (c - 8) / 4, s = (c - 8) % 4;
	return (128u << g) + (s + 1) * (32u << g);
}

static inline unsigned size_class(size_t n)
{
	if (n <= 128)
		return n ? (unsigned)((n - 1) >> 4) : 0;
	size_t m = n - 1;
	unsigned b = (unsigned)(sizeof(long) * 8 - 1 - (unsigned)__builtin_clzl((unsigned long)m));
	return 8 + (b - 7) * 4 + (unsigned)(m >> (b - 2)) - 4;
}

static size_t slab_len(uint32_t size)
{
	size_t len = (size_t)size * 8;
	if (len < GRAN)
		len = GRAN;
	return (len + GRAN - 1) & ~(GRAN - 1);
}

/* ---- the lock ----------------------------------------------------------------- */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline void lock(void)
{
	if (__builtin_expect(!__atomic_exchange_n(&H->lock, 1, __ATOMIC_ACQUIRE), 1))
		return;
	for (unsigned spins = 0;; spins++) {
		while (__atomic_load_n(&H->lock, __ATOMIC_RELAXED)) {
			if (++spins > 200) {
				sched_yield();
				spins = 0;
			} else
				cpu_relax();
		}
		if (!__atomic_exchange_n(&H->lock, 1, __ATOMIC_ACQUIRE))
			return;
	}
}

static inline void unlock(void)
{
	__atomic_store_n(&H->lock, 0, __ATOMIC_RELEASE);
}

/* ---- metadata memory ------------------------------------------------------------ */

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Zeroed metadata; never freed (descriptors must outlive lock-free readers). */
static void *meta_alloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (n > 65536)
		return map_anon((n + page_size - 1) & ~(page_size - 1));
	if ((size_t)(H->meta_end - H->meta_cur) < n) {
		char *p = map_anon(1 << 20);
		if (!p)
			return NULL;
		H->meta_cur = p;
		H->meta_end = p + (1 << 20);
	}
	void *r = H->meta_cur;
	H->meta_cur += n;
	return r;
}

static int heap_init(void)
{
	static int init_lock;
	while (__atomic_exchange_n(&init_lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
	if (!H) {
		page_size = (size_t)sysconf(_SC_PAGESIZE);
		struct span **volatile *t = map_anon(L1_N * sizeof(*t));
		struct hstate *h = map_anon((sizeof(struct hstate) + page_size - 1) & ~(page_size - 1));
		if (!t || !h) {
			__atomic_store_n(&init_lock, 0, __ATOMIC_RELEASE);
			return -1;
		}
		l1 = t;
		__atomic_store_n(&H, h, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&init_lock, 0, __ATOMIC_RELEASE);
	return 0;
}

/* ---- the radix table -------------------------------------------------------------- */

static inline struct span *span_of(uintptr_t a)
{
	uint64_t g = (uint64_t)a >> GRAN_SHIFT;
	if (__builtin_expect(!l1 || (g >> 32) != 0, 0))
		return NULL;
	struct span **l2 = __atomic_load_n(&l1[g >> L2_BITS], __ATOMIC_ACQUIRE);
	if (!l2)
		return NULL;
	return __atomic_load_n(&l2[g & (L2_N - 1)], __ATOMIC_ACQUIRE);
}

static int radix_set(uintptr_t start, uintptr_t end, struct span *s)
{
	for (uintptr_t a = start; a < end; a += GRAN) {
		uint64_t g = (uint64_t)a >> GRAN_SHIFT;
		if (g >> 32)
			return -1;
		struct span **l2 = l1[g >> L2_BITS];
		if (!l2) {
			l2 = map_anon(L2_N * sizeof(*l2));
			if (!l2)
				return -1;
			__atomic_store_n(&l1[g >> L2_BITS], l2, __ATOMIC_RELEASE);
		}
		__atomic_store_n(&l2[g & (L2_N - 1)], s, __ATOMIC_RELEASE);
	}
	return 0;
}

/* ---- mappings ------------------------------------------------------------------------ */

/* mmap len bytes aligned to align (a power of two >= GRAN). */
static uintptr_t map_aligned(size_t len, size_t align)
{
	size_t over = len + align - page_size;
	if (over < len)
		return 0;
	char *p = mmap(NULL, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	uintptr_t a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	uintptr_t tail = a + len, pend = (uintptr_t)p + over;
	if (pend > tail)
		munmap((void *)tail, pend - tail);
	return a;
}

static struct mapping *add_mapping(uintptr_t start, uintptr_t end, int huge)
{
	struct mapping *m = meta_alloc(sizeof(*m)), **pp = &H->maps;
	if (!m)
		return NULL;
	m->start = start;
	m->end = end;
	m->huge = huge;
	while (*pp && (*pp)->start < start)
		pp = &(*pp)->next;
	m->next = *pp;
	*pp = m;
	H->mapped += end - start;
	if (H->watch)
		H->watch(H->watch_ctx, start, end, 1);
	return m;
}

static void remove_mapping(struct mapping *m)
{
	struct mapping **pp = &H->maps;
	while (*pp != m)
		pp = &(*pp)->next;
	*pp = m->next;
	H->mapped -= m->end - m->start;
	if (H->watch)
		H->watch(H->watch_ctx, m->start, m->end, 0);
	munmap((void *)m->start, m->end - m->start);
	/* the struct mapping itself is metadata: left behind, as small as it is */
}

/* ---- slabs ------------------------------------------------------------------------------ */

static struct span *new_slab(unsigned c)
{
	uint32_t size = class_size(c);
	size_t len = slab_len(size);
	if ((size_t)(H->arena_end - H->arena_cur) < len) {
		size_t alen = (size_t)4 << 20;
		size_t cap = sizeof(void *) == 8 ? (size_t)64 << 20 : (size_t)16 << 20;
		while (alen < H->mapped / 4 && alen < cap)
			alen *= 2;
		if (alen < len)
			alen = len;
		uintptr_t a = map_aligned(alen, GRAN);
		if (!a)
			return NULL;
		struct mapping *m = add_mapping(a, a + alen, 0);
		if (!m) {
			munmap((void *)a, alen);
			return NULL;
		}
		H->arena_cur = a;
		H->arena_end = a + alen;
	}
	uint32_t n = (uint32_t)(len / size);
	struct span *s = meta_alloc(sizeof(*s) + (size_t)n * 4);
	if (!s)
		return NULL;
	s->slack = (uint16_t *)(s + 1);
	s->freestk = s->slack + n;
	for (uint32_t i = 0; i < n; i++)
		s->slack[i] = SLOT_FREE;
	s->base = H->arena_cur;
	s->len = len;
	s->size = size;
	s->inv = (((uint64_t)1 << DIV_SHIFT) + size - 1) / size;
	s->nslots = n;
	s->kind = SPAN_SLAB;
	s->cls = (uint8_t)c;
	for (struct mapping *m = H->maps; m; m = m->next)
		if (m->start <= s->base && s->base < m->end)
			s->map = m;
	H->arena_cur += len;
	if (radix_set(s->base, s->base + len, s) < 0)
		return NULL;
	return s;
}

static inline uint32_t slot_of(const struct span *s, uintptr_t a)
{
	return (uint32_t)(((uint64_t)(a - s->base) * s->inv) >> DIV_SHIFT);
}

static inline void log_event(uintptr_t addr, size_t size, int op)
{
	if (H->nlog == H->caplog) {
		if (H->nlog >= HOP_HEAP_LOG_MAX) {
			H->log_overflow = 1;
			return;
		}
		size_t cap = H->caplog ? H->caplog * 2 : 4096;
		struct hop_heap_event *n = map_anon(cap * sizeof(*n));
		if (!n) {
			H->log_overflow = 1;
			return;
		}
		if (H->log) {
			memcpy(n, H->log, H->nlog * sizeof(*n));
			munmap(H->log, H->caplog * sizeof(*n));
		}
		H->log = n;
		H->caplog = cap;
	}
	H->log[H->nlog].addr = addr;
	H->log[H->nlog].size = size;
	H->log[H->nlog].op = op;
	H->nlog++;
}

/* Take a slot of class c for n bytes; lock held. *fresh says it was never used. */
static void *slab_alloc(unsigned c, size_t n, int *fresh)
{
	struct span *s = H->cur[c];
	uint32_t i;

	if (__builtin_expect(s && s->top, 1)) {
		i = s->freestk[--s->top];
		*fresh = 0;
	} else if (s && s->bump < s->nslots) {
		i = s->bump++;
		*fresh = 1;
	} else {
		s = H->partial[c];
		if (s) {
			H->partial[c] = s->next;
			s->on_partial = 0;
		} else if (!(s = new_slab(c)))
			return NULL;
		H->cur[c] = s;
		if (s->top) {
			i = s->freestk[--s->top];
			*fresh = 0;
		} else {
			i = s->bump++;
			*fresh = 1;
		}
	}
	__atomic_store_n(&s->slack[i], (uint16_t)(s->size - n), __ATOMIC_RELEASE);
	s->nlive++;
	uintptr_t p = s->base + (uintptr_t)i * s->size;
	if (__builtin_expect(H->logging, 0))
		log_event(p, n, HOP_HEAP_ALLOC);
	return (void *)p;
}

static void bad_pointer(const char *what, const void *p)
{
	hop__fail(HOP_EINVAL, "%s(%p): not a live block of hop's heap", what, p);
	abort();
}

/* ---- huge blocks ------------------------------------------------------------------------- */

static void *huge_alloc(size_t n, size_t align)
{
	size_t len = (n + GRAN - 1) & ~(GRAN - 1);
	if (len < n || len == 0)
		return NULL;
	if (align < GRAN)
		align = GRAN;
	struct span *s = H->huge_free;
	if (s)
		H->huge_free = s->next;
	else if (!(s = meta_alloc(sizeof(*s))))
		return NULL;
	uintptr_t a = map_aligned(len, align);
	if (!a) {
		s->next = H->huge_free;
		H->huge_free = s;
		return NULL;
	}
	s->kind = SPAN_HUGE;
	s->base = a;
	s->len = len;
	s->size = 0;
	s->nslots = 1;
	s->inv = 0;
	s->next = NULL;
	__atomic_store_n(&s->huge_req, n, __ATOMIC_RELEASE);
	s->map = add_mapping(a, a + len, 1);
	if (!s->map || radix_set(a, a + len, s) < 0) {
		if (s->map)
			remove_mapping(s->map);
		else
			munmap((void *)a, len);
		radix_set(a, a + len, NULL);
		s->next = H->huge_free;
		H->huge_free = s;
		return NULL;
	}
	if (__builtin_expect(H->logging, 0))
		log_event(a, n, HOP_HEAP_ALLOC);
	return (void *)a;
}

static void huge_free(struct span *s)
{
	size_t n = s->huge_req;
	__atomic_store_n(&s->huge_req, SIZE_MAX, __ATOMIC_RELEASE);
	radix_set(s->base, s->base + s->len, NULL);
	if (__builtin_expect(H->logging, 0))
		log_event(s->base, n, HOP_HEAP_FREE);
	if (H->hold) {
		/* keep the pages mapped (and listed) until the hold ends */
		struct mapping **pp = &H->maps;
		while (*pp != s->map)
			pp = &(*pp)->next;
		*pp = s->map->next;
		s->map->next = H->deferred;
		H->deferred = s->map;
	} else
		remove_mapping(s->map);
	s->map = NULL;
	s->next = H->huge_free;
	H->huge_free = s;
}

static int block_at(const struct span *s, uintptr_t a, uintptr_t *start, size_t *size);

/* ---- the allocation API --------------------------------------------------------------------- */

static __attribute__((noinline)) void *malloc_slow(size_t n)
{
	void *p;
	int fresh;

	if (__builtin_expect(!H, 0) && heap_init() < 0) {
		errno = ENOMEM;
		return NULL;
	}
	lock();
	if (n <= SMALL_MAX)
		p = slab_alloc(size_class(n), n, &fresh);
	else
		p = huge_alloc(n, 0);
	unlock();
	if (__builtin_expect(!p, 0))
		errno = ENOMEM;
	return p;
}

void *hop__malloc(size_t n)
{
	if (__builtin_expect(n <= SMALL_MAX, 1)) {
		unsigned c = size_class(n);
		if (__builtin_expect(tc.n[c] && !H->logging, 1)) {
			struct tc_ent *e = &tc.e[c][--tc.n[c]];
			__atomic_store_n(e->sl, (uint16_t)(e->size - n), __ATOMIC_RELEASE);
			return (void *)e->p;
		}
	}
	return malloc_slow(n);
}

void *hop__calloc(size_t n, size_t size)
{
	size_t total;
	void *p;
	int fresh = 1;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (__builtin_expect(!H, 0) && heap_init() < 0) {
		errno = ENOMEM;
		return NULL;
	}
	lock();
	if (total <= SMALL_MAX)
		p = slab_alloc(size_class(total), total, &fresh);
	else
		p = huge_alloc(total, 0); /* fresh mmap: zero */
	unlock();
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	if (!fresh)
		memset(p, 0, total);
	return p;
}

/* Free with the lock held; returns the asked-for size of the block. */
static size_t free_locked(void *p, const char *who)
{
	struct span *s = span_of((uintptr_t)p);
	if (!s)
		bad_pointer(who, p);
	if (s->kind == SPAN_HUGE) {
		size_t n = s->huge_req;
		if ((uintptr_t)p != s->base || n == SIZE_MAX)
			bad_pointer(who, p);
		huge_free(s);
		return n;
	}
	uint32_t i = slot_of(s, (uintptr_t)p);
	if (i >= s->nslots || s->base + (uintptr_t)i * s->size != (uintptr_t)p || s->slack[i] == SLOT_FREE)
		bad_pointer(who, p);
	size_t n = s->size - s->slack[i];
	__atomic_store_n(&s->slack[i], (uint16_t)SLOT_FREE, __ATOMIC_RELEASE);
	s->freestk[s->top++] = (uint16_t)i;
	s->nlive--;
	if (__builtin_expect(H->logging, 0))
		log_event((uintptr_t)p, n, HOP_HEAP_FREE);
	if (s != H->cur[s->cls] && !s->on_partial) {
		s->on_partial = 1;
		s->next = H->partial[s->cls];
		H->partial[s->cls] = s;
	}
	return n;
}

static __attribute__((noinline)) void free_slow(void *p)
{
	if (!H)
		bad_pointer("free", p);
	lock();
	free_locked(p, "free");
	unlock();
}

void hop__free(void *p)
{
	if (!p)
		return;
	struct span *s = span_of((uintptr_t)p);
	if (__builtin_expect(s && s->kind == SPAN_SLAB && !H->logging, 1)) {
		unsigned c = s->cls;
		uint32_t i = slot_of(s, (uintptr_t)p);
		if (__builtin_expect(tc.n[c] < TC_N && i < s->nslots && s->base + (uintptr_t)i * s->size == (uintptr_t)p &&
				     s->slack[i] != SLOT_FREE, 1)) {
			__atomic_store_n(&s->slack[i], (uint16_t)SLOT_FREE, __ATOMIC_RELEASE);
			struct tc_ent *e = &tc.e[c][tc.n[c]++];
			e->p = (uintptr_t)p;
			e->sl = &s->slack[i];
			e->size = s->size;
			return;
		}
	}
	free_slow(p); /* also reports a bad pointer */
}

void *hop__realloc(void *p, size_t n)
{
	uintptr_t st;
	size_t old;

	if (!p)
		return hop__malloc(n);
	struct span *s = H ? span_of((uintptr_t)p) : NULL;
	if (!s)
		bad_pointer("realloc", p);
	lock();
	if (!block_at(s, (uintptr_t)p, &st, &old) || st != (uintptr_t)p) {
		unlock();
		bad_pointer("realloc", p);
	}
	/* Stay in place when the new size has the same class (or, for a huge
	 * block, fits its mapping without wasting more than half of it). */
	int in_place = 0;
	if (s->kind == SPAN_SLAB && n <= SMALL_MAX && size_class(n) == s->cls) {
		__atomic_store_n(&s->slack[slot_of(s, st)], (uint16_t)(s->size - n), __ATOMIC_RELEASE);
		in_place = 1;
	} else if (s->kind == SPAN_HUGE && n > SMALL_MAX && n <= s->len && n >= s->len / 2) {
		__atomic_store_n(&s->huge_req, n, __ATOMIC_RELEASE);
		in_place = 1;
	}
	if (in_place) {
		if (__builtin_expect(H->logging, 0))
			log_event(st, n, HOP_HEAP_ALLOC);
		unlock();
		return p;
	}
	unlock();
	void *q = hop__malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	hop__free(p);
	return q;
}

int hop__posix_memalign(void **out, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	if (__builtin_expect(!H, 0) && heap_init() < 0)
		return ENOMEM;
	void *p;
	int fresh;
	if (align <= 16) {
		p = hop__malloc(n);
		if (!p)
			return ENOMEM;
		*out = p;
		return 0;
	}
	/* Power-of-two classes have every slot aligned to their size (slabs
	 * start on a granule); take the smallest one that covers both. */
	size_t want = n > align ? n : align;
	size_t pow = 16;
	while (pow < want && pow <= SMALL_MAX)
		pow <<= 1;
	lock();
	if (pow <= SMALL_MAX && align <= GRAN && pow - n < SLOT_FREE)
		p = slab_alloc(size_class(pow), n, &fresh);
	else
		p = huge_alloc(n ? n : 1, align);
	unlock();
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

/* ---- the block table ----------------------------------------------------------------------- */

void hop__mem_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	const uintptr_t h = (uintptr_t)2 << 20;
	uintptr_t a = ((uintptr_t)p + h - 1) & ~(h - 1), e = ((uintptr_t)p + n) & ~(h - 1);
	if (n >= 2 * h && e > a)
		(void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
	(void)p;
	(void)n;
#endif
}

int hop__heap_owns(const void *p)
{
	return span_of((uintptr_t)p) != NULL;
}

/* The live block in span s whose slot holds address a: 1 and start/size. */
static int block_at(const struct span *s, uintptr_t a, uintptr_t *start, size_t *size)
{
	if (s->kind == SPAN_HUGE) {
		size_t n = __atomic_load_n(&s->huge_req, __ATOMIC_ACQUIRE);
		if (n == SIZE_MAX)
			return 0;
		*start = s->base;
		*size = n;
		return 1;
	}
	uint32_t i = slot_of(s, a);
	if (i >= s->nslots)
		return 0;
	uint16_t sl = __atomic_load_n(&s->slack[i], __ATOMIC_ACQUIRE);
	if (sl == SLOT_FREE || sl > s->size)
		return 0;
	*start = s->base + (uintptr_t)i * s->size;
	*size = s->size - sl;
	return 1;
}

int hop__heap_find(uintptr_t addr, uintptr_t *start, size_t *size)
{
	uintptr_t st;
	size_t sz;
	struct span *s = span_of(addr);

	if (s && block_at(s, addr, &st, &sz) && addr - st < sz) {
		*start = st;
		*size = sz;
		return 1;
	}
	/* a zero-sized block starting here (what malloc(0) returned) */
	if (s && block_at(s, addr, &st, &sz) && sz == 0 && st == addr) {
		*start = st;
		*size = 0;
		return 1;
	}
	/* one past the end of the block before */
	struct span *b = addr ? span_of(addr - 1) : NULL;
	if (b && block_at(b, addr - 1, &st, &sz) && st + sz == addr) {
		*start = st;
		*size = sz;
		return 1;
	}
	return 0;
}

size_t hop__heap_size(const void *p)
{
	uintptr_t st;
	size_t sz;
	struct span *s = span_of((uintptr_t)p);
	if (s && block_at(s, (uintptr_t)p, &st, &sz) && st == (uintptr_t)p)
		return sz;
	return 0;
}

int hop__heap_foreach(int (*fn)(void *ctx, uintptr_t start, size_t size), void *ctx)
{
	if (!H)
		return 0;
	for (struct mapping *m = H->maps; m; m = m->next) {
		for (uintptr_t a = m->start; a < m->end;) {
			struct span *s = span_of(a);
			if (!s) {
				a += GRAN;
				continue;
			}
			if (s->kind == SPAN_HUGE) {
				if (s->huge_req != SIZE_MAX) {
					int rc = fn(ctx, s->base, s->huge_req);
					if (rc)
						return rc;
				}
			} else {
				for (uint32_t i = 0; i < s->bump; i++) {
					if (s->slack[i] == SLOT_FREE)
						continue;
					int rc = fn(ctx, s->base + (uintptr_t)i * s->size, s->size - s->slack[i]);
					if (rc)
						return rc;
				}
			}
			a = s->base + s->len;
		}
	}
	return 0;
}

size_t hop__heap_ranges(uintptr_t (*ranges)[2], size_t max)
{
	size_t n = 0;
	if (!H)
		return 0;
	lock();
	/* the deferred list is not sorted into maps: merge on output */
	for (struct mapping *m = H->maps; m; m = m->next, n++)
		if (n < max) {
			ranges[n][0] = m->start;
			ranges[n][1] = m->end;
		}
	for (struct mapping *m = H->deferred; m; m = m->next, n++)
		if (n < max) {
			ranges[n][0] = m->start;
			ranges[n][1] = m->end;
		}
	unlock();
	/* address order (insertion sort: the deferred ones are few) */
	size_t k = n < max ? n : max;
	for (size_t i = 1; i < k; i++) {
		uintptr_t a = ranges[i][0], b = ranges[i][1];
		size_t j = i;
		while (j > 0 && ranges[j - 1][0] > a) {
			ranges[j][0] = ranges[j - 1][0];
			ranges[j][1] = ranges[j - 1][1];
			j--;
		}
		ranges[j][0] = a;
		ranges[j][1] = b;
	}
	return n;
}

struct stats_acc {
	size_t blocks, bytes;
};
static int stats_fn(void *ctx, uintptr_t start, size_t size)
{
	struct stats_acc *a = ctx;
	(void)start;
	a->blocks++;
	a->bytes += size;
	return 0;
}

/* A walk of the table: the lock-free fast paths keep no counters. Exact when
 * no other thread allocates meanwhile. */
void hop__heap_stats(size_t *blocks, size_t *bytes)
{
	struct stats_acc a = { 0, 0 };
	if (H) {
		lock();
		hop__heap_foreach(stats_fn, &a);
		unlock();
	}
	if (blocks)
		*blocks = a.blocks;
	if (bytes)
		*bytes = a.bytes;
}

/* ---- tracker and migration hooks ---------------------------------------------------------- */

void hop__heap_watch(void (*fn)(void *ctx, uintptr_t start, uintptr_t end, int added), void *ctx)
{
	if (!H && heap_init() < 0)
		return;
	lock();
	H->watch = fn;
	H->watch_ctx = ctx;
	if (fn) {
		for (struct mapping *m = H->maps; m; m = m->next)
			fn(ctx, m->start, m->end, 1);
		for (struct mapping *m = H->deferred; m; m = m->next)
			fn(ctx, m->start, m->end, 1);
	}
	unlock();
}

void hop__heap_hold(int on)
{
	if (!H && heap_init() < 0)
		return;
	lock();
	if (on) {
		H->hold++;
	} else if (H->hold > 0 && --H->hold == 0) {
		while (H->deferred) {
			struct mapping *m = H->deferred;
			H->deferred = m->next;
			/* remove_mapping expects it on the main list */
			m->next = H->maps;
			H->maps = m;
			remove_mapping(m);
		}
	}
	unlock();
}

void hop__heap_log(int on)
{
	if (!H && heap_init() < 0)
		return;
	lock();
	H->logging = on;
	if (!on) {
		H->nlog = 0;
		H->log_overflow = 0;
	}
	unlock();
}

long hop__heap_log_take(void (*fn)(void *ctx, const struct hop_heap_event *ev, size_t n), void *ctx,
			int *overflow)
{
	if (overflow)
		*overflow = 0;
	if (!H)
		return 0;
	lock();
	struct hop_heap_event *log = H->log;
	size_t n = H->nlog, cap = H->caplog;
	int ovf = H->log_overflow;
	H->log = NULL;
	H->nlog = H->caplog = 0;
	H->log_overflow = 0;
	unlock();
	if (overflow)
		*overflow = ovf;
	if (n && fn)
		fn(ctx, log, n);
	if (log)
		munmap(log, cap * sizeof(*log));
	return (long)n;
}

int hop__heap_runtime_thread(int on)
{
	int old = hop__heap_in_runtime;
	hop__heap_in_runtime = on;
	return old;
}

/* Used by the unit test: the reciprocal gives the exact slot for every
 * offset of every class. 0 if so, else the first failing class size. */
uint32_t hop__heap_check_div(void);
uint32_t hop__heap_check_div(void)
{
	for (unsigned c = 0; c < NCLASS; c++) {
		uint32_t size = class_size(c);
		uint64_t inv = (((uint64_t)1 << DIV_SHIFT) + size - 1) / size;
		size_t len = slab_len(size);
		for (uint64_t off = 0; off < len; off++)
			if (((off * inv) >> DIV_SHIFT) != off / size)
				return size;
		if (size_class(size) != c || (c && size_class(class_size(c - 1) + 1) != c))
			return size;
	}
	return 0;
}
