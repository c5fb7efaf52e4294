/* test_index.c -- the index's binary form: round trip and damaged input.
 *
 * Builds an index with the builder API (every table, every type kind),
 * encodes and decodes it and compares field by field. Then damages the
 * encoding in every way docs/index-format.md says a decoder must catch --
 * and a few ways the encoder would never produce but a liar could -- and
 * checks each is refused with a message naming the problem. Finally flips
 * every byte of an encoding (with the checksum repaired) to show the
 * decoder never trusts a field it has not checked (run under ASan too).
 */
#include "task.h"

#include "bytes.h"
#include "err.h"
#include "index.h"

#define HDR 56
#define TYPE_REC 36

/* ---- a sample index ------------------------------------------------------------ */

static uint32_t add_type(struct hop_index *idx, const char *name, int kind, int enc, uint64_t size,
			 uint32_t target, uint64_t count)
{
	struct hop_type t = { .name = name, .kind = (uint8_t)kind, .enc = (uint8_t)enc, .size = size,
			      .target = target, .count = count };
	uint32_t id = hop__index_add_type(idx, &t);
	ASSERT(id != HOP_NONE);
	return id;
}

static void add_member(struct hop_index *idx, uint32_t t, const char *name, uint32_t type, uint64_t off,
		       uint32_t bo, uint32_t bs)
{
	struct hop_member m = { .name = name, .type = type, .offset = off, .bit_offset = bo, .bit_size = bs };
	uint32_t id = hop__index_add_member(idx, &m);
	ASSERT(id != HOP_NONE);
	if (idx->types[t].nmembers == 0)
		idx->types[t].first_member = id;
	idx->types[t].nmembers++;
}

static struct hop_index *sample(void)
{
	struct hop_index *idx = hop__index_new();
	ASSERT(idx);
	idx->arch = HOP_ARCH_S390X;
	idx->pointer_size = 8;
	idx->big_endian = 1;
	idx->long_double = HOP_LD_BINARY128;

	uint32_t t_int = add_type(idx, "int", HOP_KIND_BASE, HOP_ENC_SIGNED, 4, HOP_NONE, 0);
	uint32_t t_char = add_type(idx, "char", HOP_KIND_BASE, HOP_ENC_UNSIGNED_CHAR, 1, HOP_NONE, 0);
	uint32_t t_node = add_type(idx, "struct node", HOP_KIND_STRUCT, 0, 24, HOP_NONE, 0);
	uint32_t t_pnode = add_type(idx, "struct node *", HOP_KIND_POINTER, 0, 8, t_node, 0);
	uint32_t t_arr4 = add_type(idx, "int [4]", HOP_KIND_ARRAY, 0, 16, t_int, 4);
	uint32_t t_arr34 = add_type(idx, "int [3][4]", HOP_KIND_ARRAY, 0, 48, t_arr4, 3);
	uint32_t t_flex = add_type(idx, "char []", HOP_KIND_ARRAY, 0, 0, t_char, 0);
	uint32_t t_enum = add_type(idx, "enum color", HOP_KIND_ENUM, HOP_ENC_SIGNED, 4, HOP_NONE, 0);
	uint32_t t_fn = add_type(idx, "int (int)", HOP_KIND_FUNCTION, 0, 0, HOP_NONE, 0);
	uint32_t t_pfn = add_type(idx, "int (*)(int)", HOP_KIND_POINTER, 0, 8, t_fn, 0);
	uint32_t t_u = add_type(idx, "union u", HOP_KIND_UNION, 0, 48, HOP_NONE, 0);
	uint32_t t_decl = add_type(idx, "struct opaque", HOP_KIND_STRUCT, 0, 0, HOP_NONE, 0);
	idx->types[t_decl].flags = HOP_TF_DECLARATION;
	uint32_t t_void = add_type(idx, "void *", HOP_KIND_POINTER, 0, 8, HOP_NONE, 0);

	add_member(idx, t_node, "next", t_pnode, 0, 0, 0);
	add_member(idx, t_node, "a", t_int, 8, 64, 3);
	add_member(idx, t_node, "b", t_int, 8, 67, 13);
	add_member(idx, t_node, "color", t_enum, 12, 0, 0);
	add_member(idx, t_node, "fn", t_pfn, 16, 0, 0);
	add_member(idx, t_u, "grid", t_arr34, 0, 0, 0);
	add_member(idx, t_u, "__anon0", t_void, 0, 0, 0);
	add_member(idx, t_u, "tail", t_flex, 48, 0, 0);

	struct hop_var v1 = { "head", t_node, 24, 0x10000 };
	struct hop_var v2 = { "main.count", t_int, 4, 0x10020 };
	struct hop_var v3 = { "a.c:counter", t_int, 4, 0x10024 };
	ASSERT(hop__index_add_var(idx, &v1) != HOP_NONE);
	ASSERT(hop__index_add_var(idx, &v2) != HOP_NONE);
	ASSERT(hop__index_add_var(idx, &v3) != HOP_NONE);
	struct hop_func f1 = { "main", 0x2000, 100 }, f2 = { "hop_init", 0x1000, 20 };
	ASSERT(hop__index_add_func(idx, &f1) != HOP_NONE);
	ASSERT(hop__index_add_func(idx, &f2) != HOP_NONE);
	ASSERT(hop__index_add_point(idx, "main_loop") != HOP_NONE);
	struct hop_section s = { ".data", 0x10000, 0x100, HOP_SF_WRITE };
	ASSERT(hop__index_add_section(idx, &s) != HOP_NONE);
	ASSERT(hop__index_add_hint(idx, "points_to|struct node|fn|int") != HOP_NONE);
	(void)t_decl;
	ASSERT_EQ(hop__index_finish(idx), 0);
	return idx;
}

static void encode(const struct hop_index *idx, uint8_t **buf, size_t *len)
{
	ASSERT_EQ(hop__index_encode(idx, buf, len), 0);
}

/* Decoding must fail with a message containing `needle`. */
static void expect_refused(const uint8_t *buf, size_t len, const char *needle)
{
	struct hop_index *out = (struct hop_index *)1;
	hop__clear_error();
	int rc = hop__index_decode(buf, len, &out);
	if (rc == 0)
		FAIL("damaged index accepted (wanted \"%s\")", needle);
	ASSERT_EQ(rc, HOP_EFORMAT);
	ASSERT(out == NULL);
	ASSERT_ERR_HAS(needle);
}

static void fix_crc(uint8_t *buf, size_t len)
{
	hop__put32(buf + 16, hop__crc32(0, buf + HDR, len - HDR));
}

/* offset of the first type record */
static size_t types_at(const uint8_t *buf)
{
	return HDR + hop__get32(buf + 24);
}

/* ---- tests ------------------------------------------------------------------------ */

TEST(round_trip)
{
	struct hop_index *a = sample(), *b;
	uint8_t *buf;
	size_t len;
	encode(a, &buf, &len);
	ASSERT_EQ(hop__index_decode(buf, len, &b), 0);

	ASSERT_EQ(b->arch, a->arch);
	ASSERT_EQ(b->pointer_size, a->pointer_size);
	ASSERT_EQ(b->big_endian, a->big_endian);
	ASSERT_EQ(b->long_double, a->long_double);
	ASSERT_EQ(b->ntypes, a->ntypes);
	for (uint32_t i = 0; i < a->ntypes; i++) {
		const struct hop_type *x = &a->types[i], *y = &b->types[i];
		ASSERT_STR_EQ(y->name, x->name);
		ASSERT_EQ(y->kind, x->kind);
		ASSERT_EQ(y->enc, x->enc);
		ASSERT_EQ(y->flags, x->flags);
		ASSERT_UEQ(y->size, x->size);
		ASSERT_UEQ(y->target, x->target);
		ASSERT_UEQ(y->count, x->count);
		ASSERT_EQ(y->first_member, x->first_member);
		ASSERT_EQ(y->nmembers, x->nmembers);
	}
	ASSERT_EQ(b->nmembers, a->nmembers);
	for (uint32_t i = 0; i < a->nmembers; i++) {
		const struct hop_member *x = &a->members[i], *y = &b->members[i];
		ASSERT_STR_EQ(y->name, x->name);
		ASSERT_EQ(y->type, x->type);
		ASSERT_UEQ(y->offset, x->offset);
		ASSERT_EQ(y->bit_offset, x->bit_offset);
		ASSERT_EQ(y->bit_size, x->bit_size);
	}
	ASSERT_EQ(b->nvars, a->nvars);
	for (uint32_t i = 0; i < a->nvars; i++) {
		ASSERT_STR_EQ(b->vars[i].name, a->vars[i].name);
		ASSERT_EQ(b->vars[i].type, a->vars[i].type);
		ASSERT_UEQ(b->vars[i].size, a->vars[i].size);
		ASSERT_UEQ(b->vars[i].address, a->vars[i].address);
	}
	ASSERT_EQ(b->nfuncs, a->nfuncs);
	for (uint32_t i = 0; i < a->nfuncs; i++) {
		ASSERT_STR_EQ(b->funcs[i].name, a->funcs[i].name);
		ASSERT_UEQ(b->funcs[i].address, a->funcs[i].address);
		ASSERT_UEQ(b->funcs[i].size, a->funcs[i].size);
	}
	/* finish() sorted the functions by address */
	ASSERT_STR_EQ(b->funcs[0].name, "hop_init");
	ASSERT_EQ(b->npoints, 1);
	ASSERT_STR_EQ(b->points[0].name, "main_loop");
	ASSERT_EQ(b->nsections, 1);
	ASSERT_STR_EQ(b->sections[0].name, ".data");
	ASSERT_UEQ(b->sections[0].address, 0x10000);
	ASSERT_UEQ(b->sections[0].size, 0x100);
	ASSERT_EQ(b->sections[0].flags, HOP_SF_WRITE);
	ASSERT_EQ(b->nhints, 1);
	ASSERT_STR_EQ(b->hints[0], "points_to|struct node|fn|int");

	/* lookups work on the decoded copy */
	uint32_t node = hop__index_type(b, "struct node");
	ASSERT(node != HOP_NONE);
	ASSERT_EQ(hop__index_member(b, node, "b")->bit_size, 13);
	ASSERT_UEQ(hop__index_var(b, "main.count")->address, 0x10020);
	ASSERT_STR_EQ(hop__index_func_at(b, 0x2000)->name, "main");

	/* and encoding the decoded copy gives the same bytes */
	uint8_t *buf2;
	size_t len2;
	encode(b, &buf2, &len2);
	ASSERT_EQ(len2, len);
	ASSERT(memcmp(buf, buf2, len) == 0);

	free(buf2);
	free(buf);
	hop__index_free(a);
	hop__index_free(b);
}

TEST(empty_index)
{
	struct hop_index *a = hop__index_new(), *b;
	uint8_t *buf;
	size_t len;
	a->arch = HOP_ARCH_I686;
	a->pointer_size = 4;
	a->long_double = HOP_LD_X87_80;
	ASSERT_EQ(hop__index_finish(a), 0);
	encode(a, &buf, &len);
	ASSERT_EQ(len, HDR);
	ASSERT_EQ(hop__index_decode(buf, len, &b), 0);
	ASSERT_EQ(b->ntypes, 0);
	free(buf);
	hop__index_free(a);
	hop__index_free(b);
}

TEST(header_damage)
{
	struct hop_index *a = sample();
	uint8_t *buf;
	size_t len;
	encode(a, &buf, &len);

	expect_refused(buf, 0, "truncated header");
	expect_refused(buf, HDR - 1, "truncated header");
	expect_refused(buf, len - 1, "truncated or padded");

	buf[0] ^= 0x20; /* "hOPINDEX" */
	expect_refused(buf, len, "bad magic");
	buf[0] ^= 0x20;

	hop__put16(buf + 8, 2);
	expect_refused(buf, len, "version 2, this hop reads up to 1");
	hop__put16(buf + 8, 0);
	expect_refused(buf, len, "version 0");
	hop__put16(buf + 8, 1);

	hop__put16(buf + 10, 40);
	expect_refused(buf, len, "header size 40");
	hop__put16(buf + 10, HDR);

	buf[len - 3] ^= 1;
	expect_refused(buf, len, "checksum mismatch");
	buf[len - 3] ^= 1;

	/* counts that lie: one more type than the body holds */
	uint32_t nt = hop__get32(buf + 28);
	hop__put32(buf + 28, nt + 1);
	expect_refused(buf, len, "tables need");
	hop__put32(buf + 28, 0xffffffff);
	expect_refused(buf, len, "types is over the limit");
	hop__put32(buf + 28, nt);

	/* a count that lies but keeps the byte total: 9 more hints, 1 less type */
	uint32_t nh = hop__get32(buf + 52);
	hop__put32(buf + 28, nt - 1);
	hop__put32(buf + 52, nh + 9);
	hop__clear_error();
	struct hop_index *out;
	ASSERT(hop__index_decode(buf, len, &out) < 0);
	ASSERT(*hop_last_error() != '\0');
	hop__put32(buf + 28, nt);
	hop__put32(buf + 52, nh);

	/* the intact buffer still decodes: the test damaged only what it meant to */
	ASSERT_EQ(hop__index_decode(buf, len, &out), 0);
	hop__index_free(out);
	free(buf);
	hop__index_free(a);
}

TEST(name_offsets)
{
	struct hop_index *a = sample();
	uint8_t *buf;
	size_t len;
	encode(a, &buf, &len);
	size_t t0 = types_at(buf);
	uint32_t strlen_ = hop__get32(buf + 24);
	uint32_t off = hop__get32(buf + t0);

	hop__put32(buf + t0, strlen_);
	fix_crc(buf, len);
	expect_refused(buf, len, "name of type 0: offset");
	ASSERT_ERR_HAS("outside the string table");

	hop__put32(buf + t0, 0xfffffff0);
	fix_crc(buf, len);
	expect_refused(buf, len, "outside the string table");

	hop__put32(buf + t0, off + 1); /* "nt" of "int" */
	fix_crc(buf, len);
	expect_refused(buf, len, "points into the middle of a string");

	/* the last hint's name */
	hop__put32(buf + t0, off);
	hop__put32(buf + len - 4, strlen_ + 100);
	fix_crc(buf, len);
	expect_refused(buf, len, "name of hint 0");

	/* a string table whose last string is not terminated */
	hop__put32(buf + len - 4, 0);
	buf[HDR + strlen_ - 1] = 'x';
	fix_crc(buf, len);
	expect_refused(buf, len, "string table not terminated");
	free(buf);
	hop__index_free(a);
}

/* Encode `idx` (which the builder let through unverified), decode it, and
 * expect the verifier's complaint. */
static void expect_bad_index(struct hop_index *idx, const char *needle)
{
	uint8_t *buf;
	size_t len;
	encode(idx, &buf, &len);
	expect_refused(buf, len, needle);
	free(buf);
	hop__index_free(idx);
}

TEST(meaning)
{
	struct hop_index *a;

	/* member outside its struct */
	a = sample();
	a->members[a->types[hop__index_type(a, "struct node")].first_member + 3].offset = 22;
	expect_bad_index(a, "member struct node.color (4 bytes at 22) outside 24 bytes");

	/* bit-field outside its struct */
	a = sample();
	a->members[a->types[hop__index_type(a, "struct node")].first_member + 2].bit_offset = 190;
	expect_bad_index(a, "bit-field struct node.b");

	/* members range beyond the table */
	a = sample();
	a->types[hop__index_type(a, "struct node")].nmembers = 100;
	expect_bad_index(a, "beyond");

	/* a struct containing an array of itself */
	a = sample();
	{
		uint32_t self = add_type(a, "struct loop", HOP_KIND_STRUCT, 0, 16, HOP_NONE, 0);
		uint32_t arr = add_type(a, "struct loop [1]", HOP_KIND_ARRAY, 0, 16, self, 1);
		add_member(a, self, "again", arr, 0, 0, 0);
	}
	expect_bad_index(a, "contains itself");

	/* a pointer whose size is not the target's */
	a = sample();
	a->types[hop__index_type(a, "struct node *")].size = 4;
	expect_bad_index(a, "has size 4, target pointers are 8");

	/* header pointer size that is no pointer size */
	a = sample();
	a->pointer_size = 6;
	expect_bad_index(a, "pointer size 6");

	/* references to types that do not exist */
	a = sample();
	a->types[hop__index_type(a, "struct node *")].target = 9999;
	expect_bad_index(a, "points to bad type 9999");
	a = sample();
	a->vars[0].type = 9999;
	expect_bad_index(a, "has bad type 9999");

	/* an array whose size is not count * element size */
	a = sample();
	a->types[hop__index_type(a, "int [4]")].size = 15;
	expect_bad_index(a, "4 elements of 4 bytes is not 15");

	/* a variable whose size is not its type's */
	a = sample();
	a->vars[0].size = 8;
	expect_bad_index(a, "variable head has size 8");

	/* unknown kind, architecture, encoding */
	a = sample();
	a->types[0].kind = 99;
	expect_bad_index(a, "unknown kind 99");
	a = sample();
	a->arch = 42;
	expect_bad_index(a, "unknown architecture 42");
	a = sample();
	a->types[0].enc = 0;
	expect_bad_index(a, "bad encoding 0");

	/* functions out of order */
	a = sample();
	a->funcs[0].address = 0x3000;
	expect_bad_index(a, "functions not sorted");
}

/* Every single-byte change, checksum repaired so it reaches the tables:
 * decoded or refused, never a crash or a read out of bounds. */
TEST(every_byte)
{
	struct hop_index *a = sample(), *out;
	uint8_t *buf, *copy;
	size_t len;
	int refused = 0, accepted = 0;
	encode(a, &buf, &len);
	copy = malloc(len);
	ASSERT(copy);
	for (size_t i = 0; i < len; i++) {
		static const uint8_t flips[] = { 0x01, 0x80, 0xff };
		for (size_t k = 0; k < sizeof(flips); k++) {
			memcpy(copy, buf, len);
			copy[i] ^= flips[k];
			if (i >= 20)
				fix_crc(copy, len);
			hop__clear_error();
			if (hop__index_decode(copy, len, &out) == 0) {
				accepted++;
				hop__index_free(out);
			} else {
				ASSERT(*hop_last_error() != '\0');
				refused++;
			}
		}
	}
	/* many changes are harmless (an address, a name's letter), most not */
	ASSERT_GE(refused, (int)len);
	ASSERT_GE(accepted, 1);
	free(copy);
	free(buf);
	hop__index_free(a);
}

int main(void)
{
	RUN(round_trip);
	RUN(empty_index);
	RUN(header_damage);
	RUN(name_offsets);
	RUN(meaning);
	RUN(every_byte);
	return 0;
}
