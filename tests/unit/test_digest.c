/* test_digest.c -- the state digest's object hash (digest.c, SipHash-1-3-128)
 * and the normal form fed to it.
 *
 * Origin and destination may be any two of the five targets, so the hash of
 * a byte stream must be the same number everywhere: the vectors below were
 * computed once and are checked here natively and, by
 * tests/digest/t_hash_targets.sh, on i686, aarch64, s390x and powerpc under
 * qemu (this file builds for every target: no host-only types). That it is
 * SipHash is tests/digest/t_siphash_ref.sh's job (against libsodium). */
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"
#include "task.h"

static void hash_bytes(const void *p, size_t n, uint64_t out[2])
{
	struct hop_hash h;
	hop__hash_init(&h);
	hop__hash_update(&h, p, n);
	hop__hash_final(&h, out);
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + 3);
}

static int popcount64(uint64_t v)
{
	int n = 0;
	for (; v; v &= v - 1)
		n++;
	return n;
}

/* ---- fixed vectors ---------------------------------------------------------------- */
/* hop's key ("hop state digest"), input bytes i*7+3 for i < n */
static const struct {
	size_t n;
	uint64_t h0, h1;
} vectors[] = {
	{ 0, 0x11276f8501f93704ull, 0x1da5dc596fda0b89ull },
	{ 1, 0x6c3e2ba61c9d19cbull, 0xcc41f3ca153830d0ull },
	{ 7, 0xbfab6d32e573702cull, 0x2dab9b93b3898a61ull },
	{ 8, 0xe43b269d3b5e2489ull, 0xb49aa54f1b1ec9b5ull },
	{ 9, 0x7be6cf28d238f711ull, 0x8e5b25caf26011e5ull },
	{ 15, 0xc6f0fbbb86f5d720ull, 0x25b708d8c1ecee17ull },
	{ 16, 0xc402cdf4345ec455ull, 0x99477e2368754eabull },
	{ 17, 0x5f071165c2f44b5dull, 0xaccd5ef60ca8ad03ull },
	{ 31, 0x97e8bff54e5977c8ull, 0xe1d40c5ceb339598ull },
	{ 32, 0xc0b04524f8fcd914ull, 0x3634df1ac5646b70ull },
	{ 63, 0x65c5a5063d905239ull, 0xeb4759e207b900d6ull },
	{ 64, 0xa2e6d5de85247789ull, 0x21b4283f8357a193ull },
	{ 65, 0xb29d9ea46e3c6044ull, 0x5cb5b571942f9e9dull },
	{ 100, 0x1f22f785520f8d04ull, 0xb3fdb49eb590f0eaull },
	{ 255, 0x543decc7cc374a59ull, 0x605734631197578eull },
	{ 256, 0xa037b0dd1c37b1dcull, 0xd94aeb4f506f26cfull },
};

TEST(vectors)
{
	uint8_t buf[256];
	fill(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		uint64_t out[2];
		hash_bytes(buf, vectors[i].n, out);
		if (out[0] != vectors[i].h0 || out[1] != vectors[i].h1)
			FAIL("%zu bytes: got 0x%016llx 0x%016llx, want 0x%016llx 0x%016llx", vectors[i].n,
			     (unsigned long long)out[0], (unsigned long long)out[1], (unsigned long long)vectors[i].h0,
			     (unsigned long long)vectors[i].h1);
	}
	/* the sum and its bytes: lanes mod 2^64, little-endian */
	uint64_t sum[2] = { 0, 0 }, a[2] = { 0xfffffffffffffff0ull, 1 }, b[2] = { 0x20, 0x0102030405060708ull };
	uint8_t d[HOP_DIGEST_LEN];
	hop__digest_add(sum, a);
	hop__digest_add(sum, b);
	ASSERT_UEQ(sum[0], 0x10);
	ASSERT_UEQ(sum[1], 0x0102030405060709ull);
	hop__digest_out(sum, d);
	ASSERT_EQ(d[0], 0x10);
	ASSERT_EQ(d[8], 0x09);
	ASSERT_EQ(d[15], 0x01);
	hop__digest_sub(sum, a);
	ASSERT_UEQ(sum[0], b[0]);
	ASSERT_UEQ(sum[1], b[1]);
}

/* ---- streaming ------------------------------------------------------------------------ */
/* Any split of the stream into updates hashes like the whole. */
TEST(split_equals_whole)
{
	uint8_t buf[80];
	fill(buf, sizeof(buf));
	for (size_t n = 0; n <= sizeof(buf); n++) {
		uint64_t whole[2];
		hash_bytes(buf, n, whole);
		for (size_t a = 0; a <= n; a++)
			for (size_t b = a; b <= n; b += 3) {
				struct hop_hash h;
				uint64_t out[2];
				hop__hash_init(&h);
				hop__hash_update(&h, buf, a);
				hop__hash_update(&h, buf + a, b - a);
				hop__hash_update(&h, buf + b, n - b);
				hop__hash_final(&h, out);
				if (out[0] != whole[0] || out[1] != whole[1])
					FAIL("%zu bytes split at %zu and %zu hash differently", n, a, b);
			}
	}
}

/* The emitters (ident, pointers) feed the bytes docs/translation.md states,
 * at every position of the stream relative to a word. */
TEST(emitters_feed_the_stated_bytes)
{
	uint8_t pre[16], want[128];
	fill(pre, sizeof(pre));
	for (size_t k = 0; k < sizeof(pre); k++) {
		struct hop_hash h1, h2;
		uint64_t o1[2], o2[2];
		size_t n = 0;
		hop__hash_init(&h1);
		hop__hash_update(&h1, pre, k);
		hop__digest_ident_block(&h1, 0x1122334455667788ull, 3, 2, "node");
		hop__ptr_null(&h1);
		hop__ptr_unknown(&h1, 0x8877665544332211ull);
		hop__digest_ident_global(&h1, "g");
		hop__ptr_string(&h1, "ab", 3);

		want[n++] = 'B';
		for (int i = 0; i < 8; i++)
			want[n++] = (uint8_t)(0x1122334455667788ull >> (8 * i));
		want[n++] = 3;
		for (int i = 0; i < 7; i++)
			want[n++] = 0;
		want[n++] = 2;
		for (int i = 0; i < 7; i++)
			want[n++] = 0;
		memcpy(want + n, "node", 5), n += 5;
		want[n++] = 'N';
		want[n++] = 'U';
		for (int i = 0; i < 8; i++)
			want[n++] = (uint8_t)(0x8877665544332211ull >> (8 * i));
		memcpy(want + n, "Gg", 3), n += 3;
		memcpy(want + n, "Sab", 4), n += 4;
		hop__hash_init(&h2);
		hop__hash_update(&h2, pre, k);
		hop__hash_update(&h2, want, n);

		hop__hash_final(&h1, o1);
		hop__hash_final(&h2, o2);
		if (o1[0] != o2[0] || o1[1] != o2[1])
			FAIL("after %zu bytes: the emitters hash unlike their stated bytes", k);
	}
}

/* ---- every bit counts ---------------------------------------------------------------- */
/* A struct without padding: every bit of its 40 bytes is part of a value. */
static uint32_t base(struct hop_index *idx, const char *name, int enc, uint64_t size)
{
	struct hop_type t = { .name = name, .kind = HOP_KIND_BASE, .enc = (uint8_t)enc, .size = size, .target = HOP_NONE };
	return hop__index_add_type(idx, &t);
}

static struct hop_index *mixed_index(int big_endian, uint32_t *st)
{
	struct hop_index *idx = hop__index_new();
	ASSERT(idx);
	idx->pointer_size = 8;
	idx->big_endian = (uint8_t)big_endian;
	uint32_t i64 = base(idx, "long", HOP_ENC_SIGNED, 8), i32 = base(idx, "int", HOP_ENC_SIGNED, 4);
	uint32_t u16 = base(idx, "unsigned short", HOP_ENC_UNSIGNED, 2), ch = base(idx, "char", HOP_ENC_SIGNED_CHAR, 1);
	uint32_t dbl = base(idx, "double", HOP_ENC_FLOAT, 8), flt = base(idx, "float", HOP_ENC_FLOAT, 4);
	struct hop_type at = { .name = "char[2]", .kind = HOP_KIND_ARRAY, .size = 2, .target = ch, .count = 2 };
	uint32_t arr = hop__index_add_type(idx, &at);
	struct hop_type pt = { .name = "int *", .kind = HOP_KIND_POINTER, .size = 8, .target = i32 };
	uint32_t ptr = hop__index_add_type(idx, &pt);
	const struct hop_member m[] = {
		{ "a", i64, 0, 0, 0 },    { "b", i32, 8, 0, 0 },       { "c", u16, 12, 0, 0 },
		{ "d", arr, 14, 0, 0 },   { "e", dbl, 16, 0, 0 },      { "f", flt, 24, 0, 0 },
		{ "h", u16, 0, 28 * 8, 16 }, { "i", i32, 0, 30 * 8, 16 }, { "p", ptr, 32, 0, 0 },
	};
	struct hop_type s = { .name = "mixed", .kind = HOP_KIND_STRUCT, .size = 40, .target = HOP_NONE,
			      .first_member = idx->nmembers, .nmembers = sizeof(m) / sizeof(m[0]) };
	for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++)
		hop__index_add_member(idx, &m[k]);
	*st = hop__index_add_type(idx, &s);
	return idx;
}

/* the object hash of `mixed` as filled below (computed once) */
static const uint64_t mixed_h0 = 0x1cf75471dff9f4aaull, mixed_h1 = 0xe4dfcf216416958bull;

static void norm_value(void *ctx, uint64_t value, uint32_t pointee, struct hop_hash *h)
{
	hop__ptr_unknown(h, value);
}

static void object_hash(struct hop_lay *l, uint32_t st, const uint8_t *mem, uint64_t out[2])
{
	struct hop_hash h;
	hop__hash_init(&h);
	hop__digest_ident_block(&h, 0x1000, 1, 0, "mixed");
	ASSERT_EQ(hop__digest_values(l, st, 1, 0, mem, norm_value, NULL, &h), 0);
	hop__hash_final(&h, out);
}

/* Flipping any one bit of any value changes the object's hash, in either
 * byte order; and about half of the 128 output bits each time. */
TEST(one_bit_changes_the_object_hash)
{
	for (int be = 0; be <= 1; be++) {
		uint32_t st;
		struct hop_index *idx = mixed_index(be, &st);
		struct hop_lay *l;
		ASSERT_EQ(hop__lay_new(idx, &l), 0);
		/* the same values in the index's byte order; e and f are normal
		 * numbers (1.5), so no flip lands on a NaN payload, which the
		 * normal form does not keep */
		uint8_t mem[40];
		static const uint8_t d15[8] = { 0x3f, 0xf8, 0, 0, 0, 0, 0, 0 }, f15[4] = { 0x3f, 0xc0, 0, 0 };
		hop__put_uint(mem, 8, be, 0x0123456789abcdefull);
		hop__put_uint(mem + 8, 4, be, (uint32_t)-5);
		hop__put_uint(mem + 12, 2, be, 0xbeef);
		memcpy(mem + 14, "xy", 2);
		for (int i = 0; i < 8; i++)
			mem[16 + i] = d15[be ? i : 7 - i];
		for (int i = 0; i < 4; i++)
			mem[24 + i] = f15[be ? i : 3 - i];
		hop__bits_put(mem, 28 * 8, 16, be, 0x1234);
		hop__bits_put(mem, 30 * 8, 16, be, 0xfffe);
		hop__put_uint(mem + 32, 8, be, 0x1122334455667788ull);
		uint64_t ref[2];
		object_hash(l, st, mem, ref);
		/* the normal form is the same stream in either byte order */
		if (ref[0] != mixed_h0 || ref[1] != mixed_h1)
			FAIL("%s endian: the object hashes 0x%016llx 0x%016llx, want 0x%016llx 0x%016llx",
			     be ? "big" : "little", (unsigned long long)ref[0], (unsigned long long)ref[1],
			     (unsigned long long)mixed_h0, (unsigned long long)mixed_h1);
		for (int bit = 0; bit < 8 * (int)sizeof(mem); bit++) {
			uint64_t out[2];
			mem[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			object_hash(l, st, mem, out);
			mem[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			int changed = popcount64(out[0] ^ ref[0]) + popcount64(out[1] ^ ref[1]);
			/* binomial(128, 1/2): 64 +- 5.7; 30..98 is 6 standard deviations */
			if (changed < 30 || changed > 98)
				FAIL("%s endian: flipping bit %d of the object changes %d of 128 hash bits",
				     be ? "big" : "little", bit, changed);
		}
		hop__lay_free(l);
		hop__index_free(idx);
	}
}

/* Avalanche of the hash alone: each input bit of a 64-byte stream flips
 * each output bit about half the time (averaged over 64 inputs). */
TEST(avalanche)
{
	enum { N = 64, TRIALS = 64 };
	static uint16_t flips[N * 8][128];
	uint8_t buf[N];
	memset(flips, 0, sizeof(flips));
	for (int t = 0; t < TRIALS; t++) {
		for (int i = 0; i < N; i++)
			buf[i] = (uint8_t)(i * 31 + t * 131 + (i * t >> 3));
		uint64_t ref[2];
		hash_bytes(buf, N, ref);
		for (int bit = 0; bit < N * 8; bit++) {
			uint64_t out[2];
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			hash_bytes(buf, N, out);
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			for (int o = 0; o < 128; o++)
				flips[bit][o] += (uint16_t)((out[o / 64] ^ ref[o / 64]) >> (o % 64) & 1);
		}
	}
	/* binomial(64, 1/2): 32 +- 4; 65536 pairs, so allow 5.5 standard deviations */
	for (int bit = 0; bit < N * 8; bit++)
		for (int o = 0; o < 128; o++)
			if (flips[bit][o] < 10 || flips[bit][o] > 54)
				FAIL("input bit %d flips output bit %d in %d of %d trials", bit, o, flips[bit][o], TRIALS);
}

int main(void)
{
	RUN(vectors);
	RUN(split_equals_whole);
	RUN(emitters_feed_the_stated_bytes);
	RUN(one_bit_changes_the_object_hash);
	RUN(avalanche);
	return 0;
}
