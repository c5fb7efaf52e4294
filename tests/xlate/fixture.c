/* fixture.c -- a program state with every kind of value hop translates, for
 * the cross-target round trips (tests/xlate/t_roundtrip.sh).
 *
 *   fixture save FILE   build the state deterministically, scan it, write an
 *                       image (index + bias + objects + digest)
 *   fixture load FILE   translate the image into this process's globals and
 *                       heap, compare digests, then check every value against
 *                       what build() makes, printing both on a mismatch
 *
 * Built with `hop cc --target T` for each of the five targets; load runs on
 * another target (under qemu), so every layout difference is exercised:
 * 32/64-bit, byte order, char signedness, long double formats, alignment. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hop.h"
#include "digest.h"
#include "err.h"
#include "image.h"
#include "index.h"
#include "xlate.h"

/* ---- the state --------------------------------------------------------------- */
struct node {
	int key;
	char name[12];
	struct node *next;
};

struct tree {
	long key;
	struct tree *left, *right;
	double weight;
};

struct entry {
	char *key;
	int value;
	struct entry *next;
};

struct point {
	short x;
	long y;
	float z;
	unsigned char tag;
};

struct flags {
	unsigned a : 3;
	int b : 5;
	unsigned c : 12;
	unsigned char d : 1;
	signed char e : 4;
};

enum colour { RED = 1, GREEN = 2, BLUE = 400 };

struct shape {
	int kind; /* 1: r, 2: p, 3: text */
	union {
		double r;
		struct point *p;
		char *text;
	} u;
};
HOP_UNION_TAG(struct shape, u, kind);
HOP_UNION_CASE(struct shape, u, 1, r);
HOP_UNION_CASE(struct shape, u, 2, p);
HOP_UNION_CASE(struct shape, u, 3, text);

union word {
	unsigned int w;
	float f;
};

struct blob {
	int n;
	short data[];
};

struct holder {
	void *any;
	int (*fn)(int, int);
	const char *label;
};
HOP_POINTS_TO(struct holder, any, struct tree);

static int add(int a, int b) { return a + b; }
static int sub(int a, int b) { return a - b; }
static int mul(int a, int b) { return a * b; }

struct node *list;             /* a list of 6, circular */
struct node **list_pp = &list; /* pointer to pointer */
struct tree *root;
struct entry *table[16];
struct point points[8];
struct point *heap_points;     /* 5 of them */
long *py;                      /* &points[3].y */
struct point *pp;              /* &heap_points[2] */
struct point *pend;            /* heap_points + 5 (one past the end) */
char gbuf[32];
char *hstr, *hmid;
const char *greeting;
int (*ops[3])(int, int);
struct flags gf[2];
long double ldv[5];
double dv[3];
float fv[2];
struct shape shapes[3];
union word words[2];
struct blob *blob;
struct holder holder;
int grid[3][4];
char **argvlike;               /* 3 heap strings + NULL */
enum colour colour;
bool flag;
signed char sc;
unsigned long long ull;
long lg;
short sh;
unsigned char uc;

static void build(void)
{
	struct node *prev = NULL, *first = NULL;
	for (int i = 0; i < 6; i++) {
		struct node *n = malloc(sizeof(*n));
		n->key = i * 7 - 10;
		snprintf(n->name, sizeof(n->name), "node%d", i);
		n->next = NULL;
		if (prev)
			prev->next = n;
		else
			first = n;
		prev = n;
	}
	prev->next = first; /* cycle */
	list = first;

	/* a tree of 7: keys 1..7, balanced */
	struct tree *t[8];
	for (int i = 1; i <= 7; i++) {
		t[i] = calloc(1, sizeof(struct tree));
		t[i]->key = i * 1000L;
		t[i]->weight = i / 4.0;
	}
	t[4]->left = t[2], t[4]->right = t[6];
	t[2]->left = t[1], t[2]->right = t[3];
	t[6]->left = t[5], t[6]->right = t[7];
	root = t[4];

	for (int i = 0; i < 20; i++) {
		char k[16];
		snprintf(k, sizeof(k), "key-%d", i);
		struct entry *e = malloc(sizeof(*e));
		e->key = strdup(k);
		e->value = i * i;
		unsigned h = (unsigned)(i * 5) % 16;
		e->next = table[h];
		table[h] = e;
	}

	for (int i = 0; i < 8; i++)
		points[i] = (struct point){ (short)(-i), 100000L * i, (float)i * 0.5f, (unsigned char)(200 + i) };
	heap_points = malloc(5 * sizeof(struct point));
	for (int i = 0; i < 5; i++)
		heap_points[i] = (struct point){ (short)(i + 1), -7L * i, 1.25f * (float)i, (unsigned char)i };
	py = &points[3].y;
	pp = &heap_points[2];
	pend = heap_points + 5;

	strcpy(gbuf, "global buffer");
	hstr = strdup("heap string");
	hmid = hstr + 5;
	greeting = "hello, world";
	ops[0] = add, ops[1] = sub, ops[2] = mul;

	gf[0] = (struct flags){ 5, -9, 4000, 1, -8 };
	gf[1] = (struct flags){ 2, 15, 1, 0, 7 };
	ldv[0] = 1.5L;
	ldv[1] = -0.25L;
	ldv[2] = 1.0L + 0x1p-60L;
	ldv[3] = 0x1p+1000L;
	ldv[4] = 12345.6875L;
	dv[0] = 0.1, dv[1] = -1e300, dv[2] = 0.0;
	fv[0] = 3.5f, fv[1] = -0.0f;

	shapes[0].kind = 1, shapes[0].u.r = 2.75;
	shapes[1].kind = 2, shapes[1].u.p = &points[5];
	shapes[2].kind = 3, shapes[2].u.text = strdup("shape text");
	words[0].w = 0xdeadbeef;
	words[1].f = 1.5f;

	blob = malloc(sizeof(struct blob) + 5 * sizeof(short));
	blob->n = 5;
	for (int i = 0; i < 5; i++)
		blob->data[i] = (short)(i * -300);

	holder.any = t[7];
	holder.fn = mul;
	holder.label = "a label";
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 4; j++)
			grid[i][j] = i * 10 + j;
	argvlike = malloc(4 * sizeof(char *));
	argvlike[0] = strdup("prog");
	argvlike[1] = strdup("--flag");
	argvlike[2] = strdup("value");
	argvlike[3] = NULL;
	colour = BLUE;
	flag = true;
	sc = -100;
	ull = 0xfedcba9876543210ull;
	lg = -2000000000L;
	sh = -12345;
	uc = 250;
}

/* ---- checking ------------------------------------------------------------------ */
static int bad;
#define CHECK_I(what, got, want)                                                                    \
	do {                                                                                        \
		long long g_ = (long long)(got), w_ = (long long)(want);                            \
		if (g_ != w_) {                                                                     \
			fprintf(stderr, "MISMATCH %s: got %lld, want %lld\n", what, g_, w_);        \
			bad++;                                                                      \
		}                                                                                   \
	} while (0)
#define CHECK_F(what, got, want)                                                                    \
	do {                                                                                        \
		long double g_ = (got), w_ = (want);                                                \
		if (g_ != w_ || signbit(g_) != signbit(w_)) {                                       \
			fprintf(stderr, "MISMATCH %s: got %La, want %La\n", what, g_, w_);          \
			bad++;                                                                      \
		}                                                                                   \
	} while (0)
#define CHECK_S(what, got, want)                                                                    \
	do {                                                                                        \
		const char *g_ = (got), *w_ = (want);                                               \
		if (!g_ || strcmp(g_, w_)) {                                                        \
			fprintf(stderr, "MISMATCH %s: got \"%s\", want \"%s\"\n", what, g_ ? g_ : "(null)", w_); \
			bad++;                                                                      \
		}                                                                                   \
	} while (0)
#define CHECK(what, cond)                                                                           \
	do {                                                                                        \
		if (!(cond)) {                                                                      \
			fprintf(stderr, "MISMATCH %s: %s is false\n", what, #cond);                 \
			bad++;                                                                      \
		}                                                                                   \
	} while (0)

#include <math.h>

static void check(void)
{
	char w[64];
	struct node *n = list;
	for (int i = 0; i < 6; i++, n = n->next) {
		snprintf(w, sizeof(w), "list[%d].key", i);
		CHECK_I(w, n->key, i * 7 - 10);
		char name[12];
		snprintf(name, sizeof(name), "node%d", i);
		snprintf(w, sizeof(w), "list[%d].name", i);
		CHECK_S(w, n->name, name);
	}
	CHECK("list cycle", n == list);
	CHECK("list_pp", list_pp == &list);

	struct tree *t = root;
	CHECK_I("root->key", t->key, 4000);
	CHECK_I("root->left->right->key", t->left->right->key, 3000);
	CHECK_F("root->right->left->weight", t->right->left->weight, 5 / 4.0);
	CHECK_I("root->right->right->key", t->right->right->key, 7000);
	CHECK("leaf", t->left->left->left == NULL && t->right->right->right == NULL);
	CHECK("holder.any", holder.any == t->right->right);

	int found = 0;
	for (int h = 0; h < 16; h++)
		for (struct entry *e = table[h]; e; e = e->next) {
			int i;
			if (sscanf(e->key, "key-%d", &i) != 1) {
				CHECK_S("table key", e->key, "key-N");
				continue;
			}
			snprintf(w, sizeof(w), "table[%d] %s .value", h, e->key);
			CHECK_I(w, e->value, i * i);
			CHECK_I(w, (unsigned)(i * 5) % 16, h);
			found++;
		}
	CHECK_I("table entries", found, 20);

	for (int i = 0; i < 8; i++) {
		snprintf(w, sizeof(w), "points[%d]", i);
		CHECK_I(w, points[i].x, -i);
		CHECK_I(w, points[i].y, 100000L * i);
		CHECK_F(w, points[i].z, (float)i * 0.5f);
		CHECK_I(w, points[i].tag, 200 + i);
	}
	for (int i = 0; i < 5; i++) {
		snprintf(w, sizeof(w), "heap_points[%d]", i);
		CHECK_I(w, heap_points[i].x, i + 1);
		CHECK_I(w, heap_points[i].y, -7L * i);
		CHECK_F(w, heap_points[i].z, 1.25f * (float)i);
		CHECK_I(w, heap_points[i].tag, i);
	}
	CHECK("py", py == &points[3].y);
	CHECK("pp", pp == &heap_points[2]);
	CHECK("pend", pend == heap_points + 5);
	CHECK_S("gbuf", gbuf, "global buffer");
	CHECK_S("hstr", hstr, "heap string");
	CHECK("hmid", hmid == hstr + 5);
	CHECK_S("greeting", greeting, "hello, world");
	CHECK("ops", ops[0] == add && ops[1] == sub && ops[2] == mul);
	CHECK_I("ops[2](6, 7)", ops[2](6, 7), 42);
	CHECK_I("gf[0].a", gf[0].a, 5);
	CHECK_I("gf[0].b", gf[0].b, -9);
	CHECK_I("gf[0].c", gf[0].c, 4000);
	CHECK_I("gf[0].d", gf[0].d, 1);
	CHECK_I("gf[0].e", gf[0].e, -8);
	CHECK_I("gf[1].a", gf[1].a, 2);
	CHECK_I("gf[1].b", gf[1].b, 15);
	CHECK_I("gf[1].c", gf[1].c, 1);
	CHECK_I("gf[1].d", gf[1].d, 0);
	CHECK_I("gf[1].e", gf[1].e, 7);
	CHECK_F("ldv[0]", ldv[0], 1.5L);
	CHECK_F("ldv[1]", ldv[1], -0.25L);
	CHECK_F("ldv[2]", ldv[2], 1.0L + 0x1p-60L);
	CHECK_F("ldv[3]", ldv[3], 0x1p+1000L);
	CHECK_F("ldv[4]", ldv[4], 12345.6875L);
	CHECK_F("dv[0]", dv[0], 0.1);
	CHECK_F("dv[1]", dv[1], -1e300);
	CHECK_F("dv[2]", dv[2], 0.0);
	CHECK_F("fv[0]", fv[0], 3.5f);
	CHECK_F("fv[1]", fv[1], -0.0f);
	CHECK_F("shapes[0].u.r", shapes[0].u.r, 2.75);
	CHECK("shapes[1].u.p", shapes[1].u.p == &points[5]);
	CHECK_S("shapes[2].u.text", shapes[2].u.text, "shape text");
	CHECK_I("words[0].w", words[0].w, 0xdeadbeef);
	CHECK_F("words[1].f", words[1].f, 1.5f);
	CHECK_I("blob->n", blob->n, 5);
	for (int i = 0; i < 5; i++) {
		snprintf(w, sizeof(w), "blob->data[%d]", i);
		CHECK_I(w, blob->data[i], i * -300);
	}
	CHECK("holder.fn", holder.fn == mul);
	CHECK_S("holder.label", holder.label, "a label");
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 4; j++) {
			snprintf(w, sizeof(w), "grid[%d][%d]", i, j);
			CHECK_I(w, grid[i][j], i * 10 + j);
		}
	CHECK_S("argvlike[0]", argvlike[0], "prog");
	CHECK_S("argvlike[1]", argvlike[1], "--flag");
	CHECK_S("argvlike[2]", argvlike[2], "value");
	CHECK("argvlike[3]", argvlike[3] == NULL);
	CHECK_I("colour", colour, BLUE);
	CHECK_I("flag", flag, 1);
	CHECK_I("sc", sc, -100);
	CHECK("ull", ull == 0xfedcba9876543210ull);
	CHECK_I("lg", lg, -2000000000L);
	CHECK_I("sh", sh, -12345);
	CHECK_I("uc", uc, 250);
}

static int die(const char *what, int rc)
{
	fprintf(stderr, "fixture: %s: %s (%s)\n", what, hop_last_error(), hop_err_name(rc));
	return 1;
}

static void hex(const char *label, const uint8_t d[HOP_DIGEST_LEN])
{
	printf("%s ", label);
	for (int i = 0; i < HOP_DIGEST_LEN; i++)
		printf("%02x", d[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	const struct hop_index *idx;
	intptr_t bias;
	uint8_t digest[HOP_DIGEST_LEN];
	int rc;

	if (argc != 3)
		return fprintf(stderr, "usage: fixture save|load|check FILE\n"), 2;
	if ((rc = hop__self_index(&idx, &bias)) < 0)
		return die("self index", rc);
	if (!strcmp(argv[1], "save")) {
		build();
		check(); /* the builder and the checker agree with themselves */
		if (bad)
			return 1;
		struct hop_scan *s;
		if ((rc = hop__scan_new(idx, bias, NULL, &s)) < 0 || (rc = hop__scan_all(s)) < 0)
			return die("scan", rc);
		if ((rc = hop__scan_digest(s, digest)) < 0)
			return die("digest", rc);
		if ((rc = hop__image_write(argv[2], idx, bias, s, digest)) < 0)
			return die("write", rc);
		printf("saved %zu objects\n", hop__scan_count(s));
		hex("digest", digest);
		hop__scan_free(s);
		return 0;
	}
	if (!strcmp(argv[1], "load")) {
		struct hop_image *im;
		struct hop_xlate *x;
		if ((rc = hop__image_read(argv[2], &im)) < 0)
			return die("read", rc);
		if ((rc = hop__xlate_new(im->idx, im->bias, idx, bias, NULL, &x)) < 0)
			return die("translate", rc);
		if ((rc = hop__image_translate(im, x)) < 0)
			return die("translate", rc);
		if ((rc = hop__xlate_digest(x, digest)) < 0)
			return die("digest", rc);
		printf("from %s: %zu objects\n", hop__arch_name(im->idx->arch), im->nobjs);
		hex("origin digest", im->digest);
		hex("our digest   ", digest);
		int same = !memcmp(digest, im->digest, HOP_DIGEST_LEN);
		check();
		if (!same)
			fprintf(stderr, "DIGEST MISMATCH\n");
		hop__xlate_free(x);
		hop__image_free(im);
		if (bad || !same) {
			fprintf(stderr, "%d mismatches\n", bad);
			return 1;
		}
		printf("all values equal\n");
		return 0;
	}
	return 2;
}
