/* xlate_bench.c -- translator throughput, beside memcpy of the same bytes.
 *
 * One source, built twice for x86_64: the origin as written, the destination
 * with -DREORDER, which declares every struct's members in another order, so
 * every value is really moved (no whole-struct copies). bench/xlate_bench.sh
 * runs `save` with the origin build and `load` with the destination build.
 *   (a) scalar-heavy: one heap array of struct sample
 *   (b) pointer-dense: a linked list, one heap block per node
 *   delta: hop__xlate_range over 1% of (a), and 1% of the nodes of (b),
 *          against a full pass
 * Figures only; not a test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hop.h"
#include "err.h"
#include "image.h"
#include "index.h"
#include "xlate.h"

struct sample {
#ifndef REORDER
	int32_t a;
	int16_t b;
	int8_t c;
	uint8_t d;
	int64_t e;
	double f;
	float g;
	uint32_t h;
	int64_t i[2];
#else
	double f;
	int64_t i[2];
	float g;
	int8_t c;
	uint8_t d;
	int16_t b;
	uint32_t h;
	int64_t e;
	int32_t a;
#endif
};

struct lnode {
#ifndef REORDER
	long key;
	struct lnode *next;
	double val;
	int tag;
	struct lnode *prev;
#else
	struct lnode *prev;
	int tag;
	double val;
	struct lnode *next;
	long key;
#endif
};

struct sample *samples;
size_t nsamples;
struct lnode *nodes;

/* CPU time of this thread, for the translator and memcpy alike: the machine is
 * shared, and wall time would count the time spent waiting for a core. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int die(const char *what, int rc)
{
	fprintf(stderr, "xlate_bench: %s: %s (%s)\n", what, hop_last_error(), hop_err_name(rc));
	return 1;
}

static int save(const char *file, size_t mb)
{
	nsamples = (mb << 20) / sizeof(struct sample);
	samples = malloc(nsamples * sizeof(struct sample));
	for (size_t k = 0; k < nsamples; k++)
		samples[k] = (struct sample){ .a = (int32_t)k, .b = (int16_t)k, .c = (int8_t)k, .d = (uint8_t)k,
					      .e = (int64_t)k * 3, .f = k * 0.5, .g = (float)k, .h = (uint32_t)k,
					      .i = { (int64_t)k, -(int64_t)k } };
	size_t nn = (mb << 20) / sizeof(struct lnode);
	struct lnode *prev = NULL;
	for (size_t k = 0; k < nn; k++) {
		struct lnode *n = malloc(sizeof(*n));
		*n = (struct lnode){ .key = (long)k, .val = k * 0.25, .tag = (int)(k & 7), .prev = prev };
		if (prev)
			prev->next = n;
		else
			nodes = n;
		prev = n;
	}
	const struct hop_index *idx;
	intptr_t bias;
	struct hop_scan *s;
	uint8_t d[HOP_DIGEST_LEN];
	int rc;
	double t0 = now();
	if ((rc = hop__self_index(&idx, &bias)) < 0 || (rc = hop__scan_new(idx, bias, NULL, &s)) < 0 ||
	    (rc = hop__scan_all(s)) < 0)
		return die("scan", rc);
	double t1 = now();
	if ((rc = hop__scan_digest(s, d)) < 0)
		return die("digest", rc);
	double t2 = now();
	if ((rc = hop__image_write(file, idx, bias, s, d)) < 0)
		return die("write", rc);
	printf("origin: %zu MiB of samples, %zu nodes; scan %.1f ms, digest %.1f ms (%.0f MB/s)\n", mb, nn,
	       (t1 - t0) * 1e3, (t2 - t1) * 1e3, 2.0 * (mb << 20) / (t2 - t1) / 1e6);
	return 0;
}

struct set {
	size_t *ids;
	size_t n;
	uint64_t bytes;
};

static double pass(struct hop_xlate *x, const struct hop_image *im, const struct set *st, size_t step)
{
	double t0 = now();
	for (size_t k = 0; k < st->n; k += step) {
		size_t i = st->ids[k];
		int rc = hop__xlate_object(x, &im->objs[i], im->bytes[i]);
		if (rc < 0) {
			die("translate", rc);
			exit(1);
		}
	}
	return now() - t0;
}

static double best_memcpy(uint8_t *dst, const uint8_t *src, size_t n)
{
	double best = 1e9;
	for (int r = 0; r < 5; r++) {
		double t0 = now();
		memcpy(dst, src, n);
		__asm__ volatile("" ::"r"(dst) : "memory");
		double t = now() - t0;
		if (t < best)
			best = t;
	}
	return best;
}

static int load(const char *file)
{
	const struct hop_index *idx;
	intptr_t bias;
	struct hop_image *im;
	struct hop_xlate *x;
	int rc;
	if ((rc = hop__self_index(&idx, &bias)) < 0 || (rc = hop__image_read(file, &im)) < 0 ||
	    (rc = hop__xlate_new(im->idx, im->bias, idx, bias, NULL, &x)) < 0)
		return die("setup", rc);
	uint32_t ts = hop__index_type(im->idx, "struct sample"), tn = hop__index_type(im->idx, "struct lnode");
	struct set a = { calloc(im->nobjs, sizeof(size_t)), 0, 0 }, b = { calloc(im->nobjs, sizeof(size_t)), 0, 0 },
		   rest = { calloc(im->nobjs, sizeof(size_t)), 0, 0 };
	for (size_t i = 0; i < im->nobjs; i++) {
		struct set *st = im->objs[i].type == ts && im->objs[i].kind == HOP_OBJ_BLOCK   ? &a
				 : im->objs[i].type == tn && im->objs[i].kind == HOP_OBJ_BLOCK ? &b
											       : &rest;
		st->ids[st->n++] = i;
		st->bytes += im->objs[i].size;
	}
	/* globals first, then the blocks: first passes allocate */
	pass(x, im, &rest, 1);
	double a_first = pass(x, im, &a, 1), b_first = pass(x, im, &b, 1);
	if ((rc = hop__xlate_finish(x)) < 0)
		return die("finish", rc);
	uint8_t digest[HOP_DIGEST_LEN];
	if ((rc = hop__xlate_digest(x, digest)) < 0)
		return die("digest", rc);
	int same = !memcmp(digest, im->digest, HOP_DIGEST_LEN);
	double a_full = 1e9, b_full = 1e9;
	/* XLATE_BENCH_REPS: more full passes, for a profiler */
	int reps = getenv("XLATE_BENCH_REPS") ? atoi(getenv("XLATE_BENCH_REPS")) : 3;
	for (int r = 0; r < reps; r++) {
		double t = pass(x, im, &a, 1);
		a_full = t < a_full ? t : a_full;
		t = pass(x, im, &b, 1);
		b_full = t < b_full ? t : b_full;
	}
	/* delta: 1% of the array as ranges of 4 KiB pages spread over it, 1% of the nodes */
	const struct hop_obj *big = &im->objs[a.ids[0]];
	uint64_t page = 4096, npages = big->size / page, want = npages / 100 ? npages / 100 : 1;
	double t0 = now();
	for (uint64_t k = 0; k < want; k++) {
		uint64_t off = (k * 100) * page;
		/* a page boundary may split a struct: widen to whole elements */
		uint64_t es = hop__type_size(im->idx, ts), lo = off / es * es, hi = (off + page + es - 1) / es * es;
		if (hi > big->size)
			hi = big->size;
		if ((rc = hop__xlate_range(x, big, lo, im->bytes[a.ids[0]] + lo, hi - lo)) < 0)
			return die("range", rc);
	}
	double a_delta = now() - t0;
	double b_delta = pass(x, im, &b, 100);

	uint8_t *src = malloc(a.bytes > b.bytes ? a.bytes : b.bytes), *dst = malloc(a.bytes > b.bytes ? a.bytes : b.bytes);
	memset(src, 1, a.bytes > b.bytes ? a.bytes : b.bytes);
	memset(dst, 2, a.bytes > b.bytes ? a.bytes : b.bytes);
	double a_mc = best_memcpy(dst, src, a.bytes), b_mc = best_memcpy(dst, src, b.bytes);
	printf("digest %s\n", same ? "equal" : "DIFFERS");
	printf("(a) scalar-heavy: %.1f MiB, %zu block(s)\n", a.bytes / 1048576.0, a.n);
	printf("    first pass (allocating)  %8.0f MB/s\n", a.bytes / a_first / 1e6);
	printf("    full pass                %8.0f MB/s   memcpy %8.0f MB/s   = %5.1f%% of memcpy\n",
	       a.bytes / a_full / 1e6, a.bytes / a_mc / 1e6, 100.0 * a_mc / a_full);
	printf("    delta 1%% (%llu pages)    %8.2f ms vs full %.2f ms = %5.2f%%\n", (unsigned long long)want,
	       a_delta * 1e3, a_full * 1e3, 100.0 * a_delta / a_full);
	printf("(b) pointer-dense: %.1f MiB, %zu blocks\n", b.bytes / 1048576.0, b.n);
	printf("    first pass (allocating)  %8.0f MB/s\n", b.bytes / b_first / 1e6);
	printf("    full pass                %8.0f MB/s   memcpy %8.0f MB/s   = %5.1f%% of memcpy\n",
	       b.bytes / b_full / 1e6, b.bytes / b_mc / 1e6, 100.0 * b_mc / b_full);
	printf("    delta 1%% (%zu nodes)   %8.2f ms vs full %.2f ms = %5.2f%%\n", (b.n + 99) / 100,
	       b_delta * 1e3, b_full * 1e3, 100.0 * b_delta / b_full);
	hop__xlate_free(x);
	hop__image_free(im);
	return same ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "save"))
		return save(argv[2], argc > 3 ? (size_t)atol(argv[3]) : 64);
	if (argc == 3 && !strcmp(argv[1], "load"))
		return load(argv[2]);
	fprintf(stderr, "usage: xlate_bench save FILE [MiB] | load FILE\n");
	return 2;
}
