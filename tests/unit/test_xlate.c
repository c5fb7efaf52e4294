/* test_xlate.c -- the translator with synthetic indexes (scan.c, xlate.c, digest.c).
 *
 * The origin is described by hand-built indexes: a big-endian 32-bit layout
 * whose bytes we write out field by field, or this process's own layout
 * (offsetof) when the scan has to walk real memory. The destination is this
 * process, so translated values are checked by reading native structs. Every
 * refusal is checked with its message. */
#include <float.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"
#include "xlate.h"
#include "task.h"

/* ---- building indexes ----------------------------------------------------------- */
static struct hop_index *new_index(int arch, int psize, int be, int ld)
{
	struct hop_index *idx = hop__index_new();
	ASSERT(idx);
	idx->arch = (uint8_t)arch;
	idx->pointer_size = (uint8_t)psize;
	idx->big_endian = (uint8_t)be;
	idx->long_double = (uint8_t)ld;
	return idx;
}

static uint32_t base(struct hop_index *idx, const char *name, int enc, uint64_t size)
{
	struct hop_type t = { .name = name, .kind = HOP_KIND_BASE, .enc = (uint8_t)enc, .size = size, .target = HOP_NONE };
	return hop__index_add_type(idx, &t);
}

static uint32_t ptr_to(struct hop_index *idx, const char *name, uint32_t target)
{
	struct hop_type t = { .name = name, .kind = HOP_KIND_POINTER, .size = idx->pointer_size, .target = target };
	return hop__index_add_type(idx, &t);
}

static uint32_t array_of(struct hop_index *idx, const char *name, uint32_t elem, uint64_t count)
{
	struct hop_type t = { .name = name, .kind = HOP_KIND_ARRAY, .size = count * idx->types[elem].size,
			      .target = elem, .count = count };
	return hop__index_add_type(idx, &t);
}

struct mdef {
	const char *name;
	uint32_t type;
	uint64_t offset;
	uint32_t bit_offset, bit_size;
};

static uint32_t aggregate(struct hop_index *idx, int kind, const char *name, uint64_t size, const struct mdef *m, int n)
{
	struct hop_type t = { .name = name, .kind = (uint8_t)kind, .size = size, .target = HOP_NONE,
			      .first_member = idx->nmembers, .nmembers = (uint32_t)n };
	for (int i = 0; i < n; i++) {
		struct hop_member hm = { m[i].name, m[i].type, m[i].offset, m[i].bit_offset, m[i].bit_size };
		hop__index_add_member(idx, &hm);
	}
	return hop__index_add_type(idx, &t);
}

/* Declare a struct first (for self-referencing pointers), fill it in later. */
static uint32_t declare(struct hop_index *idx, const char *name)
{
	struct hop_type t = { .name = name, .kind = HOP_KIND_STRUCT, .target = HOP_NONE };
	return hop__index_add_type(idx, &t);
}

static void define(struct hop_index *idx, uint32_t t, uint64_t size, const struct mdef *m, int n)
{
	idx->types[t].size = size;
	idx->types[t].first_member = idx->nmembers;
	idx->types[t].nmembers = (uint32_t)n;
	for (int i = 0; i < n; i++) {
		struct hop_member hm = { m[i].name, m[i].type, m[i].offset, m[i].bit_offset, m[i].bit_size };
		hop__index_add_member(idx, &hm);
	}
}

static void add_var(struct hop_index *idx, const char *name, uint32_t type, uint64_t addr)
{
	struct hop_var v = { name, type, idx->types[type].size, addr };
	hop__index_add_var(idx, &v);
}

/* ---- a test heap: blocks we malloc, found by linear search ------------------------ */
struct theap {
	uint64_t start[256], size[256];
	int n;
	int allocs;
};

static int th_find(void *ctx, uint64_t a, uint64_t *s, uint64_t *z)
{
	struct theap *h = ctx;
	for (int i = 0; i < h->n; i++)
		if (a >= h->start[i] && a - h->start[i] <= h->size[i]) {
			if (a - h->start[i] == h->size[i]) { /* one past: only if no block starts there */
				int other = 0;
				for (int k = 0; k < h->n; k++)
					other |= h->start[k] == a;
				if (other)
					continue;
			}
			*s = h->start[i];
			*z = h->size[i];
			return 1;
		}
	return 0;
}

static void *th_alloc(void *ctx, size_t n)
{
	struct theap *h = ctx;
	h->allocs++;
	void *p = calloc(1, n ? n : 1);
	ASSERT(h->n < 256);
	h->start[h->n] = (uintptr_t)p;
	h->size[h->n++] = n;
	return p;
}

static void th_release(void *ctx, void *p)
{
	struct theap *h = ctx;
	for (int i = 0; i < h->n; i++)
		if (h->start[i] == (uintptr_t)p) {
			h->start[i] = h->start[h->n - 1];
			h->size[i] = h->size[h->n - 1];
			h->n--;
			break;
		}
	free(p);
}

static void th_free_all(struct theap *h)
{
	while (h->n)
		th_release(h, (void *)(uintptr_t)h->start[0]);
}

#define HEAP_OPS(h) { th_find, th_alloc, th_release, (h), NULL }

/* ---- the native side: this process's structs and their index ---------------------- */
struct rec {
	short b;             /* reordered relative to the origin */
	char name[8];
	struct rec *next;
	long l;
	double d;
	int a;
	unsigned bf1 : 3;
	int bf2 : 5;
	long long c;
};

static struct rec g_rec;
static long g_long;

struct native {
	struct hop_index *idx;
	uint32_t t_int, t_short, t_long, t_ll, t_double, t_char, t_name, t_rec, t_prec;
};

static void native_rec(struct native *n)
{
	struct hop_index *idx = n->idx;
	n->t_int = base(idx, "int", HOP_ENC_SIGNED, 4);
	n->t_short = base(idx, "short int", HOP_ENC_SIGNED, 2);
	n->t_long = base(idx, "long int", HOP_ENC_SIGNED, sizeof(long));
	n->t_ll = base(idx, "long long int", HOP_ENC_SIGNED, 8);
	n->t_double = base(idx, "double", HOP_ENC_FLOAT, 8);
	n->t_char = base(idx, "char", HOP_ENC_SIGNED_CHAR, 1);
	uint32_t t_uint = base(idx, "unsigned int", HOP_ENC_UNSIGNED, 4);
	n->t_name = array_of(idx, "char[8]", n->t_char, 8);
	n->t_rec = declare(idx, "struct rec");
	n->t_prec = ptr_to(idx, "struct rec *", n->t_rec);
	/* bit-fields: find their bit offsets by setting them */
	struct rec probe;
	memset(&probe, 0, sizeof(probe));
	probe.bf1 = 7;
	const uint8_t *pb = (const uint8_t *)&probe;
	uint32_t bit = 0;
	for (uint32_t i = 0; i < sizeof(probe) * 8; i++)
		if (pb[i / 8] >> (i % 8) & 1) {
			bit = i;
			break;
		}
	struct mdef m[] = {
		{ "b", n->t_short, offsetof(struct rec, b), 0, 0 },
		{ "name", n->t_name, offsetof(struct rec, name), 0, 0 },
		{ "next", n->t_prec, offsetof(struct rec, next), 0, 0 },
		{ "l", n->t_long, offsetof(struct rec, l), 0, 0 },
		{ "d", n->t_double, offsetof(struct rec, d), 0, 0 },
		{ "a", n->t_int, offsetof(struct rec, a), 0, 0 },
		{ "bf1", t_uint, bit / 8, bit, 3 },
		{ "bf2", n->t_int, (bit + 3) / 8, bit + 3, 5 },
		{ "c", n->t_ll, offsetof(struct rec, c), 0, 0 },
	};
	define(idx, n->t_rec, sizeof(struct rec), m, 9);
}

static struct native native_index(void)
{
	struct native n;
	n.idx = new_index(HOP_ARCH_X86_64, 8, 0, HOP_LD_X87_80);
	native_rec(&n);
	add_var(n.idx, "g", n.t_rec, (uintptr_t)&g_rec);
	add_var(n.idx, "big", n.t_long, (uintptr_t)&g_long);
	ASSERT_EQ(hop__index_finish(n.idx), 0);
	return n;
}

/* ---- the big-endian 32-bit origin --------------------------------------------------- */
/* struct rec on the origin, in declaration order a, b, c, l, d, name, bf1, bf2, next:
 *   a @0 (4), b @4 (2), c @8 (8), l @16 (4), d @24 (8), name @32 (8),
 *   bf1: bits 320..322, bf2: bits 323..327 (MSB-first), next @44 (4); size 48 */
static struct hop_index *be32_index(uint32_t *t_rec, uint32_t *t_long)
{
	struct hop_index *idx = new_index(HOP_ARCH_POWERPC, 4, 1, HOP_LD_IBM128);
	uint32_t ti = base(idx, "int", HOP_ENC_SIGNED, 4);
	uint32_t ts = base(idx, "short int", HOP_ENC_SIGNED, 2);
	uint32_t tl = base(idx, "long int", HOP_ENC_SIGNED, 4);
	uint32_t tll = base(idx, "long long int", HOP_ENC_SIGNED, 8);
	uint32_t td = base(idx, "double", HOP_ENC_FLOAT, 8);
	uint32_t tc = base(idx, "char", HOP_ENC_UNSIGNED_CHAR, 1);
	uint32_t tu = base(idx, "unsigned int", HOP_ENC_UNSIGNED, 4);
	uint32_t tn = array_of(idx, "char[8]", tc, 8);
	uint32_t tr = declare(idx, "struct rec");
	uint32_t tp = ptr_to(idx, "struct rec *", tr);
	struct mdef m[] = {
		{ "a", ti, 0, 0, 0 },     { "b", ts, 4, 0, 0 },       { "c", tll, 8, 0, 0 },
		{ "l", tl, 16, 0, 0 },    { "d", td, 24, 0, 0 },      { "name", tn, 32, 0, 0 },
		{ "bf1", tu, 40, 320, 3 }, { "bf2", ti, 40, 323, 5 }, { "next", tp, 44, 0, 0 },
	};
	define(idx, tr, 48, m, 9);
	add_var(idx, "g", tr, 0x10000);
	add_var(idx, "big", tl, 0x10100);
	ASSERT_EQ(hop__index_finish(idx), 0);
	*t_rec = tr;
	*t_long = tl;
	return idx;
}

static void be_put(uint8_t *p, unsigned n, uint64_t v)
{
	hop__put_uint(p, n, 1, v);
}

static void be_rec(uint8_t *p, int32_t a, int16_t b, int64_t c, int32_t l, double d, const char *name, unsigned bf1,
		   int bf2, uint32_t next)
{
	memset(p, 0, 48);
	be_put(p, 4, (uint32_t)a);
	be_put(p + 4, 2, (uint16_t)b);
	be_put(p + 8, 8, (uint64_t)c);
	be_put(p + 16, 4, (uint32_t)l);
	uint64_t dbits;
	memcpy(&dbits, &d, 8);
	be_put(p + 24, 8, dbits);
	strncpy((char *)p + 32, name, 8);
	p[40] = (uint8_t)(bf1 << 5 | ((unsigned)bf2 & 31));
	be_put(p + 44, 4, next);
}

TEST(be32_to_native_values_and_pointers)
{
	uint32_t tr, tl;
	struct hop_index *from = be32_index(&tr, &tl);
	struct native n = native_index();
	struct theap heap = { .n = 0 };
	struct hop_heap_ops ops = HEAP_OPS(&heap);
	struct hop_xlate *x;
	ASSERT_EQ(hop__xlate_new(from, 0, n.idx, 0, &ops, &x), 0);

	uint8_t g[48], blk[96];
	be_rec(g, -5, -2, -(1LL << 40), -70000, 2.5, "global", 5, -3, 0x20000);
	be_rec(blk, 1, 2, 3, 4, 0.1, "first", 1, 15, 0x20000 + 48);  /* -> blk[1] (interior) */
	be_rec(blk + 48, 6, 7, 8, 9, -1e300, "second!", 0, -16, 0x10000); /* -> g */
	struct hop_obj og = { HOP_OBJ_GLOBAL, 0, 0x10000, 48, tr, 1 };
	struct hop_obj ob = { HOP_OBJ_BLOCK, HOP_NONE, 0x20000, 96, tr, 2 };
	/* the global first: its pointer to the block is parked until the block arrives */
	ASSERT_EQ(hop__xlate_object(x, &og, g), 0);
	ASSERT_EQ(hop__xlate_object(x, &ob, blk), 0);
	ASSERT_EQ(hop__xlate_finish(x), 0);

	ASSERT_EQ(g_rec.a, -5);
	ASSERT_EQ(g_rec.b, -2);
	ASSERT_EQ(g_rec.c, -(1LL << 40));
	ASSERT_EQ(g_rec.l, -70000);
	ASSERT(g_rec.d == 2.5);
	ASSERT_STR_EQ(g_rec.name, "global");
	ASSERT_EQ(g_rec.bf1, 5);
	ASSERT_EQ(g_rec.bf2, -3);
	struct rec *b = g_rec.next;
	ASSERT(b != NULL);
	ASSERT_EQ(heap.allocs, 1);
	ASSERT_EQ(b[0].a, 1);
	ASSERT(b[0].d == 0.1);
	ASSERT_EQ(b[0].bf2, 15);
	ASSERT_STR_EQ(b[0].name, "first");
	ASSERT(b[0].next == &b[1]);
	ASSERT(b[1].next == &g_rec);
	ASSERT(b[1].d == -1e300);
	ASSERT_EQ(b[1].bf2, -16);
	ASSERT_STR_EQ(b[1].name, "second!");

	/* a delta: only b[1].a changed (origin bytes 48..52) */
	uint8_t four[4];
	be_put(four, 4, 4242);
	ASSERT_EQ(hop__xlate_range(x, &ob, 48, four, 4), 0);
	ASSERT_EQ(b[1].a, 4242);
	ASSERT_EQ(b[1].b, 7);
	/* a range splitting a value is refused */
	ASSERT_EQ(hop__xlate_range(x, &ob, 50, four, 4), HOP_EINVAL);
	ASSERT_ERR_HAS("splits this value");

	hop__xlate_free(x);
	th_free_all(&heap);
	hop__index_free(from);
	hop__index_free(n.idx);
	memset(&g_rec, 0, sizeof(g_rec));
}

TEST(refusals_on_the_destination)
{
	uint32_t tr, tl;
	struct hop_index *from = be32_index(&tr, &tl);
	struct native n = native_index();
	struct theap heap = { .n = 0 };
	struct hop_heap_ops ops = HEAP_OPS(&heap);
	struct hop_xlate *x;
	uint8_t g[48];

	/* a pointer to nothing that arrives */
	ASSERT_EQ(hop__xlate_new(from, 0, n.idx, 0, &ops, &x), 0);
	be_rec(g, 0, 0, 0, 0, 0, "", 0, 0, 0x30004);
	struct hop_obj og = { HOP_OBJ_GLOBAL, 0, 0x10000, 48, tr, 1 };
	ASSERT_EQ(hop__xlate_object(x, &og, g), 0);
	ASSERT_EQ(hop__xlate_finish(x), HOP_EXLATE);
	ASSERT_ERR_HAS("g.next: points to 0x30004");
	hop__xlate_free(x);

	/* bit-field value too wide is impossible here; a block of an unknown type is refused */
	ASSERT_EQ(hop__xlate_new(from, 0, n.idx, 0, &ops, &x), 0);
	struct hop_obj bad = { HOP_OBJ_BLOCK, HOP_NONE, 0x40000, 48, 9999, 1 };
	ASSERT_EQ(hop__xlate_object(x, &bad, g), HOP_EFORMAT);
	struct hop_obj over = { HOP_OBJ_BLOCK, HOP_NONE, 0x40000, 48, tr, 2 };
	ASSERT_EQ(hop__xlate_object(x, &over, g), HOP_EFORMAT);
	ASSERT_ERR_HAS("exceed");
	hop__xlate_free(x);
	th_free_all(&heap);
	hop__index_free(from);
	hop__index_free(n.idx);
	memset(&g_rec, 0, sizeof(g_rec));
}

TEST(narrowing_out_of_range)
{
	/* origin: 64-bit little-endian long; destination: a 32-bit long (a synthetic
	 * i686-like layout whose global lives in a buffer of ours) */
	static int32_t dst_long[2];
	struct hop_index *from = new_index(HOP_ARCH_X86_64, 8, 0, HOP_LD_X87_80);
	uint32_t fl = base(from, "long int", HOP_ENC_SIGNED, 8);
	add_var(from, "big", fl, 0x1000);
	ASSERT_EQ(hop__index_finish(from), 0);
	struct hop_index *to = new_index(HOP_ARCH_I686, 4, 0, HOP_LD_X87_80);
	uint32_t tl = base(to, "long int", HOP_ENC_SIGNED, 4);
	add_var(to, "big", tl, (uintptr_t)dst_long);
	ASSERT_EQ(hop__index_finish(to), 0);
	struct hop_xlate *x;
	ASSERT_EQ(hop__xlate_new(from, 0, to, 0, NULL, &x), 0);
	int64_t v = -123456;
	struct hop_obj o = { HOP_OBJ_GLOBAL, 0, 0x1000, 8, fl, 1 };
	ASSERT_EQ(hop__xlate_object(x, &o, &v), 0);
	ASSERT_EQ(dst_long[0], -123456);
	v = (int64_t)1 << 31;
	ASSERT_EQ(hop__xlate_object(x, &o, &v), HOP_ERANGE);
	ASSERT_ERR_HAS("big: value 2147483648 does not fit 32 bits");
	v = -((int64_t)1 << 31);
	ASSERT_EQ(hop__xlate_object(x, &o, &v), 0);
	ASSERT_EQ(dst_long[0], INT32_MIN);
	hop__xlate_free(x);
	hop__index_free(from);
	hop__index_free(to);
}

TEST(long_double_between_formats)
{
	/* x87 (16 bytes) -> binary128 and IBM double-double, exact or refused */
	static uint8_t q[16], ibm[16];
	struct hop_index *from = new_index(HOP_ARCH_X86_64, 8, 0, HOP_LD_X87_80);
	uint32_t fld = base(from, "long double", HOP_ENC_FLOAT, 16);
	add_var(from, "x", fld, 0x1000);
	ASSERT_EQ(hop__index_finish(from), 0);
	struct hop_index *tq = new_index(HOP_ARCH_S390X, 8, 1, HOP_LD_BINARY128);
	add_var(tq, "x", base(tq, "long double", HOP_ENC_FLOAT, 16), (uintptr_t)q);
	ASSERT_EQ(hop__index_finish(tq), 0);
	struct hop_index *ti = new_index(HOP_ARCH_POWERPC, 4, 1, HOP_LD_IBM128);
	add_var(ti, "x", base(ti, "long double", HOP_ENC_FLOAT, 16), (uintptr_t)ibm);
	ASSERT_EQ(hop__index_finish(ti), 0);
	struct hop_xlate *xq, *xi;
	ASSERT_EQ(hop__xlate_new(from, 0, tq, 0, NULL, &xq), 0);
	ASSERT_EQ(hop__xlate_new(from, 0, ti, 0, NULL, &xi), 0);
	struct hop_obj o = { HOP_OBJ_GLOBAL, 0, 0x1000, 16, fld, 1 };
	long double v = 1.0L / 3;
	uint8_t src[16] = { 0 };
	memcpy(src, &v, 10);
	ASSERT_EQ(hop__xlate_object(xq, &o, src), 0);
	__float128 expect = (__float128)v;
	uint8_t e[16];
	memcpy(e, &expect, 16);
	for (int i = 0; i < 16; i++)
		ASSERT_EQ(q[i], e[15 - i]); /* big endian */
	ASSERT_EQ(hop__xlate_object(xi, &o, src), 0);
	/* IBM hi is the double nearest 1/3 */
	double hi = (double)v;
	uint64_t hb;
	memcpy(&hb, &hi, 8);
	ASSERT_UEQ(hop__get_uint(ibm, 8, 1), hb);
	/* LDBL_MAX does not fit IBM: refused with the value */
	v = LDBL_MAX;
	memcpy(src, &v, 10);
	ASSERT_EQ(hop__xlate_object(xi, &o, src), HOP_ERANGE);
	ASSERT_ERR_HAS("x: 0x1.");
	ASSERT_ERR_HAS("not exactly representable");
	hop__xlate_free(xq);
	hop__xlate_free(xi);
	hop__index_free(from);
	hop__index_free(tq);
	hop__index_free(ti);
}

/* ---- native scans ------------------------------------------------------------------- */
struct node {
	int key;
	struct node *next;
	void *data;
	const char *label;
	int (*fn)(int);
};

struct payload {
	long a, b;
};

struct derived {
	struct node base;
	long extra;
};

static struct node *g_head;
static int *g_ip;
static void *g_void;
static struct derived *g_der;
static const char lits[] = "hello\0world";

static int twice(int v)
{
	return 2 * v;
}

struct nat2 {
	struct hop_index *idx;
	uint32_t t_node, t_pnode, t_payload, t_derived, t_int;
};

static struct nat2 node_index(int with_hint)
{
	struct nat2 n;
	struct hop_index *idx = n.idx = new_index(HOP_ARCH_X86_64, 8, 0, HOP_LD_X87_80);
	n.t_int = base(idx, "int", HOP_ENC_SIGNED, 4);
	uint32_t tlong = base(idx, "long int", HOP_ENC_SIGNED, 8);
	uint32_t tchar = base(idx, "char", HOP_ENC_SIGNED_CHAR, 1);
	uint32_t tfn = hop__index_add_type(idx, &(struct hop_type){ .name = "int (int)", .kind = HOP_KIND_FUNCTION,
								  .target = HOP_NONE });
	n.t_node = declare(idx, "struct node");
	n.t_pnode = ptr_to(idx, "struct node *", n.t_node);
	uint32_t tvoid = ptr_to(idx, "void *", HOP_NONE);
	uint32_t tcp = ptr_to(idx, "const char *", tchar);
	uint32_t tfp = ptr_to(idx, "int (*)(int)", tfn);
	struct mdef m[] = {
		{ "key", n.t_int, offsetof(struct node, key), 0, 0 },
		{ "next", n.t_pnode, offsetof(struct node, next), 0, 0 },
		{ "data", tvoid, offsetof(struct node, data), 0, 0 },
		{ "label", tcp, offsetof(struct node, label), 0, 0 },
		{ "fn", tfp, offsetof(struct node, fn), 0, 0 },
	};
	define(idx, n.t_node, sizeof(struct node), m, 5);
	struct mdef pm[] = { { "a", tlong, 0, 0, 0 }, { "b", tlong, 8, 0, 0 } };
	n.t_payload = aggregate(idx, HOP_KIND_STRUCT, "struct payload", sizeof(struct payload), pm, 2);
	struct mdef dm[] = { { "base", n.t_node, 0, 0, 0 }, { "extra", tlong, offsetof(struct derived, extra), 0, 0 } };
	n.t_derived = aggregate(idx, HOP_KIND_STRUCT, "struct derived", sizeof(struct derived), dm, 2);
	ptr_to(idx, "struct derived *", n.t_derived);
	add_var(idx, "g_head", n.t_pnode, (uintptr_t)&g_head);
	add_var(idx, "g_ip", ptr_to(idx, "int *", n.t_int), (uintptr_t)&g_ip);
	add_var(idx, "g_void", tvoid, (uintptr_t)&g_void);
	hop__index_add_func(idx, &(struct hop_func){ "twice", (uintptr_t)&twice, 16 });
	hop__index_add_section(idx, &(struct hop_section){ ".rodata", (uintptr_t)lits, sizeof(lits), 0 });
	if (with_hint)
		hop__index_add_hint(idx, "points_to|struct node|data|struct payload");
	ASSERT_EQ(hop__index_finish(idx), 0);
	return n;
}

static void *blk(struct theap *h, size_t n)
{
	return th_alloc(h, n);
}

TEST(scan_typing_and_refusals)
{
	struct theap heap = { .n = 0 };
	struct hop_heap_ops ops = HEAP_OPS(&heap);
	struct hop_scan *s;

	/* a list of two nodes, a void * to a payload, literal and function pointers */
	struct node *a = blk(&heap, sizeof(struct node)), *b = blk(&heap, sizeof(struct node));
	struct payload *p = blk(&heap, sizeof(struct payload));
	a->key = 1, a->next = b, a->data = p, a->label = lits + 6, a->fn = twice;
	b->key = 2, b->label = lits;
	g_head = a;
	g_ip = &b->key; /* interior pointer: an int inside a node */

	struct nat2 plain = node_index(0);
	ASSERT_EQ(hop__scan_new(plain.idx, 0, &ops, &s), 0);
	ASSERT_EQ(hop__scan_all(s), HOP_EHINT);
	ASSERT_ERR_HAS("g_head->data: heap block");
	ASSERT_ERR_HAS("add HOP_POINTS_TO(struct node, data, <type>) to the source");
	hop__scan_free(s);

	struct nat2 hinted = node_index(1);
	ASSERT_EQ(hop__scan_new(hinted.idx, 0, &ops, &s), 0);
	ASSERT_EQ(hop__scan_all(s), 0);
	int blocks = 0, literals = 0;
	for (size_t i = 0; i < hop__scan_count(s); i++) {
		const struct hop_obj *o = hop__scan_obj(s, i);
		if (o->kind == HOP_OBJ_BLOCK) {
			blocks++;
			if (o->addr == (uintptr_t)p)
				ASSERT_EQ(o->type, hinted.t_payload);
			else
				ASSERT_EQ(o->type, hinted.t_node);
			ASSERT_EQ(o->count, 1);
		}
		literals += o->kind == HOP_OBJ_LITERAL;
	}
	ASSERT_EQ(blocks, 3);
	ASSERT_EQ(literals, 2);
	uint8_t d1[HOP_DIGEST_LEN], d2[HOP_DIGEST_LEN];
	ASSERT_EQ(hop__scan_digest(s, d1), 0);
	b->key = 3;
	uint64_t r[1][2] = { { (uintptr_t)b, (uintptr_t)b + 4 } };
	ASSERT_EQ(hop__scan_changed(s, r, 1), 0);
	ASSERT_EQ(hop__scan_digest(s, d2), 0);
	ASSERT(memcmp(d1, d2, HOP_DIGEST_LEN) != 0);
	b->key = 2;
	ASSERT_EQ(hop__scan_changed(s, r, 1), 0);
	ASSERT_EQ(hop__scan_digest(s, d2), 0);
	ASSERT(memcmp(d1, d2, HOP_DIGEST_LEN) == 0);
	hop__scan_free(s);

	/* a pointer into the stack */
	int local = 5;
	b->next = (struct node *)&local;
	ASSERT_EQ(hop__scan_new(hinted.idx, 0, &ops, &s), 0);
	ASSERT_EQ(hop__scan_all(s), HOP_EXLATE);
	ASSERT_ERR_HAS("g_head->next->next: points to 0x");
	ASSERT_ERR_HAS("which is not a global, heap block, function or literal");
	hop__scan_free(s);
	b->next = NULL;

	/* libc's memory */
	g_void = stdout;
	hop__index_add_hint(hinted.idx, "global_points_to|g_void|struct payload");
	ASSERT_EQ(hop__scan_new(hinted.idx, 0, &ops, &s), 0);
	ASSERT_EQ(hop__scan_all(s), HOP_EXLATE);
	ASSERT_ERR_HAS("g_void: points to 0x");
	hop__scan_free(s);
	g_void = NULL;

	/* the same block as two incompatible types */
	a->data = b; /* data is typed struct payload by the hint; b is a struct node */
	ASSERT_EQ(hop__scan_new(hinted.idx, 0, &ops, &s), 0);
	ASSERT_EQ(hop__scan_all(s), HOP_EHINT);
	ASSERT_ERR_HAS("reached as");
	ASSERT_ERR_HAS("incompatible");
	hop__scan_free(s);
	a->data = p;

	/* "inheritance": a struct node * to a struct derived block, typed by another pointer */
	struct derived *dv = blk(&heap, sizeof(struct derived));
	dv->extra = 99;
	b->next = &dv->base;
	uint32_t tpd = hop__index_type(hinted.idx, "struct derived *");
	hop__index_add_var(hinted.idx, &(struct hop_var){ "g_der", tpd, 8, (uintptr_t)&g_der });
	g_der = dv;
	ASSERT_EQ(hop__scan_new(hinted.idx, 0, &ops, &s), 0);
	ASSERT_EQ(hop__scan_all(s), 0);
	int found = 0;
	for (size_t i = 0; i < hop__scan_count(s); i++) {
		const struct hop_obj *o = hop__scan_obj(s, i);
		if (o->addr == (uintptr_t)dv) {
			ASSERT_EQ(o->type, hinted.t_derived);
			found = 1;
		}
	}
	ASSERT(found);
	hop__scan_free(s);
	g_der = NULL;
	b->next = NULL;

	g_head = NULL;
	g_ip = NULL;
	th_free_all(&heap);
	hop__index_free(plain.idx);
	hop__index_free(hinted.idx);
}

/* Round trip inside one process: scan native memory, translate into fresh
 * blocks with the same index (heap blocks are new, globals overwritten with
 * equal values), digests equal. */
TEST(native_round_trip_digest)
{
	struct theap heap = { .n = 0 };
	struct hop_heap_ops ops = HEAP_OPS(&heap);
	struct node *a = blk(&heap, 3 * sizeof(struct node));
	struct payload *p = blk(&heap, sizeof(struct payload));
	p->a = 10, p->b = -20;
	for (int i = 0; i < 3; i++) {
		a[i].key = 100 + i;
		a[i].next = i < 2 ? &a[i + 1] : &a[0];
		a[i].label = lits;
		a[i].fn = twice;
		a[i].data = p;
	}
	g_head = &a[1];
	g_ip = &a[2].key;
	struct nat2 n = node_index(1);
	struct hop_scan *s;
	ASSERT_EQ(hop__scan_new(n.idx, 0, &ops, &s), 0);
	ASSERT_EQ(hop__scan_all(s), 0);
	uint8_t d1[HOP_DIGEST_LEN], d2[HOP_DIGEST_LEN];
	ASSERT_EQ(hop__scan_digest(s, d1), 0);
	/* snapshot origin bytes, then translate them */
	size_t cnt = hop__scan_count(s);
	struct hop_obj *objs = calloc(cnt, sizeof(*objs));
	uint8_t **bytes = calloc(cnt, sizeof(*bytes));
	for (size_t i = 0; i < cnt; i++) {
		objs[i] = *hop__scan_obj(s, i);
		bytes[i] = malloc(objs[i].size);
		memcpy(bytes[i], (void *)(uintptr_t)objs[i].addr, objs[i].size);
	}
	struct theap dheap = { .n = 0 };
	struct hop_heap_ops dops = HEAP_OPS(&dheap);
	struct hop_xlate *x;
	ASSERT_EQ(hop__xlate_new(n.idx, 0, n.idx, 0, &dops, &x), 0);
	for (size_t i = cnt; i-- > 0;) /* reverse order: parks everything */
		ASSERT_EQ(hop__xlate_object(x, &objs[i], bytes[i]), 0);
	ASSERT_EQ(hop__xlate_finish(x), 0);
	ASSERT_EQ(hop__xlate_digest(x, d2), 0);
	ASSERT(memcmp(d1, d2, HOP_DIGEST_LEN) == 0);
	/* the translated state */
	ASSERT(g_head != &a[1]);
	ASSERT_EQ(g_head->key, 101);
	ASSERT_EQ(g_head->next->key, 102);
	ASSERT(g_head->next->next == g_head - 1);
	ASSERT(g_ip == &g_head->next->key);
	ASSERT(g_head->fn == twice);
	ASSERT(g_head->label == lits);
	ASSERT_EQ(((struct payload *)g_head->data)->b, -20);
	/* a changed value changes the digest (written behind the translator's
	 * back, so its kept hashes are dropped first) */
	g_head->key = 7;
	hop__xlate_digest_reset(x);
	ASSERT_EQ(hop__xlate_digest(x, d2), 0);
	ASSERT(memcmp(d1, d2, HOP_DIGEST_LEN) != 0);
	hop__xlate_free(x);
	hop__scan_free(s);
	for (size_t i = 0; i < cnt; i++)
		free(bytes[i]);
	free(bytes);
	free(objs);
	g_head = NULL;
	g_ip = NULL;
	th_free_all(&dheap);
	th_free_all(&heap);
	hop__index_free(n.idx);
}

/* A block dropped and created again at its origin address (freed and
 * reallocated there by the origin), with the same type: a pointer into it
 * that is not translated again (a[1].data, a[2].data: only a[0].data comes
 * as a range) leads to the new block, because it takes the old one's
 * memory; the digests agree without hashing the whole state again. */
TEST(block_comes_back)
{
	struct theap heap = { .n = 0 };
	struct hop_heap_ops ops = HEAP_OPS(&heap);
	struct node *a = blk(&heap, 3 * sizeof(struct node));
	struct payload *p = blk(&heap, sizeof(struct payload));
	p->a = 1, p->b = 2;
	for (int i = 0; i < 3; i++) {
		a[i].key = i;
		a[i].next = i < 2 ? &a[i + 1] : NULL;
		a[i].label = lits;
		a[i].fn = twice;
		a[i].data = p;
	}
	g_head = a;
	struct nat2 n = node_index(1);
	struct hop_scan *s;
	ASSERT_EQ(hop__scan_new(n.idx, 0, &ops, &s), 0);
	ASSERT_EQ(hop__scan_all(s), 0);
	size_t cnt = hop__scan_count(s), *ids;
	hop__scan_take_changed(s, &ids);
	struct theap dheap = { .n = 0 };
	struct hop_heap_ops dops = HEAP_OPS(&dheap);
	struct hop_xlate *x;
	ASSERT_EQ(hop__xlate_new(n.idx, 0, n.idx, 0, &dops, &x), 0);
	/* translated from copies: the destination writes g_head, which the origin's scan reads */
	uint8_t *copy[16];
	ASSERT(cnt <= 16);
	for (size_t i = 0; i < cnt; i++) {
		const struct hop_obj *o = hop__scan_obj(s, i);
		copy[i] = malloc(o->size);
		memcpy(copy[i], (void *)(uintptr_t)o->addr, o->size);
	}
	/* one process plays both sides: g_head is the origin's (a) while the
	 * scan reads it, ours (dh) while the translator's digest does */
	for (size_t i = 0; i < cnt; i++)
		ASSERT_EQ(hop__xlate_object(x, hop__scan_obj(s, i), copy[i]), 0);
	ASSERT_EQ(hop__xlate_finish(x), 0);
	struct node *dh = g_head;
	ASSERT(dh != a);
	uint8_t d1[HOP_DIGEST_LEN], d2[HOP_DIGEST_LEN];
	ASSERT_EQ(hop__xlate_digest(x, d2), 0);
	g_head = a;
	ASSERT_EQ(hop__scan_digest(s, d1), 0);
	ASSERT(memcmp(d1, d2, HOP_DIGEST_LEN) == 0);
	struct payload *old_dst = dh[1].data;
	ASSERT(dh[0].data == old_dst && dh[2].data == old_dst);

	/* the origin frees p and gets the same address back for a new payload;
	 * only a[0].data is written again (a[1], a[2] keep the old value) */
	ASSERT_EQ(hop__scan_drop(s, (uintptr_t)p), 0);
	p->a = 10, p->b = 20;
	a[0].data = p;
	uint64_t r[1][2] = { { (uintptr_t)&a[0].data, (uintptr_t)&a[0].data + sizeof(void *) } };
	ASSERT_EQ(hop__scan_changed(s, (const uint64_t(*)[2])r, 1), 0);
	size_t nch = hop__scan_take_changed(s, &ids);
	ASSERT_EQ(hop__xlate_drop(x, (uintptr_t)p), 0);
	for (size_t k = 0; k < nch; k++) {
		const struct hop_obj *o = hop__scan_obj(s, ids[k]);
		if (o->addr == (uintptr_t)p) {
			ASSERT_EQ(hop__xlate_object(x, o, p), 0);
		} else if (o->addr == (uintptr_t)a) {
			struct node c = a[0];
			ASSERT_EQ(hop__xlate_range(x, o, offsetof(struct node, data), &c.data, sizeof(void *)), 0);
		}
	}
	ASSERT_EQ(hop__xlate_finish(x), 0);
	/* the new block took the old one's memory: every pointer leads to it */
	ASSERT(dh[0].data == old_dst && dh[1].data == old_dst && dh[2].data == old_dst);
	ASSERT_EQ(old_dst->b, 20);
	ASSERT(hop__xlate_digest_pending(x) < cnt); /* what changed, not everything */
	ASSERT_EQ(hop__scan_digest(s, d1), 0);
	g_head = dh;
	ASSERT_EQ(hop__xlate_digest(x, d2), 0);
	ASSERT(memcmp(d1, d2, HOP_DIGEST_LEN) == 0);
	/* and hashing everything again agrees with the kept hashes */
	hop__xlate_digest_reset(x);
	uint8_t d3[HOP_DIGEST_LEN];
	ASSERT_EQ(hop__xlate_digest(x, d3), 0);
	ASSERT(memcmp(d2, d3, HOP_DIGEST_LEN) == 0);
	hop__xlate_free(x);
	hop__scan_free(s);
	for (size_t i = 0; i < cnt; i++)
		free(copy[i]);
	g_head = NULL;
	th_free_all(&dheap);
	th_free_all(&heap);
	hop__index_free(n.idx);
}

/* unions: tagged by a hint, or plain scalars translated as the largest member */
struct msg {
	int kind;
	union {
		long num;
		char *text;
	} u;
	union {
		unsigned int w;
		unsigned char b[4];
	} raw;
};

static struct msg g_msg;

TEST(unions)
{
	struct theap heap = { .n = 0 };
	struct hop_heap_ops ops = HEAP_OPS(&heap);
	struct hop_index *idx = new_index(HOP_ARCH_X86_64, 8, 0, HOP_LD_X87_80);
	uint32_t ti = base(idx, "int", HOP_ENC_SIGNED, 4), tl = base(idx, "long int", HOP_ENC_SIGNED, 8);
	uint32_t tc = base(idx, "char", HOP_ENC_SIGNED_CHAR, 1), tui = base(idx, "unsigned int", HOP_ENC_UNSIGNED, 4);
	uint32_t tuc = base(idx, "unsigned char", HOP_ENC_UNSIGNED_CHAR, 1);
	uint32_t tpc = ptr_to(idx, "char *", tc);
	struct mdef um[] = { { "num", tl, 0, 0, 0 }, { "text", tpc, 0, 0, 0 } };
	uint32_t tu = aggregate(idx, HOP_KIND_UNION, "(anon 1)", 8, um, 2);
	struct mdef rm[] = { { "w", tui, 0, 0, 0 }, { "b", array_of(idx, "unsigned char[4]", tuc, 4), 0, 0, 0 } };
	uint32_t tr = aggregate(idx, HOP_KIND_UNION, "(anon 2)", 4, rm, 2);
	struct mdef mm[] = { { "kind", ti, 0, 0, 0 }, { "u", tu, offsetof(struct msg, u), 0, 0 },
			     { "raw", tr, offsetof(struct msg, raw), 0, 0 } };
	uint32_t tm = aggregate(idx, HOP_KIND_STRUCT, "struct msg", sizeof(struct msg), mm, 3);
	add_var(idx, "g_msg", tm, (uintptr_t)&g_msg);
	ASSERT_EQ(hop__index_finish(idx), 0);

	char *text = blk(&heap, 6);
	memcpy(text, "howdy", 6);
	g_msg.kind = 2;
	g_msg.u.text = text;
	g_msg.raw.w = 0x01020304;
	struct hop_scan *s;
	ASSERT_EQ(hop__scan_new(idx, 0, &ops, &s), 0);
	ASSERT_EQ(hop__scan_all(s), HOP_EHINT);
	ASSERT_ERR_HAS("g_msg.u: union (anon 1) holds a pointer");
	ASSERT_ERR_HAS("HOP_UNION_TAG(struct msg, u, <tag member>)");
	hop__scan_free(s);

	hop__index_add_hint(idx, "union_tag|struct msg|u|kind");
	hop__index_add_hint(idx, "union_case|struct msg|u|1|num");
	hop__index_add_hint(idx, "union_case|struct msg|u|2|text");
	ASSERT_EQ(hop__scan_new(idx, 0, &ops, &s), 0);
	ASSERT_EQ(hop__scan_all(s), 0);
	ASSERT_EQ(hop__scan_count(s), 2); /* g_msg and the text block (raw bytes) */
	uint8_t d1[HOP_DIGEST_LEN], d2[HOP_DIGEST_LEN];
	ASSERT_EQ(hop__scan_digest(s, d1), 0);
	uint8_t gbytes[sizeof(struct msg)], tbytes[6];
	memcpy(gbytes, &g_msg, sizeof(g_msg));
	memcpy(tbytes, text, 6);
	struct theap dheap = { .n = 0 };
	struct hop_heap_ops dops = HEAP_OPS(&dheap);
	struct hop_xlate *x;
	ASSERT_EQ(hop__xlate_new(idx, 0, idx, 0, &dops, &x), 0);
	for (size_t i = 0; i < 2; i++) {
		const struct hop_obj *o = hop__scan_obj(s, i);
		ASSERT_EQ(hop__xlate_object(x, o, o->kind == HOP_OBJ_GLOBAL ? (void *)gbytes : (void *)tbytes), 0);
	}
	ASSERT_EQ(hop__xlate_finish(x), 0);
	ASSERT(g_msg.u.text != text);
	ASSERT_STR_EQ(g_msg.u.text, "howdy");
	ASSERT_UEQ(g_msg.raw.w, 0x01020304);
	ASSERT_EQ(hop__xlate_digest(x, d2), 0);
	ASSERT(memcmp(d1, d2, HOP_DIGEST_LEN) == 0);
	/* a tag value without a case */
	g_msg.kind = 7;
	memcpy(gbytes, &g_msg, sizeof(g_msg));
	ASSERT_EQ(hop__xlate_object(x, hop__scan_obj(s, 0), gbytes), HOP_EHINT);
	ASSERT_ERR_HAS("which no HOP_UNION_CASE(struct msg, u, 7, <member>) names");
	hop__xlate_free(x);
	hop__scan_free(s);
	th_free_all(&dheap);
	th_free_all(&heap);
	hop__index_free(idx);
	memset(&g_msg, 0, sizeof(g_msg));
}

TEST(object_records)
{
	struct hop_obj o = { HOP_OBJ_BLOCK, HOP_NONE, 0x123456789abcull, 4096, 7, 16 }, p;
	uint8_t rec[HOP_OBJ_HEADER];
	hop__obj_encode(&o, rec);
	ASSERT_EQ(hop__obj_decode(rec, &p), 0);
	ASSERT(p.kind == o.kind && p.var == o.var && p.addr == o.addr && p.size == o.size && p.type == o.type &&
	       p.count == o.count);
	rec[0] = 9;
	ASSERT_EQ(hop__obj_decode(rec, &p), HOP_EFORMAT);
	ASSERT_ERR_HAS("kind 9");
}

int main(void)
{
	RUN(be32_to_native_values_and_pointers);
	RUN(refusals_on_the_destination);
	RUN(narrowing_out_of_range);
	RUN(long_double_between_formats);
	RUN(scan_typing_and_refusals);
	RUN(native_round_trip_digest);
	RUN(block_comes_back);
	RUN(unions);
	RUN(object_records);
	return 0;
}
