/* fuzz_xlate.c -- libFuzzer target: a damaged image (origin index + objects)
 * translated into a fixed destination layout, the x86_64 build of
 * tests/xlate/fixture.c (its index in corpus/dest_x86_64.idx, $HOP_FUZZ_DEST).
 * The destination's globals are moved into an arena of ours and its sections
 * dropped, so the translator writes only memory we own: any write out of
 * bounds is ASan's to see. The translator may refuse; it must not crash,
 * hang or leak. */
#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "fuzz_common.h"
#include "image.h"
#include "index.h"
#include "xlate.h"

static struct hop_index *dest;
static uint8_t *arena;
static size_t arena_len;

#define MAX_BLOCK (64u << 20)
#define MAX_LIVE 100000

struct fheap {
	void *p[MAX_LIVE];
	size_t n;
};

static int f_find(void *ctx, uint64_t a, uint64_t *s, uint64_t *z) { return 0; }

static void *f_alloc(void *ctx, size_t n)
{
	struct fheap *h = ctx;
	if (n > MAX_BLOCK || h->n == MAX_LIVE)
		return NULL;
	void *p = calloc(1, n ? n : 1);
	if (p)
		h->p[h->n++] = p;
	return p;
}

static void f_release(void *ctx, void *p)
{
	struct fheap *h = ctx;
	for (size_t i = 0; i < h->n; i++)
		if (h->p[i] == p) {
			h->p[i] = h->p[--h->n];
			free(p);
			return;
		}
}

static struct fheap heap;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("HOP_FUZZ_DEST");
	if (!path)
		path = "tests/fuzz/corpus/dest_x86_64.idx";
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fuzz_xlate: cannot open %s (set HOP_FUZZ_DEST)\n", path);
		exit(1);
	}
	static uint8_t buf[4 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (hop__index_decode(buf, n, &dest) < 0) {
		fprintf(stderr, "fuzz_xlate: %s: %s\n", path, hop_last_error());
		exit(1);
	}
	for (uint32_t i = 0; i < dest->nvars; i++)
		arena_len += (dest->vars[i].size + 15) & ~(uint64_t)15;
	arena = calloc(1, arena_len + 16);
	uint64_t at = 0;
	for (uint32_t i = 0; i < dest->nvars; i++) {
		dest->vars[i].address = (uintptr_t)arena + at;
		at += (dest->vars[i].size + 15) & ~(uint64_t)15;
	}
	dest->nsections = 0; /* no literal search through memory we do not own */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b = malloc(size ? size : 1);
	if (!b)
		return 0;
	memcpy(b, data, size);
	fix_image(b, size);
	struct hop_image *im;
	if (hop__image_decode(b, size, &im) < 0) {
		free(b);
		return 0;
	}
	struct hop_heap_ops ops = { f_find, f_alloc, f_release, &heap, NULL };
	struct hop_xlate *x;
	if (hop__xlate_new(im->idx, im->bias, dest, 0, &ops, &x) == 0) {
		uint8_t d[HOP_DIGEST_LEN];
		if (hop__image_translate(im, x) == 0)
			hop__xlate_digest(x, d);
		/* and once more, as a delta round would */
		for (size_t i = 0; i < im->nobjs && i < 4; i++)
			if (im->objs[i].size >= 8)
				hop__xlate_range(x, &im->objs[i], 0, im->bytes[i], 8);
		hop__xlate_free(x);
	}
	hop__image_free(im);
	while (heap.n)
		f_release(&heap, heap.p[heap.n - 1]);
	memset(arena, 0, arena_len);
	return 0;
}
