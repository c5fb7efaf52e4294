/* fixture.c -- the index fixture: every kind of type the index describes.
 *
 * Built for each target by t_index_targets.sh. It prints one line per fact
 * twice: "P|key|value" as the compiler laid it out (sizeof, offsetof, bit
 * positions found by setting a bit-field and looking at the bytes, &var
 * relative to &hop_init), and "R|key|value" as the runtime's loader read it
 * from the index attached to this executable. The script adds the view of
 * `hop index --json` and requires all three to agree on every key.
 */
#include <float.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <hop.h>

#include "fixture.h"
#include "index.h"

/* ---- the types -------------------------------------------------------------- */

struct bits {
	unsigned a : 3;
	signed b : 5;
	unsigned c : 13;          /* spans bytes */
	unsigned char d;
	signed e : 20;
	unsigned long long f : 40; /* wider than int */
	_Bool g : 1;
};

union u {
	int i;
	double d;
	char c[5];
};

static const int anon_union_line = __LINE__ + 3;
struct anon {
	int tag;
	union { int i; float f; };
	struct { short lo, hi; };
	char after;
};

struct flex {
	int n;
	double items[];
};

struct grid {
	int cells[3][4];
	char names[2][3][5];
};

enum color { RED = -2, GREEN, BLUE = 7 };
enum small { S0, S1 };

struct nums {
	char c;
	long double ld;
	float f;
	double d;
	_Bool b;
	long l;
	long long ll;
	short s;
	unsigned long ul;
	signed char sc;
	unsigned char uc;
};

typedef struct {
	int x, y;
} point_t;

typedef int (*binop)(int, int);
struct ops {
	const char *name;
	binop fn;
};

HOP_POINTS_TO(struct node, data, struct payload);

/* ---- the variables ------------------------------------------------------------ */

struct bits g_bits;
union u g_u;
struct anon g_anon;
struct grid g_grid;
enum color g_color = BLUE;
enum small g_small;
struct node g_node;
struct payload g_payload; /* gcc describes only types in use: the hint alone would not do */
struct nums g_nums;
long double g_ld = 1.5L;
float g_f;
double g_d;
_Bool g_b;
point_t g_pt;
struct flex *g_flex;
const volatile int g_cv = 5;
char **g_argv;
static int counter = 1; /* fixture2.c has one too */

int add(int a, int b) { return a + b; }
int sub(int a, int b) { return a - b; }
int mul(int a, int b) { return a * b; }

binop table[3] = { add, sub, mul };
struct ops named_ops[2] = { { "add", add }, { "mul", mul } };

static int *helper(void)
{
	static int calls; /* fixture2.c's helper has one too */
	calls++;
	return &calls;
}

static int *stat_counter(void)
{
	static int count;
	count++;
	return &count;
}

/* ---- facts --------------------------------------------------------------------- */

static const struct hop_index *idx;
static uint64_t anchor;

static int big_endian(void)
{
	union { uint16_t v; uint8_t b[2]; } t = { 0x0102 };
	return t.b[0] == 1;
}

static const struct hop_type *itype(const char *name)
{
	uint32_t t = hop__index_type(idx, name);
	return t == HOP_NONE ? NULL : &idx->types[t];
}

static const struct hop_member *imember(const char *tname, const char *m)
{
	uint32_t t = hop__index_type(idx, tname);
	return t == HOP_NONE ? NULL : hop__index_member(idx, t, m);
}

static const char *tname_of(uint32_t t)
{
	return t < idx->ntypes ? idx->types[t].name : "void";
}

static void fact(const char *key, const char *p, const char *r)
{
	printf("P|%s|%s\n", key, p);
	printf("R|%s|%s\n", key, r ? r : "(missing)");
}

static void fact_u(const char *key, unsigned long long p, int have, unsigned long long r)
{
	char a[32], b[32];
	snprintf(a, sizeof(a), "%llu", p);
	snprintf(b, sizeof(b), "%llu", r);
	fact(key, a, have ? b : NULL);
}

static void fact_s(const char *key, long long p, int have, long long r)
{
	char a[32], b[32];
	snprintf(a, sizeof(a), "%lld", p);
	snprintf(b, sizeof(b), "%lld", r);
	fact(key, a, have ? b : NULL);
}

static void size_fact(const char *tname, size_t size)
{
	char key[256];
	const struct hop_type *t = itype(tname);
	snprintf(key, sizeof(key), "size|%s", tname);
	fact_u(key, size, t != NULL, t ? t->size : 0);
}

static void count_fact(const char *tname, size_t count)
{
	char key[256];
	const struct hop_type *t = itype(tname);
	snprintf(key, sizeof(key), "count|%s", tname);
	fact_u(key, count, t != NULL, t ? t->count : 0);
}

static void offset_fact(const char *tname, const char *m, size_t off)
{
	char key[256];
	const struct hop_member *mm = imember(tname, m);
	snprintf(key, sizeof(key), "offset|%s.%s", tname, m);
	fact_u(key, off, mm != NULL, mm ? mm->offset : 0);
}

static void mtype_fact(const char *tname, const char *m, const char *type)
{
	char key[256];
	const struct hop_member *mm = imember(tname, m);
	snprintf(key, sizeof(key), "mtype|%s.%s", tname, m);
	fact(key, type, mm ? tname_of(mm->type) : NULL);
}

/* Where a bit-field lies, seen from its bytes: all its bits set in an
 * otherwise zero struct. Bits are numbered from the struct's start, LSB
 * first on little-endian targets and MSB first on big-endian ones (the
 * numbering of DW_AT_data_bit_offset). */
static void bits_fact(const char *tname, const char *m, const void *obj, size_t size)
{
	const unsigned char *b = obj;
	int be = big_endian();
	long first = -1, n = 0;
	char key[256], p[64], r[64];
	for (size_t i = 0; i < size; i++)
		for (int j = 0; j < 8; j++)
			if (b[i] >> j & 1) {
				long pos = (long)i * 8 + (be ? 7 - j : j);
				if (first < 0 || pos < first)
					first = pos;
				n++;
			}
	const struct hop_member *mm = imember(tname, m);
	snprintf(key, sizeof(key), "bits|%s.%s", tname, m);
	snprintf(p, sizeof(p), "%ld %ld", first, n);
	if (mm)
		snprintf(r, sizeof(r), "%u %u", mm->bit_offset, mm->bit_size);
	fact(key, p, mm ? r : NULL);
}

static void var_fact(const char *name, const volatile void *addr, size_t size, const char *type)
{
	char key[256];
	const struct hop_var *v = hop__index_var(idx, name);
	snprintf(key, sizeof(key), "addr|%s", name);
	fact_s(key, (long long)(intptr_t)((uintptr_t)addr - (uintptr_t)&hop_init), v != NULL,
	       v ? (long long)(v->address - anchor) : 0);
	snprintf(key, sizeof(key), "vsize|%s", name);
	fact_u(key, size, v != NULL, v ? v->size : 0);
	snprintf(key, sizeof(key), "vtype|%s", name);
	fact(key, type, v ? tname_of(v->type) : NULL);
}

static void func_fact(const char *name, uintptr_t addr)
{
	char key[256];
	const struct hop_func *f = hop__index_func(idx, name);
	snprintf(key, sizeof(key), "func|%s", name);
	fact_s(key, (long long)(intptr_t)(addr - (uintptr_t)&hop_init), f != NULL, f ? (long long)(f->address - anchor) : 0);
}

static const char *enc_name(int enc)
{
	switch (enc) {
	case HOP_ENC_SIGNED: return "signed";
	case HOP_ENC_UNSIGNED: return "unsigned";
	case HOP_ENC_BOOL: return "bool";
	case HOP_ENC_SIGNED_CHAR: return "signed_char";
	case HOP_ENC_UNSIGNED_CHAR: return "unsigned_char";
	case HOP_ENC_FLOAT: return "float";
	case HOP_ENC_COMPLEX: return "complex";
	}
	return "none";
}

static void enc_fact(const char *tname, const char *enc)
{
	char key[256];
	const struct hop_type *t = itype(tname);
	snprintf(key, sizeof(key), "enc|%s", tname);
	fact(key, enc, t ? enc_name(t->enc) : NULL);
}

#define SIZE(T, name) size_fact(name, sizeof(T))
#define OFFSET(T, name, m) offset_fact(name, #m, offsetof(T, m))
#define BITS(T, name, m)                                                       \
	do {                                                                   \
		T s_;                                                          \
		volatile long long ones_ = -1;                                 \
		memset(&s_, 0, sizeof(s_));                                    \
		s_.m = ones_;                                                  \
		bits_fact(name, #m, &s_, sizeof(s_));                          \
	} while (0)
#define VAR(v, type) var_fact(#v, &(v), sizeof(v), type)
#define SIGNED_ENC(T) ((T)-1 > (T)0 ? "unsigned" : "signed")

static const char *my_arch(void)
{
#if defined(__x86_64__)
	return "x86_64";
#elif defined(__i386__)
	return "i686";
#elif defined(__aarch64__)
	return "aarch64";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__powerpc__)
	return "powerpc";
#else
	return "unknown";
#endif
}

static const char *my_long_double(void)
{
	switch (LDBL_MANT_DIG) {
	case 53: return "binary64";
	case 64: return "x87-80";
	case 113: return "binary128";
	case 106: return "ibm128";
	}
	return "unknown";
}

int main(int argc, char **argv)
{
	intptr_t bias;
	char buf[256];

	if (hop_init() < 0 || hop__self_index(&idx, &bias) < 0) {
		fprintf(stderr, "fixture: %s\n", hop_last_error());
		return 1;
	}
	const struct hop_func *hi = hop__index_func(idx, "hop_init");
	anchor = hi ? hi->address : 0;
	g_argv = argv;
	g_flex = NULL;

	/* target */
	fact("target|arch", my_arch(), hop__arch_name(idx->arch));
	fact_u("target|pointer_size", sizeof(void *), 1, idx->pointer_size);
	fact("target|endian", big_endian() ? "big" : "little", idx->big_endian ? "big" : "little");
	fact("target|long_double", my_long_double(), hop__ldfmt_name(idx->long_double));

	/* base types */
	SIZE(int, "int");
	SIZE(char, "char");
	SIZE(long, "long");
	SIZE(unsigned long, "unsigned long");
	SIZE(long long, "long long");
	SIZE(unsigned long long, "unsigned long long");
	SIZE(short, "short");
	SIZE(_Bool, "_Bool");
	SIZE(float, "float");
	SIZE(double, "double");
	SIZE(long double, "long double");
	SIZE(signed char, "signed char");
	SIZE(unsigned char, "unsigned char");
	enc_fact("char", (char)-1 < 0 ? "signed_char" : "unsigned_char");
	enc_fact("signed char", "signed_char");
	enc_fact("unsigned char", "unsigned_char");
	enc_fact("int", "signed");
	enc_fact("unsigned long", "unsigned");
	enc_fact("_Bool", "bool");
	enc_fact("double", "float");
	enc_fact("long double", "float");

	/* bit-fields */
	SIZE(struct bits, "struct bits");
	BITS(struct bits, "struct bits", a);
	BITS(struct bits, "struct bits", b);
	BITS(struct bits, "struct bits", c);
	BITS(struct bits, "struct bits", e);
	BITS(struct bits, "struct bits", f);
	BITS(struct bits, "struct bits", g);
	OFFSET(struct bits, "struct bits", d);
	mtype_fact("struct bits", "f", "unsigned long long");
	mtype_fact("struct bits", "b", "int");

	/* unions */
	SIZE(union u, "union u");
	OFFSET(union u, "union u", i);
	OFFSET(union u, "union u", d);
	OFFSET(union u, "union u", c);
	mtype_fact("union u", "c", "char [5]");

	/* anonymous members: listed as __anon0, __anon1 in declaration order */
	SIZE(struct anon, "struct anon");
	OFFSET(struct anon, "struct anon", tag);
	offset_fact("struct anon", "__anon0", offsetof(struct anon, i));
	offset_fact("struct anon", "__anon1", offsetof(struct anon, lo));
	OFFSET(struct anon, "struct anon", after);
	snprintf(buf, sizeof(buf), "union (anon at fixture.c:%d)", anon_union_line);
	mtype_fact("struct anon", "__anon0", buf);
	offset_fact(buf, "f", 0);
	snprintf(buf, sizeof(buf), "struct (anon at fixture.c:%d)", anon_union_line + 1);
	mtype_fact("struct anon", "__anon1", buf);
	offset_fact(buf, "hi", offsetof(struct anon, hi) - offsetof(struct anon, lo));

	/* flexible array members */
	SIZE(struct flex, "struct flex");
	OFFSET(struct flex, "struct flex", items);
	mtype_fact("struct flex", "items", "double []");
	size_fact("double []", 0);
	count_fact("double []", 0);

	/* multi-dimensional arrays */
	SIZE(struct grid, "struct grid");
	OFFSET(struct grid, "struct grid", names);
	mtype_fact("struct grid", "cells", "int [3][4]");
	mtype_fact("struct grid", "names", "char [2][3][5]");
	SIZE(g_grid.cells, "int [3][4]");
	SIZE(g_grid.cells[0], "int [4]");
	count_fact("int [3][4]", 3);
	count_fact("int [4]", 4);
	SIZE(g_grid.names[0], "char [3][5]");
	count_fact("char [2][3][5]", 2);
	count_fact("char [5]", 5);

	/* enums */
	SIZE(enum color, "enum color");
	SIZE(enum small, "enum small");
	enc_fact("enum color", SIGNED_ENC(enum color));
	enc_fact("enum small", SIGNED_ENC(enum small));

	/* numbers, long double among them */
	SIZE(struct nums, "struct nums");
	OFFSET(struct nums, "struct nums", ld);
	OFFSET(struct nums, "struct nums", f);
	OFFSET(struct nums, "struct nums", d);
	OFFSET(struct nums, "struct nums", b);
	OFFSET(struct nums, "struct nums", l);
	OFFSET(struct nums, "struct nums", ll);
	OFFSET(struct nums, "struct nums", s);
	OFFSET(struct nums, "struct nums", ul);
	OFFSET(struct nums, "struct nums", uc);

	/* pointers, typedefs resolved, function pointers */
	SIZE(struct node, "struct node");
	OFFSET(struct node, "struct node", data);
	OFFSET(struct node, "struct node", key);
	mtype_fact("struct node", "next", "struct node *");
	mtype_fact("struct node", "data", "void *");
	SIZE(struct payload, "struct payload");
	OFFSET(struct payload, "struct payload", tag);
	SIZE(point_t, "point_t");
	OFFSET(point_t, "point_t", y);
	SIZE(struct ops, "struct ops");
	OFFSET(struct ops, "struct ops", fn);
	mtype_fact("struct ops", "fn", "int (*)(int, int)");
	mtype_fact("struct ops", "name", "char *");
	SIZE(binop, "int (*)(int, int)");

	/* variables */
	VAR(g_bits, "struct bits");
	VAR(g_u, "union u");
	VAR(g_anon, "struct anon");
	VAR(g_grid, "struct grid");
	VAR(g_color, "enum color");
	VAR(g_small, "enum small");
	VAR(g_node, "struct node");
	VAR(g_payload, "struct payload");
	VAR(g_nums, "struct nums");
	VAR(g_ld, "long double");
	VAR(g_f, "float");
	VAR(g_d, "double");
	VAR(g_b, "_Bool");
	VAR(g_pt, "point_t");
	VAR(g_flex, "struct flex *");
	VAR(g_cv, "int");
	VAR(g_argv, "char **");
	VAR(table, "int (*[3])(int, int)");
	VAR(named_ops, "struct ops [2]");
	var_fact("fixture.c:counter", &counter, sizeof(counter), "int");
	var_fact("fixture2.c:counter", fixture2_counter(), sizeof(int), "int");
	var_fact("only_here", fixture2_only_here(), sizeof(int), "int");
	var_fact("stat_counter.count", stat_counter(), sizeof(int), "int");
	var_fact("fixture.c:helper.calls", helper(), sizeof(int), "int");
	var_fact("fixture2.c:helper.calls", fixture2_helper_calls(), sizeof(int), "int");
	var_fact("list2", fixture2_list(), sizeof(struct node), "struct node");

	/* functions, reached through function pointers */
	func_fact("add", (uintptr_t)table[0]);
	func_fact("sub", (uintptr_t)table[1]);
	func_fact("mul", (uintptr_t)named_ops[1].fn);
	func_fact("main", (uintptr_t)&main);
	func_fact("hop_init", (uintptr_t)&hop_init);

	/* transfer points and hints */
	int found = 0;
	for (uint32_t i = 0; i < idx->npoints; i++)
		found |= strcmp(idx->points[i].name, "main_loop") == 0;
	fact("point|main_loop", "yes", found ? "yes" : NULL);
	found = 0;
	for (uint32_t i = 0; i < idx->nhints; i++)
		found |= strcmp(idx->hints[i], "points_to|struct node|data|struct payload") == 0;
	fact("hint|points_to|struct node|data|struct payload", "yes", found ? "yes" : NULL);

	for (int i = 0; i < 1 + (argc > 5); i++)
		HOP_POINT(main_loop);
	return 0;
}
