/* upgrade/prog.c -- one program in two versions (v1; v2 with -DV2) for the
 * upgrade tests (docs/upgrade.md). v2 changes its structs the ways an
 * upgrade may: members reordered, added (zero, or set by the upgrade hook),
 * removed, widened (int -> long long), narrowed (long -> int: values must
 * fit), renamed (HOP_RENAMED), an incompatible type change converted by a
 * hook (char[8] -> int); a global renamed, one removed, one added; a
 * transfer point renamed (HOP_POINT_RENAMED).
 *
 * Variants of v2: -DV2_NOHOOK (no hook for struct conf: its incompatible
 * member is refused), -DV2_NOPOINT (the old point `aux` vanished unmapped),
 * -DV2_AUXFIRST (aux2 comes first in the loop, so a live destination waits
 * there and the v1 origin must park at aux: HOP_POINT_RENAMED at work).
 *
 *   prog save FILE [big]   v1: build the state, write an image (big: a value
 *                          that does not fit v2's narrowed member)
 *   prog load FILE         v2: translate the image, compare digests, check
 *   prog                   live test (tests/migrate/mtest.h protocol): v1
 *                          builds and loops; v2 resumes and checks
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hop.h"
#include "mtest.h"
#include "digest.h"
#include "image.h"
#include "xlate.h"

#define N 50

#ifndef V2
struct entry {
	int id;
	int hits;
	char name[16];
	int obsolete;
	long big;
	int legacy_code;
	struct entry *next;
};
struct conf {
	char mode[8];
	int level;
};
long counter = 12345;
int removed_global = 42;
#else
struct entry {
	struct entry *next;      /* reordered */
	long long hits;          /* widened */
	int id;
	char name[16];
	int big;                 /* narrowed: must fit */
	int code;                /* was legacy_code */
	unsigned long flags_new; /* added: zero */
	int score;               /* added: the hook sets it from old values */
	/* obsolete: removed */
};
HOP_RENAMED(struct entry, code, legacy_code);
struct conf {
	int mode;                /* was char[8]: only a hook converts it */
	int level;
	int extra;               /* added */
};
long total;                      /* was counter */
HOP_GLOBAL_RENAMED(total, counter);
int new_global = 7;              /* added: keeps its initial value */

int upgrade_entry(struct entry *e, const struct hop_old *old);
int upgrade_entry(struct entry *e, const struct hop_old *old)
{
	long long hits, obsolete;
	if (hop_old_int(old, "hits", &hits) < 0 || hop_old_int(old, "obsolete", &obsolete) < 0)
		return -1;
	e->score = (int)(hits * 10 + obsolete);
	return 0;
}
HOP_UPGRADE(struct entry, upgrade_entry);

#ifndef V2_NOHOOK
int upgrade_conf(struct conf *c, const struct hop_old *old);
int upgrade_conf(struct conf *c, const struct hop_old *old)
{
	char mode[8] = { 0 };
	size_t n;
	if (hop_old_bytes(old, "mode", mode, sizeof(mode) - 1, &n) < 0)
		return -1;
	c->mode = !strcmp(mode, "fast") ? 1 : !strcmp(mode, "slow") ? 2 : -1;
	return c->mode < 0 ? -1 : 0;
}
HOP_UPGRADE(struct conf, upgrade_conf);
#endif
#ifndef V2_NOPOINT
HOP_POINT_RENAMED(aux2, aux);
#endif
#endif

struct entry *head;
struct entry *table[4];
struct entry fixed;
struct conf cfg;
int ticks;

static void build(int big)
{
	for (int i = N - 1; i >= 0; i--) {
		struct entry *e = calloc(1, sizeof(*e));
		e->id = i;
		e->hits = i * 3;
		snprintf(e->name, sizeof(e->name), "e%d", i);
#ifndef V2
		e->obsolete = i % 2;
		e->big = i * 1000L;
		if (big && i == 7)
			e->big = 1L << 40;
		e->legacy_code = i + 100;
#endif
		e->next = head;
		head = e;
	}
	int k = 0;
	for (struct entry *e = head; e; e = e->next)
		if (e->id % 12 == 5)
			table[k++] = e;
	fixed.id = 99;
	fixed.hits = 9;
	strcpy(fixed.name, "fixed");
#ifndef V2
	fixed.obsolete = 1;
	fixed.legacy_code = 5;
	strcpy(cfg.mode, "fast");
#endif
	cfg.level = 5;
}

#ifdef V2
/* hits_base: what v1 added to entry 0's hits while it ran (live test) */
static void check(void)
{
	int i = 0;
	for (struct entry *e = head; e; e = e->next, i++) {
		long long hits = e->id == 0 ? e->hits : i * 3;
		MT_CHECK(e->id == i, "entry %d: id %d", i, e->id);
		MT_CHECK(e->hits == hits, "entry %d: hits %lld", i, e->hits);
		MT_CHECK(!strcmp(e->name, (char[16]){ 0 }) || 1, "name");
		char nm[16];
		snprintf(nm, sizeof(nm), "e%d", i);
		MT_CHECK(!strcmp(e->name, nm), "entry %d: name %s", i, e->name);
		MT_CHECK(e->big == i * 1000, "entry %d: big %d", i, e->big);
		MT_CHECK(e->code == i + 100, "entry %d: code %d (renamed from legacy_code)", i, e->code);
		MT_CHECK(e->flags_new == 0, "entry %d: added member flags_new = %lu, not 0", i, e->flags_new);
		MT_CHECK(e->score == (int)(hits * 10 + i % 2), "entry %d: score %d from the hook, want %lld", i,
			 e->score, hits * 10 + i % 2);
	}
	MT_CHECK(i == N, "%d entries", i);
	for (int k = 0; k < 4; k++)
		MT_CHECK(table[k] && table[k]->id == k * 12 + 5, "table[%d] -> %d", k, table[k] ? table[k]->id : -1);
	MT_CHECK(fixed.id == 99 && fixed.hits == 9 && fixed.code == 5 && fixed.score == 91 &&
			 !strcmp(fixed.name, "fixed"),
		 "global fixed: %d %lld %d %d %s", fixed.id, fixed.hits, fixed.code, fixed.score, fixed.name);
	MT_CHECK(cfg.mode == 1 && cfg.level == 5 && cfg.extra == 0, "cfg: mode %d level %d extra %d", cfg.mode,
		 cfg.level, cfg.extra);
	MT_CHECK(total == 12345, "total (renamed from counter) = %ld", total);
	MT_CHECK(new_global == 7, "new_global = %d, want its initial value 7", new_global);
}
#else
static void check(void)
{
}
#endif

static int image_mode(int argc, char **argv)
{
	const struct hop_index *idx;
	intptr_t bias;
	int rc;
	uint8_t digest[HOP_DIGEST_LEN];
	if ((rc = hop__self_index(&idx, &bias)) < 0)
		return fprintf(stderr, "index: %s\n", hop_last_error()), 1;
	if (!strcmp(argv[1], "save")) {
		struct hop_scan *s;
		build(argc > 3 && !strcmp(argv[3], "big"));
		if ((rc = hop__scan_new(idx, bias, NULL, &s)) < 0 || (rc = hop__scan_all(s)) < 0 ||
		    (rc = hop__scan_digest(s, digest)) < 0 || (rc = hop__image_write(argv[2], idx, bias, s, digest)) < 0)
			return fprintf(stderr, "save: %s\n", hop_last_error()), 1;
		printf("saved %zu objects\n", hop__scan_count(s));
		hop__scan_free(s);
		return 0;
	}
	struct hop_image *im;
	struct hop_xlate *x;
	if ((rc = hop__image_read(argv[2], &im)) < 0 || (rc = hop__xlate_new(im->idx, im->bias, idx, bias, NULL, &x)) < 0)
		return fprintf(stderr, "load: %s\n", hop_last_error()), 1;
	if ((rc = hop__image_translate(im, x)) < 0) {
		printf("REFUSED %s: %s\n", hop_err_name(rc), hop_last_error());
		return 3;
	}
	if ((rc = hop__xlate_digest(x, digest)) < 0)
		return fprintf(stderr, "digest: %s\n", hop_last_error()), 1;
	if (memcmp(digest, im->digest, HOP_DIGEST_LEN) != 0) {
		printf("FAIL: digests differ\n");
		return 1;
	}
	printf("digest equal, %zu objects\n", im->nobjs);
	check();
	printf("OK values\n");
	hop__xlate_free(x);
	hop__image_free(im);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3)
		return image_mode(argc, argv);
	mt_start();
	if (!hop_incoming())
		build(0);
	mt_ready();
	for (;;) {
#ifdef V2_AUXFIRST
		HOP_POINT(aux2);
		if (mt_after_point(check))
			return 0;
#endif
		HOP_POINT(tick);
		if (mt_after_point(check))
			return 0;
#ifndef V2
		HOP_POINT(aux);
		head->hits++; /* entry 0 changes while v1 runs */
		ticks++;
#elif defined(V2_AUXFIRST)
		ticks++;
#elif !defined(V2_NOPOINT)
		HOP_POINT(aux2);
		ticks++;
#endif
		usleep(2000);
	}
}
