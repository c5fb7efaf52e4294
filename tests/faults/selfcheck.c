/* selfcheck.c -- the program the fault, hostile and soak tests migrate.
 *
 * Its state can check itself at any moment, not only after a resume: a list
 * of records whose every field is a function of (id, generation), a running
 * total kept incrementally, a history array that grows by realloc, names
 * rebuilt by free + strdup, a function-pointer table. Every tick it rewrites
 * a few records (so a migration always has rounds of changes to send) and
 * passes HOP_POINT(tick).
 *
 * It checks itself and prints one line:
 *   after each resume            "OK resumed=N pid=P gen=G"
 *   on SIGUSR1                   "CHECK ok resumed=N pid=P gen=G"
 * and on the first mismatch "FAIL: ..." and exits 1. At start (not when
 * receiving) it prints "ready pid=P".
 *
 * Environment: SC_RECS records (2000), SC_TOUCH records rewritten per tick
 * (20), SC_SLEEP_US between ticks (1000), SC_HOPS exit 0 after that many
 * resumes (0 = run until killed), SC_NAME_LEN extra bytes per name (0). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hop.h"

typedef long (*op_fn)(long, long);
static long op_add(long a, long b) { return a + b; }
static long op_mul(long a, long b) { return a * b; }
static long op_sub(long a, long b) { return a - b; }

struct rec {
	uint32_t id;
	uint32_t gen;   /* generation this record was last written in */
	long value;     /* mix(id, gen) */
	double weight;  /* id * 0.25 + gen */
	char *name;     /* "rec-<id>-<gen % 97>" + padding */
	op_fn op;       /* ops[id % 3] */
	struct rec *next;
};

struct rec *recs;      /* list, ids descending from nrecs - 1 */
struct rec **by_id;    /* array of pointers into the list */
unsigned long nrecs;
unsigned long gen;     /* ticks so far (carried across migrations) */
long total;            /* sum of every rec->value, kept incrementally */
long *hist;            /* hist[i] = mix(i, 7); grows by realloc */
unsigned long nhist, caphist;
unsigned long cursor;  /* next record to rewrite */
op_fn ops[3];
const char *motto;
int name_pad;

static volatile sig_atomic_t check_wanted;

/* 64-bit arithmetic on every target: a 32-bit destination must compute the
 * values a 64-bit origin wrote (unsigned long wraps at 2^32 there) */
static long mix(unsigned long id, unsigned long g)
{
	uint64_t x = (uint64_t)id * 2654435761u + (uint64_t)g * 40503u + 12345u;
	x ^= x >> 13;
	return (long)(x % 1000003u) - 500000;
}

static void fail(const char *what, unsigned long id, long got, long want)
{
	printf("FAIL: %s (id %lu): got %ld, want %ld (gen %lu, resumed %d, pid %d)\n", what, id, got, want, gen,
	       hop_resumed(), (int)getpid());
	fflush(stdout);
	exit(1);
}

static char *make_name(uint32_t id, uint32_t g)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "rec-%u-%u", id, g % 97);
	char *s = malloc((size_t)n + (size_t)name_pad + 1);
	if (!s) {
		printf("FAIL: out of memory\n");
		exit(1);
	}
	memcpy(s, buf, (size_t)n);
	memset(s + n, 'x', (size_t)name_pad);
	s[n + name_pad] = '\0';
	return s;
}

static void write_rec(struct rec *r, uint32_t g)
{
	total -= r->value;
	r->gen = g;
	r->value = mix(r->id, g);
	r->weight = r->id * 0.25 + g;
	total += r->value;
	if (g % 4 == 0 || !r->name) { /* free + allocate: the heap log sees it */
		free(r->name);
		r->name = make_name(r->id, g);
	} else {
		char buf[64];
		int n = snprintf(buf, sizeof(buf), "rec-%u-%u", r->id, g % 97);
		char *s = realloc(r->name, (size_t)n + (size_t)name_pad + 1);
		if (!s)
			fail("realloc name", r->id, 0, 0);
		memcpy(s, buf, (size_t)n);
		memset(s + n, 'x', (size_t)name_pad);
		s[n + name_pad] = '\0';
		r->name = s;
	}
}

static void build(void)
{
	ops[0] = op_add;
	ops[1] = op_mul;
	ops[2] = op_sub;
	motto = "state checks itself";
	by_id = calloc(nrecs, sizeof(*by_id));
	for (unsigned long i = 0; i < nrecs; i++) {
		struct rec *r = calloc(1, sizeof(*r));
		if (!r || !by_id)
			fail("out of memory", i, 0, 0);
		r->id = (uint32_t)i;
		r->op = ops[i % 3];
		write_rec(r, 0);
		r->next = recs;
		recs = r;
		by_id[i] = r;
	}
}

static void tick(int touch)
{
	gen++;
	for (int k = 0; k < touch && nrecs; k++) {
		write_rec(by_id[cursor], (uint32_t)gen);
		cursor = (cursor + 1) % nrecs;
	}
	if (nhist == caphist) { /* grow, and now and then start over small */
		unsigned long cap = caphist < 4096 ? (caphist ? caphist * 2 : 16) : 16;
		if (cap == 16) {
			free(hist);
			hist = NULL;
			nhist = 0;
		}
		long *h = realloc(hist, cap * sizeof(*h));
		if (!h)
			fail("realloc hist", cap, 0, 0);
		hist = h;
		caphist = cap;
	}
	hist[nhist] = mix(nhist, 7);
	nhist++;
}

static void check(void)
{
	unsigned long n = 0;
	long sum = 0;
	char buf[64];
	if (strcmp(motto, "state checks itself") != 0)
		fail("motto", 0, 0, 0);
	for (struct rec *r = recs; r; r = r->next, n++) {
		unsigned long want_id = nrecs - 1 - n;
		if (r->id != want_id)
			fail("list order", n, r->id, (long)want_id);
		if (by_id[r->id] != r)
			fail("by_id points elsewhere", r->id, 0, 0);
		if (r->gen > gen)
			fail("generation from the future", r->id, r->gen, (long)gen);
		if (r->value != mix(r->id, r->gen))
			fail("value", r->id, r->value, mix(r->id, r->gen));
		if (r->weight != r->id * 0.25 + r->gen)
			fail("weight", r->id, (long)r->weight, (long)(r->id * 0.25 + r->gen));
		int m = snprintf(buf, sizeof(buf), "rec-%u-%u", r->id, r->gen % 97);
		if (strncmp(r->name, buf, (size_t)m) != 0 || strlen(r->name) != (size_t)(m + name_pad))
			fail("name", r->id, (long)strlen(r->name), m + name_pad);
		if (r->op != ops[r->id % 3] || r->op(6, 7) != (long[]){ 13, 42, -1 }[r->id % 3])
			fail("function pointer", r->id, r->op(6, 7), 0);
		sum += r->value;
	}
	if (n != nrecs)
		fail("list length", n, (long)n, (long)nrecs);
	if (sum != total)
		fail("total", 0, sum, total);
	for (unsigned long i = 0; i < nhist; i++)
		if (hist[i] != mix(i, 7))
			fail("hist", i, hist[i], mix(i, 7));
}

static void on_usr1(int sig)
{
	(void)sig;
	check_wanted = 1;
}

static long env_long(const char *name, long def)
{
	const char *e = getenv(name);
	return e && *e ? atol(e) : def;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGUSR1, on_usr1);
	if (hop_init() < 0) {
		printf("FAIL: hop_init: %s\n", hop_last_error());
		return 2;
	}
	int touch = (int)env_long("SC_TOUCH", 20);
	long sleep_us = env_long("SC_SLEEP_US", 1000);
	int hops = (int)env_long("SC_HOPS", 0);
	int seen = hop_resumed();
	if (!hop_incoming()) {
		nrecs = (unsigned long)env_long("SC_RECS", 2000);
		name_pad = (int)env_long("SC_NAME_LEN", 0);
		build();
		check();
		printf("ready pid=%d\n", (int)getpid());
	}
	for (;;) {
		HOP_POINT(tick);
		if (hop_resumed() != seen) {
			seen = hop_resumed();
			check();
			printf("OK resumed=%d pid=%d gen=%lu\n", seen, (int)getpid(), gen);
			if (hops && seen >= hops)
				return 0;
		}
		if (check_wanted) {
			check_wanted = 0;
			check();
			printf("CHECK ok resumed=%d pid=%d gen=%lu\n", hop_resumed(), (int)getpid(), gen);
		}
		tick(touch);
		if (sleep_us > 0)
			usleep((useconds_t)sleep_us);
	}
}
