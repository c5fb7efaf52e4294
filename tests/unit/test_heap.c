/* test_heap.c -- hop's allocator and block table (heap.c). */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "heap.h"
#include "task.h"

uint32_t hop__heap_check_div(void);

static int in_ranges(uintptr_t a)
{
	uintptr_t r[256][2];
	size_t n = hop__heap_ranges(r, 256);
	ASSERT(n <= 256);
	for (size_t i = 0; i < n; i++)
		if (r[i][0] <= a && a < r[i][1])
			return 1;
	return 0;
}

TEST(division)
{
	ASSERT_EQ(hop__heap_check_div(), 0);
}

TEST(malloc_free_sizes)
{
	size_t blocks0, bytes0, blocks, bytes;
	hop__heap_stats(&blocks0, &bytes0);
	static const size_t sizes[] = { 0, 1, 7, 8, 15, 16, 17, 100, 128, 129, 1000, 4096, 5000,
					65536, 131072, 131073, 1 << 20, (1 << 20) + 3 };
	void *p[sizeof(sizes) / sizeof(sizes[0])];
	size_t total = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p[i] = hop__malloc(sizes[i]);
		ASSERT(p[i] != NULL);
		ASSERT_EQ((uintptr_t)p[i] % 16, 0);
		ASSERT_EQ(hop__heap_size(p[i]), sizes[i]);
		ASSERT(hop__heap_owns(p[i]));
		ASSERT(in_ranges((uintptr_t)p[i]));
		memset(p[i], 0xab, sizes[i]);
		total += sizes[i];
	}
	hop__heap_stats(&blocks, &bytes);
	ASSERT_EQ(blocks - blocks0, sizeof(sizes) / sizeof(sizes[0]));
	ASSERT_EQ(bytes - bytes0, total);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		hop__free(p[i]);
	hop__heap_stats(&blocks, &bytes);
	ASSERT_EQ(blocks, blocks0);
	ASSERT_EQ(bytes, bytes0);
	hop__free(NULL);
}

TEST(calloc_zeroes_reused_memory)
{
	unsigned char *a = hop__malloc(200);
	memset(a, 0xff, 200);
	hop__free(a);
	unsigned char *b = hop__calloc(50, 4); /* same class: likely the same slot */
	for (int i = 0; i < 200; i++)
		ASSERT_EQ(b[i], 0);
	ASSERT_EQ(hop__heap_size(b), 200);
	hop__free(b);
	errno = 0;
	ASSERT(hop__calloc(SIZE_MAX / 2, 4) == NULL);
	ASSERT_EQ(errno, ENOMEM);
	unsigned char *c = hop__calloc(1, 300000);
	for (int i = 0; i < 300000; i += 4096)
		ASSERT_EQ(c[i], 0);
	hop__free(c);
}

TEST(realloc_keeps_data)
{
	unsigned char *p = hop__malloc(10);
	for (int i = 0; i < 10; i++)
		p[i] = (unsigned char)i;
	size_t n = 10;
	for (int step = 0; step < 20; step++) {
		size_t nn = n * 2 + 3;
		p = hop__realloc(p, nn);
		ASSERT(p != NULL);
		ASSERT_EQ(hop__heap_size(p), nn);
		for (size_t i = 0; i < n; i++)
			ASSERT_EQ(p[i], (unsigned char)i);
		for (size_t i = n; i < nn; i++)
			p[i] = (unsigned char)i;
		n = nn;
		if (n > (8u << 20))
			break;
	}
	/* shrink in place within a class, and across classes */
	unsigned char *q = hop__realloc(p, n - 1);
	ASSERT(q != NULL);
	ASSERT_EQ(hop__heap_size(q), n - 1);
	q = hop__realloc(q, 5);
	ASSERT_EQ(hop__heap_size(q), 5);
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(q[i], (unsigned char)i);
	/* same class: stays */
	void *r = hop__realloc(q, 6);
	ASSERT(r == q);
	ASSERT_EQ(hop__heap_size(r), 6);
	hop__free(r);
	void *z = hop__realloc(NULL, 33);
	ASSERT_EQ(hop__heap_size(z), 33);
	hop__free(z);
}

TEST(memalign)
{
	static const size_t aligns[] = { 8, 16, 32, 64, 256, 4096, 65536, 1 << 20 };
	static const size_t sizes[] = { 1, 24, 100, 5000, 200000 };
	for (size_t a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			void *p = NULL;
			ASSERT_EQ(hop__posix_memalign(&p, aligns[a], sizes[s]), 0);
			ASSERT_EQ((uintptr_t)p % aligns[a], 0);
			ASSERT_EQ(hop__heap_size(p), sizes[s]);
			memset(p, 1, sizes[s]);
			hop__free(p);
		}
	void *p;
	ASSERT_EQ(hop__posix_memalign(&p, 24, 10), EINVAL);
	ASSERT_EQ(hop__posix_memalign(&p, 2, 10), EINVAL);
}

TEST(find)
{
	char *a = hop__malloc(100), *b = hop__malloc(100), *big = hop__malloc(500000), *z = hop__malloc(0);
	uintptr_t st;
	size_t sz;
	ASSERT(hop__heap_find((uintptr_t)a, &st, &sz));
	ASSERT_UEQ(st, (uintptr_t)a);
	ASSERT_EQ(sz, 100);
	ASSERT(hop__heap_find((uintptr_t)a + 57, &st, &sz));
	ASSERT_UEQ(st, (uintptr_t)a);
	/* one past the end: the slot's slack follows, so it resolves to a */
	ASSERT(hop__heap_find((uintptr_t)a + 100, &st, &sz));
	ASSERT_UEQ(st, (uintptr_t)a);
	ASSERT_EQ(sz, 100);
	/* in the slack beyond one-past-the-end: nothing */
	ASSERT(!hop__heap_find((uintptr_t)a + 105, &st, &sz));
	ASSERT(hop__heap_find((uintptr_t)big + 499999, &st, &sz));
	ASSERT_UEQ(st, (uintptr_t)big);
	ASSERT_EQ(sz, 500000);
	ASSERT(hop__heap_find((uintptr_t)big + 500000, &st, &sz));
	ASSERT_UEQ(st, (uintptr_t)big);
	ASSERT(hop__heap_find((uintptr_t)z, &st, &sz));
	ASSERT_UEQ(st, (uintptr_t)z);
	ASSERT_EQ(sz, 0);
	int local;
	static int global;
	ASSERT(!hop__heap_find((uintptr_t)&local, &st, &sz));
	ASSERT(!hop__heap_find((uintptr_t)&global, &st, &sz));
	ASSERT(!hop__heap_find(0, &st, &sz));
	ASSERT(!hop__heap_find(UINTPTR_MAX, &st, &sz));
	void *libc = malloc(10);
	ASSERT(!hop__heap_find((uintptr_t)libc, &st, &sz));
	ASSERT(!hop__heap_owns(libc));
	free(libc);
	/* a block whose end is exactly the next block's start: the containing
	 * block (b) wins over the one ending there */
	char *c1 = hop__malloc(64), *c2 = hop__malloc(64);
	if (c2 == c1 + 64) {
		ASSERT(hop__heap_find((uintptr_t)c2, &st, &sz));
		ASSERT_UEQ(st, (uintptr_t)c2);
	}
	hop__free(a);
	ASSERT(!hop__heap_find((uintptr_t)a + 3, &st, &sz));
	ASSERT_EQ(hop__heap_size(a), 0);
	hop__free(big);
	ASSERT(!hop__heap_find((uintptr_t)big + 3, &st, &sz));
	hop__free(b);
	hop__free(z);
	hop__free(c1);
	hop__free(c2);
}

struct walk {
	uintptr_t last;
	size_t n, bytes;
	int sorted;
};
static int walk_fn(void *ctx, uintptr_t start, size_t size)
{
	struct walk *w = ctx;
	if (start < w->last)
		w->sorted = 0;
	w->last = start;
	w->n++;
	w->bytes += size;
	return 0;
}
static int stop_fn(void *ctx, uintptr_t start, size_t size)
{
	(void)start;
	(void)size;
	return ++*(int *)ctx == 3 ? 42 : 0;
}

TEST(many_blocks_foreach)
{
	enum { N = 200000 };
	void **p = malloc(N * sizeof(void *));
	size_t blocks0, bytes0;
	hop__heap_stats(&blocks0, &bytes0);
	size_t total = 0;
	for (int i = 0; i < N; i++) {
		size_t n = (size_t)(i * 7919) % 3000;
		p[i] = hop__malloc(n);
		ASSERT(p[i]);
		total += n;
	}
	struct walk w = { 0, 0, 0, 1 };
	ASSERT_EQ(hop__heap_foreach(walk_fn, &w), 0);
	ASSERT_EQ(w.n, blocks0 + N);
	ASSERT_EQ(w.bytes, bytes0 + total);
	ASSERT(w.sorted);
	int k = 0;
	ASSERT_EQ(hop__heap_foreach(stop_fn, &k), 42);
	for (int i = 0; i < N; i++) {
		uintptr_t st;
		size_t sz;
		ASSERT(hop__heap_find((uintptr_t)p[i], &st, &sz));
		ASSERT_UEQ(st, (uintptr_t)p[i]);
	}
	for (int i = 0; i < N; i += 2)
		hop__free(p[i]);
	w = (struct walk){ 0, 0, 0, 1 };
	hop__heap_foreach(walk_fn, &w);
	ASSERT_EQ(w.n, blocks0 + N / 2);
	for (int i = 1; i < N; i += 2)
		hop__free(p[i]);
	free(p);
	size_t blocks, bytes;
	hop__heap_stats(&blocks, &bytes);
	ASSERT_EQ(blocks, blocks0);
}

static size_t nmaps_added, nmaps_removed;
static void watch_fn(void *ctx, uintptr_t s, uintptr_t e, int added)
{
	(void)ctx;
	ASSERT(s < e);
	ASSERT_EQ(s % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
	if (added)
		nmaps_added++;
	else
		nmaps_removed++;
}

struct logsum {
	size_t allocs, frees;
	uintptr_t first;
};
static void log_fn(void *ctx, const struct hop_heap_event *ev, size_t n)
{
	struct logsum *s = ctx;
	for (size_t i = 0; i < n; i++) {
		if (i == 0)
			s->first = ev[i].addr;
		if (ev[i].op == HOP_HEAP_ALLOC)
			s->allocs++;
		else
			s->frees++;
	}
}

TEST(watch_hold_log)
{
	size_t existing;
	uintptr_t r[1024][2];
	existing = hop__heap_ranges(r, 1024);
	nmaps_added = nmaps_removed = 0;
	hop__heap_watch(watch_fn, NULL);
	ASSERT_EQ(nmaps_added, existing);
	char *big = hop__malloc(3 << 20);
	ASSERT_EQ(nmaps_added, existing + 1);
	ASSERT_EQ(hop__heap_ranges(r, 1024), existing + 1);

	/* held: a freed huge block stays mapped and listed */
	hop__heap_hold(1);
	hop__free(big);
	ASSERT_EQ(nmaps_removed, 0);
	ASSERT_EQ(big[12345], 0); /* still readable */
	ASSERT_EQ(hop__heap_ranges(r, 1024), existing + 1);
	uintptr_t st;
	size_t sz;
	ASSERT(!hop__heap_find((uintptr_t)big, &st, &sz));
	hop__heap_hold(0);
	ASSERT_EQ(nmaps_removed, 1);
	ASSERT_EQ(hop__heap_ranges(r, 1024), existing);
	hop__heap_watch(NULL, NULL);

	struct logsum s = { 0, 0, 0 };
	hop__heap_log(1);
	void *a = hop__malloc(10);
	void *b = hop__malloc(1000);
	hop__free(a);
	b = hop__realloc(b, 1001);  /* in place: an alloc event */
	b = hop__realloc(b, 50000); /* moves: alloc + free */
	ASSERT_EQ(hop__heap_log_take(log_fn, &s, NULL), 6);
	ASSERT_EQ(s.allocs, 4);
	ASSERT_EQ(s.frees, 2);
	ASSERT_UEQ(s.first, (uintptr_t)a);
	ASSERT_EQ(hop__heap_log_take(log_fn, &s, NULL), 0);
	hop__free(b);
	ASSERT_EQ(hop__heap_log_take(NULL, NULL, NULL), 1);
	hop__heap_log(0);
	hop__free(hop__malloc(5));
	ASSERT_EQ(hop__heap_log_take(NULL, NULL, NULL), 0);
}

TEST(metadata_outside_data)
{
	/* bookkeeping must not write data pages: a freshly mapped slab page that
	 * the program never touched stays unpopulated through malloc/free */
	char *p = hop__malloc(40000);
	long ps = sysconf(_SC_PAGESIZE);
	uintptr_t page = ((uintptr_t)p + (uintptr_t)ps - 1) & ~(uintptr_t)(ps - 1);
	unsigned char vec;
	hop__free(p);
	p = hop__malloc(40000);
	ASSERT_EQ(mincore((void *)page, (size_t)ps, &vec), 0);
	ASSERT_EQ(vec & 1, 0);
	hop__free(p);
}

int main(void)
{
	RUN(division);
	RUN(malloc_free_sizes);
	RUN(calloc_zeroes_reused_memory);
	RUN(realloc_keeps_data);
	RUN(memalign);
	RUN(find);
	RUN(many_blocks_foreach);
	RUN(watch_hold_log);
	RUN(metadata_outside_data);
	return 0;
}
