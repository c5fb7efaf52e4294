/* comeback.c -- a block that comes back at the address of the one just
 * freed, every tick, while a large state stays still; and a pointer into it
 * that the program never writes again (tests/digest/t_comeback.sh).
 *
 * kvd's INCR of a counter that outgrows its string frees it and allocates
 * the next one, which the allocator puts at the same address. The
 * destination used to hash its whole state again after every such phase
 * (seconds at 300k keys, in the pause when it was the last round). Here:
 *   - `counter`: a string freed and allocated again every tick, one byte
 *     longer now and then (its size class holds nothing else, so the same
 *     address comes back);
 *   - `grow`: a string realloc'ed in place, one byte longer now and then;
 *   - `alias.p`: a char pointer to the counter's first block, alone in its
 *     page and never written again: the origin never sends it again, and it
 *     leads to each new counter only because the address comes back;
 *   - `items`: COMEBACK_N items with a name each that nothing changes.
 * COMEBACK_MODE=other: every other tick the block at that address is a
 * struct tri instead of a string (another type: the destination cannot keep
 * the old block's memory for it and hashes everything again; what
 * t_comeback.sh requires then is a correct alias or an aborted migration).
 * After a resume every value is checked, the alias included (unless the
 * address did not come back once on the origin: then it dangles there). */
#include <stdint.h>
#include <string.h>

#include "hop.h"
#include "mtest.h"

#define PAD 97 /* counter: 98..112 bytes, one size class of hop's heap */

struct item {
	long v;
	struct item *next;
	char *name;
};
struct tri {
	long x;
	short y;
	char tag[PAD];
};

struct item *items;
char *counter;   /* even ticks in "other" mode, every tick else */
struct tri *tri; /* odd ticks in "other" mode */
char *grow;
unsigned long tick, nitems;
int other, moved;
struct {
	char *p;
	char pad[4096 - sizeof(char *)];
} alias __attribute__((aligned(4096)));

static size_t counter_size(unsigned long t)
{
	char d[24];
	return PAD + (size_t)snprintf(d, sizeof(d), "%lu", t) + 1;
}

static size_t grow_size(unsigned long t)
{
	return 33 + (t / 256 < 14 ? t / 256 : 14); /* 33..47: stays in place */
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p)
		MT_FAIL("out of memory");
	return p;
}

static void fill_counter(char *s, unsigned long t)
{
	memset(s, 'c', PAD);
	snprintf(s + PAD, 24, "%lu", t);
}

static void fill_grow(char *s, unsigned long t)
{
	size_t n = grow_size(t);
	memset(s, 'g', n - 1);
	s[n - 1] = 0;
}

/* free the block at the counter's address and allocate the next one */
static void next_block(unsigned long t)
{
	void *old = counter ? (void *)counter : (void *)tri;
	free(counter);
	free(tri);
	counter = NULL;
	tri = NULL;
	void *p;
	if (other && t % 2) {
		tri = xmalloc(sizeof(*tri));
		tri->x = (long)t;
		tri->y = (short)(t % 1000);
		memset(tri->tag, 't', sizeof(tri->tag) - 1);
		tri->tag[sizeof(tri->tag) - 1] = 0;
		p = tri;
	} else {
		counter = xmalloc(counter_size(t));
		fill_counter(counter, t);
		p = counter;
	}
	if (p != old)
		moved = 1;
}

static void check(void)
{
	char want[128];
	struct item *it = items;
	for (unsigned long i = 0; i < nitems; i++, it = it->next) {
		MT_CHECK(it, "item %lu missing", i);
		snprintf(want, sizeof(want), "item-%lu", i);
		MT_CHECK(it->v == (long)i && !strcmp(it->name, want), "item %lu: %ld \"%s\"", i, it->v, it->name);
	}
	void *cur;
	if (other && tick % 2) {
		MT_CHECK(tri && !counter, "tick %lu: no tri", tick);
		MT_CHECK(tri->x == (long)tick && tri->y == (short)(tick % 1000) && tri->tag[0] == 't' &&
			 strlen(tri->tag) == sizeof(tri->tag) - 1, "tick %lu: tri {%ld, %d}", tick, tri->x, tri->y);
		cur = tri;
	} else {
		MT_CHECK(counter && !tri, "tick %lu: no counter", tick);
		fill_counter(want, tick);
		MT_CHECK(!strcmp(counter, want), "tick %lu: counter \"%s\"", tick, counter + PAD);
		cur = counter;
	}
	char g[64];
	fill_grow(g, tick);
	MT_CHECK(!strcmp(grow, g), "tick %lu: grow has %zu bytes, want %zu", tick, strlen(grow) + 1, grow_size(tick));
	/* the pointer nobody wrote again leads to the block at its address now */
	if (!moved)
		MT_CHECK(alias.p == cur, "alias %p, the block is at %p", (void *)alias.p, cur);
}

int main(void)
{
	mt_start();
	if (!hop_incoming()) {
		const char *m = getenv("COMEBACK_MODE"), *n = getenv("COMEBACK_N");
		other = m && !strcmp(m, "other");
		nitems = n ? strtoul(n, NULL, 10) : 50000;
		struct item **tail = &items;
		for (unsigned long i = 0; i < nitems; i++) {
			struct item *it = xmalloc(sizeof(*it));
			it->v = (long)i;
			it->name = xmalloc(24);
			snprintf(it->name, 24, "item-%lu", i);
			it->next = NULL;
			*tail = it;
			tail = &it->next;
		}
		grow = xmalloc(grow_size(0));
		fill_grow(grow, 0);
		next_block(0);
		alias.p = counter;
		check();
	}
	mt_ready();
	for (;;) {
		HOP_POINT(tick);
		if (mt_after_point(check))
			return 0;
		tick++;
		next_block(tick);
		if (grow_size(tick) != grow_size(tick - 1)) {
			char *g = realloc(grow, grow_size(tick));
			if (!g)
				MT_FAIL("out of memory");
			grow = g;
			fill_grow(grow, tick);
		}
		usleep(1000);
	}
}
