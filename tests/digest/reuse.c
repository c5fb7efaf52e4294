/* reuse.c -- blocks that come back at an address the destination already
 * knows, as something else, while the program is being migrated:
 *   - strings resized in place by realloc (same address, another size);
 *   - a struct with a flexible array member resized in place (on a 32-bit
 *     destination its size crosses one of the allocator's size classes, so
 *     the destination's copy cannot stay where it was);
 *   - a block freed and allocated again at once as another type (the
 *     allocator hands the same address back): struct pair <-> struct tri;
 *   - "churn": strings freed every tick and allocated again in the other of
 *     two size classes, one of them the resized strings' class: every phase
 *     then starts by dropping many blocks of that class, the destination's
 *     free-slot cache for it fills up and stops handing back the slot it was
 *     just given.
 * A pointer to such an address translated before the block's new version
 * must not keep naming the old one (the bug of the incremental digests era:
 * "state digests differ", or a destination holding a wrong pointer).
 * Every tick rewrites NTOUCH slots and all churn strings; every value is a
 * function of (slot, generation), checked after each resume. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hop.h"
#include "mtest.h"

#define NSLOTS 512
#define NTOUCH 128
#define NCHURN 128

struct blob {
	long len;
	unsigned char data[];
};
struct pair {
	long a, b;
};
struct tri {
	int x;
	short y;
	char tag[6];
};
struct slot {
	char *s;
	struct blob *b;
	struct pair *p; /* even generations */
	struct tri *t;  /* odd generations */
	unsigned gen;
};

/* one block: the churn pointers come after the slots, so the destination
 * meets the churn's new blocks after the slots' resized ones */
struct state {
	struct slot slots[NSLOTS];
	char *churn[NCHURN];
};
struct state *st;
unsigned long gen, cursor;
#define slots (st->slots)
#define churn (st->churn)

static size_t s_len(unsigned i, unsigned g) { return 17 + (i + g) % 14; } /* 18..31 bytes: one size class */
static long b_len(unsigned g) { return g % 2 ? 36 : 27; }
static unsigned char b_byte(unsigned i, unsigned g, long k) { return (unsigned char)((i * 7 + g * 3 + (unsigned)k) % 251); }

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q)
		MT_FAIL("out of memory");
	return q;
}

static void fill_s(char *s, unsigned i, unsigned g)
{
	size_t n = s_len(i, g);
	memset(s, 'a' + (int)(g % 26), n - 1);
	s[0] = (char)('A' + i % 26);
	s[n - 1] = 0;
}

static void write_slot(unsigned i, unsigned g)
{
	struct slot *sl = &slots[i];
	sl->gen = g;
	sl->s = xrealloc(sl->s, s_len(i, g)); /* in place: the size class stays */
	fill_s(sl->s, i, g);
	sl->b = xrealloc(sl->b, sizeof(struct blob) + (size_t)b_len(g)); /* in place on a 64-bit origin */
	sl->b->len = b_len(g);
	for (long k = 0; k < sl->b->len; k++)
		sl->b->data[k] = b_byte(i, g, k);
	/* free, then allocate the other type: the same address comes back */
	free(sl->p);
	free(sl->t);
	sl->p = NULL;
	sl->t = NULL;
	if (g % 2) {
		sl->t = xrealloc(NULL, sizeof(struct tri));
		sl->t->x = (int)(i * 31 + g);
		sl->t->y = (short)(g % 1000);
		memcpy(sl->t->tag, "tri", 4);
	} else {
		sl->p = xrealloc(NULL, sizeof(struct pair));
		sl->p->a = (long)i * 1000 + g;
		sl->p->b = -(long)g;
	}
}

static void write_churn(unsigned long g)
{
	for (int k = 0; k < NCHURN; k++)
		free(churn[k]);
	for (int k = 0; k < NCHURN; k++) {
		size_t n = (g + (unsigned)k) % 2 ? 40 : 20; /* size classes of 48 and 32 bytes, half and half, in turn */
		churn[k] = xrealloc(NULL, n);
		snprintf(churn[k], n, "churn-%d-%lu", k, g);
	}
}

static void check(void)
{
	char want[32];
	for (unsigned i = 0; i < NSLOTS; i++) {
		struct slot *sl = &slots[i];
		unsigned g = sl->gen;
		MT_CHECK(g <= gen, "slot %u: generation %u from the future (%lu)", i, g, gen);
		size_t n = s_len(i, g);
		fill_s(want, i, g);
		MT_CHECK(strlen(sl->s) == n - 1 && !memcmp(sl->s, want, n), "slot %u: string \"%s\", want \"%s\"", i,
			 sl->s, want);
		MT_CHECK(sl->b->len == b_len(g), "slot %u: blob of %ld bytes, want %ld", i, sl->b->len, b_len(g));
		for (long k = 0; k < sl->b->len; k++)
			MT_CHECK(sl->b->data[k] == b_byte(i, g, k), "slot %u: blob byte %ld is %u", i, k, sl->b->data[k]);
		if (g % 2) {
			MT_CHECK(!sl->p && sl->t, "slot %u: generation %u holds a pair", i, g);
			MT_CHECK(sl->t->x == (int)(i * 31 + g) && sl->t->y == (short)(g % 1000) && !strcmp(sl->t->tag, "tri"),
				 "slot %u: tri {%d, %d, %.6s}", i, sl->t->x, sl->t->y, sl->t->tag);
		} else {
			MT_CHECK(sl->p && !sl->t, "slot %u: generation %u holds a tri", i, g);
			MT_CHECK(sl->p->a == (long)i * 1000 + g && sl->p->b == -(long)g, "slot %u: pair {%ld, %ld}", i,
				 sl->p->a, sl->p->b);
		}
	}
	for (int k = 0; k < NCHURN; k++) {
		snprintf(want, sizeof(want), "churn-%d-%lu", k, gen);
		MT_CHECK(!strcmp(churn[k], want), "churn %d: \"%s\", want \"%s\"", k, churn[k], want);
	}
}

int main(void)
{
	mt_start();
	if (!hop_incoming()) {
		st = calloc(1, sizeof(*st));
		if (!st)
			MT_FAIL("out of memory");
		for (unsigned i = 0; i < NSLOTS; i++)
			write_slot(i, 0);
		write_churn(0);
		check();
	}
	mt_ready();
	for (;;) {
		HOP_POINT(tick);
		if (mt_after_point(check))
			return 0;
		gen++;
		for (int k = 0; k < NTOUCH; k++) {
			write_slot((unsigned)cursor, (unsigned)gen);
			cursor = (cursor + 1) % NSLOTS;
		}
		write_churn(gen);
		usleep(1000);
	}
}
