/* alloc_bench.c -- hop's allocator against glibc malloc, ns per operation.
 *
 * Three malloc-heavy patterns, each run with glibc (malloc/free) and with
 * hop's heap (hop__malloc/hop__free), same sequence of sizes:
 *   churn:  8192 live slots; each step frees a random slot and allocates a
 *           new block of a random size (16..512 bytes mostly, 1 in 16 up to 4 KiB)
 *   lifo:   allocate 64 blocks, free them in reverse order
 *   grow:   build a 200,000-node list of mixed sizes, then free it all
 * Target (issue 4): hop within 15% of glibc. Not a test: prints figures. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heap.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint32_t rng = 12345;
static inline uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static inline size_t rsize(void)
{
	uint32_t r = rnd();
	if ((r & 15) == 0)
		return 16 + (r >> 8) % 4080;
	return 16 + (r >> 8) % 497;
}

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);

#define SLOTS 8192
static void *slot[SLOTS];

static double churn(malloc_fn m, free_fn f, long ops)
{
	rng = 12345;
	for (int i = 0; i < SLOTS; i++)
		slot[i] = m(rsize());
	double t = now();
	for (long i = 0; i < ops; i++) {
		uint32_t k = rnd() & (SLOTS - 1);
		f(slot[k]);
		slot[k] = m(rsize());
		*(char *)slot[k] = 1;
	}
	t = now() - t;
	for (int i = 0; i < SLOTS; i++)
		f(slot[i]);
	return t * 1e9 / (double)(ops * 2);
}

static double lifo(malloc_fn m, free_fn f, long rounds)
{
	void *p[64];
	rng = 777;
	double t = now();
	for (long r = 0; r < rounds; r++) {
		for (int i = 0; i < 64; i++) {
			p[i] = m(rsize());
			*(char *)p[i] = 1;
		}
		for (int i = 63; i >= 0; i--)
			f(p[i]);
	}
	t = now() - t;
	return t * 1e9 / (double)(rounds * 128);
}

struct node {
	struct node *next;
	char pad[];
};

static double grow(malloc_fn m, free_fn f, int reps)
{
	double t = now();
	for (int r = 0; r < reps; r++) {
		struct node *head = NULL;
		rng = 99;
		for (int i = 0; i < 200000; i++) {
			struct node *n = m(sizeof(struct node) + (rnd() % 120));
			n->next = head;
			head = n;
		}
		while (head) {
			struct node *n = head->next;
			f(head);
			head = n;
		}
	}
	t = now() - t;
	return t * 1e9 / (double)(reps * 400000.0);
}

static void row(const char *name, double g, double h)
{
	printf("%-8s glibc %7.2f ns/op   hop %7.2f ns/op   hop/glibc %5.1f%%\n", name, g, h, 100.0 * h / g);
}

int main(int argc, char **argv)
{
	long scale = argc > 1 ? atol(argv[1]) : 1;
	/* warm both */
	churn(malloc, free, 100000);
	churn(hop__malloc, hop__free, 100000);
	double best[3][2];
	for (int k = 0; k < 3; k++)
		best[k][0] = best[k][1] = 1e9;
	for (int rep = 0; rep < 3; rep++) {
		double v;
		v = churn(malloc, free, 5000000 * scale);
		if (v < best[0][0]) best[0][0] = v;
		v = churn(hop__malloc, hop__free, 5000000 * scale);
		if (v < best[0][1]) best[0][1] = v;
		v = lifo(malloc, free, 50000 * scale);
		if (v < best[1][0]) best[1][0] = v;
		v = lifo(hop__malloc, hop__free, 50000 * scale);
		if (v < best[1][1]) best[1][1] = v;
		v = grow(malloc, free, 5 * (int)scale);
		if (v < best[2][0]) best[2][0] = v;
		v = grow(hop__malloc, hop__free, 5 * (int)scale);
		if (v < best[2][1]) best[2][1] = v;
	}
	printf("alloc_bench (best of 3; one op = one malloc or one free)\n");
	row("churn", best[0][0], best[0][1]);
	row("lifo", best[1][0], best[1][1]);
	row("grow", best[2][0], best[2][1]);
	return 0;
}
