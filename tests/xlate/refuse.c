/* refuse.c -- states hop must refuse to translate, each with its message
 * checked by tests/xlate/t_refuse.sh.
 *
 *   refuse save CASE FILE   build one case's state, scan, write an image
 *   refuse load FILE        translate an image (the range case fails here)
 * Cases: stack, libc, void, twotypes, range, ok. Built with -DHINTED the
 * void case carries HOP_GLOBAL_POINTS_TO and must succeed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hop.h"
#include "err.h"
#include "image.h"
#include "index.h"
#include "xlate.h"

struct thing {
	int id;
	struct thing *next;
};

struct other {
	double weight;
	char tag[8];
};

int *sp;                /* stack */
FILE *out;              /* libc */
void *opaque;           /* void * to a block holding pointers */
struct thing *as_thing; /* one block, two incompatible types */
struct other *as_other;
long big;               /* 64-bit value, 32-bit long elsewhere */
#ifdef HINTED
HOP_GLOBAL_POINTS_TO(opaque, struct thing);
#endif

static int die(const char *what, int rc)
{
	fprintf(stderr, "refuse: %s: %s (%s)\n", what, hop_last_error(), hop_err_name(rc));
	return 1;
}

static int save(const char *c, const char *file)
{
	int local = 1;
	if (!strcmp(c, "stack")) {
		sp = &local;
	} else if (!strcmp(c, "libc")) {
		out = stdout;
	} else if (!strcmp(c, "void")) {
		struct thing *t = calloc(1, sizeof(*t));
		t->id = 7;
		t->next = calloc(1, sizeof(*t));
		opaque = t;
	} else if (!strcmp(c, "twotypes")) {
		void *b = calloc(1, 64);
		as_thing = b;
		as_other = b;
	} else if (!strcmp(c, "range")) {
		big = (long)(sizeof(long) > 4 ? 3000000000.0 : 3);
	} else if (strcmp(c, "ok") != 0) {
		return 2;
	}
	const struct hop_index *idx;
	intptr_t bias;
	struct hop_scan *s;
	uint8_t d[HOP_DIGEST_LEN];
	int rc;
	if ((rc = hop__self_index(&idx, &bias)) < 0 || (rc = hop__scan_new(idx, bias, NULL, &s)) < 0)
		return die("setup", rc);
	if ((rc = hop__scan_all(s)) < 0)
		return die("scan", rc);
	if ((rc = hop__scan_digest(s, d)) < 0 || (rc = hop__image_write(file, idx, bias, s, d)) < 0)
		return die("save", rc);
	hop__scan_free(s);
	(void)local;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "save"))
		return save(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "load")) {
		const struct hop_index *idx;
		intptr_t bias;
		struct hop_image *im;
		struct hop_xlate *x;
		uint8_t d[HOP_DIGEST_LEN];
		int rc;
		if ((rc = hop__self_index(&idx, &bias)) < 0 || (rc = hop__image_read(argv[2], &im)) < 0 ||
		    (rc = hop__xlate_new(im->idx, im->bias, idx, bias, NULL, &x)) < 0)
			return die("setup", rc);
		if ((rc = hop__image_translate(im, x)) < 0)
			return die("translate", rc);
		if ((rc = hop__xlate_digest(x, d)) < 0)
			return die("digest", rc);
		if (memcmp(d, im->digest, HOP_DIGEST_LEN))
			return fprintf(stderr, "refuse: digests differ\n"), 1;
		if (opaque && ((struct thing *)opaque)->id != 7)
			return fprintf(stderr, "refuse: opaque->id is %d\n", ((struct thing *)opaque)->id), 1;
		printf("loaded, digest equal\n");
		return 0;
	}
	return 2;
}
