/* hash_bench.c -- what hashing one object of the state digest costs: the
 * digest's hash (digest.c, SipHash-1-3-128) against BLAKE2s-256, which the
 * digest used before protocol version 2 and which is kept here only as that
 * reference. Inputs of 16, 64 and 256 bytes (kvd's objects are 16-72 bytes
 * of values, a few dozen more of normal form); memcpy of the same bytes in
 * the same run as the machine's reference. Then the whole object hash of a
 * struct shaped like kvd's entry (identity, normal form of 10 members, hash;
 * pointers normalised as plain values, so without the look-ups of a real
 * pointer), read through this program's own index.
 *   bash bench/hash_bench.sh (built with hop cc, for the index) */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "digest.h"
#include "hop.h"
#include "index.h"

/* ---- BLAKE2s (RFC 7693), as digest.c had it --------------------------------------- */
struct b2s {
	uint32_t h[8], t[2];
	uint8_t buf[64];
	size_t n;
};

static const uint32_t b2s_iv[8] = { 0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
				    0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19 };
static const uint8_t b2s_sigma[10][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 }, { 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 }, { 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 }, { 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 }, { 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 }, { 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

static inline uint32_t rotr32(uint32_t x, int n) { return x >> n | x << (32 - n); }

static void b2s_compress(struct b2s *s, const uint8_t *blk, int last)
{
	uint32_t m[16], v[16];
	for (int i = 0; i < 16; i++)
		m[i] = (uint32_t)blk[4 * i] | (uint32_t)blk[4 * i + 1] << 8 | (uint32_t)blk[4 * i + 2] << 16 |
		       (uint32_t)blk[4 * i + 3] << 24;
	for (int i = 0; i < 8; i++) {
		v[i] = s->h[i];
		v[i + 8] = b2s_iv[i];
	}
	v[12] ^= s->t[0];
	v[13] ^= s->t[1];
	if (last)
		v[14] = ~v[14];
#define G(a, b, c, d, x, y)                                  \
	do {                                                 \
		v[a] = v[a] + v[b] + (x);                    \
		v[d] = rotr32(v[d] ^ v[a], 16);              \
		v[c] = v[c] + v[d];                          \
		v[b] = rotr32(v[b] ^ v[c], 12);              \
		v[a] = v[a] + v[b] + (y);                    \
		v[d] = rotr32(v[d] ^ v[a], 8);               \
		v[c] = v[c] + v[d];                          \
		v[b] = rotr32(v[b] ^ v[c], 7);               \
	} while (0)
	for (int r = 0; r < 10; r++) {
		const uint8_t *sg = b2s_sigma[r];
		G(0, 4, 8, 12, m[sg[0]], m[sg[1]]);
		G(1, 5, 9, 13, m[sg[2]], m[sg[3]]);
		G(2, 6, 10, 14, m[sg[4]], m[sg[5]]);
		G(3, 7, 11, 15, m[sg[6]], m[sg[7]]);
		G(0, 5, 10, 15, m[sg[8]], m[sg[9]]);
		G(1, 6, 11, 12, m[sg[10]], m[sg[11]]);
		G(2, 7, 8, 13, m[sg[12]], m[sg[13]]);
		G(3, 4, 9, 14, m[sg[14]], m[sg[15]]);
	}
#undef G
	for (int i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
}

static void b2s_init(struct b2s *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->h, b2s_iv, sizeof(s->h));
	s->h[0] ^= 0x01010000 ^ 32; /* no key, 32-byte digest */
}

static void b2s_count(struct b2s *s, uint32_t n)
{
	s->t[0] += n;
	if (s->t[0] < n)
		s->t[1]++;
}

static void b2s_update(struct b2s *s, const void *p, size_t n)
{
	const uint8_t *in = p;
	while (n) {
		if (s->n == 64) { /* keep the last block for final() */
			b2s_count(s, 64);
			b2s_compress(s, s->buf, 0);
			s->n = 0;
		}
		size_t k = 64 - s->n < n ? 64 - s->n : n;
		memcpy(s->buf + s->n, in, k);
		s->n += k;
		in += k;
		n -= k;
	}
}

static void b2s_final(struct b2s *s, uint8_t out[32])
{
	b2s_count(s, (uint32_t)s->n);
	memset(s->buf + s->n, 0, 64 - s->n);
	b2s_compress(s, s->buf, 1);
	for (int i = 0; i < 8; i++)
		for (int k = 0; k < 4; k++)
			out[4 * i + k] = (uint8_t)(s->h[i] >> (8 * k));
}


/* ---- an object like kvd's entry (examples/kvd/db.h) ------------------------------------ */
struct bentry {
	struct bentry *next;
	char *key;
	uint32_t klen, slen;
	uint8_t type;
	uint32_t scap;
	char *str;
	void *list;
	int64_t expire_ms;
	uint64_t hash;
};
struct bentry bench_entries[64];

static void norm_value(void *ctx, uint64_t value, uint32_t pointee, struct hop_hash *h)
{
	hop__ptr_unknown(h, value);
}

/* ---- the benchmark -------------------------------------------------------------------- */
/* CPU time of this thread: the machine is shared, and wall time would count
 * the time spent waiting for a core */
static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(void)
{
	static uint8_t buf[4096 + 256], dst[256];
	volatile uint64_t sink = 0;
	const size_t sizes[] = { 16, 64, 256 };
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	printf("ns per object (best of 5 runs of 1M objects; inputs walk a 4 KiB buffer)\n");
	printf("%6s %10s %10s %8s %10s\n", "bytes", "siphash13", "blake2s", "ratio", "memcpy");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];
		enum { N = 1000000 };
		double best[3] = { 1e30, 1e30, 1e30 };
		for (int run = 0; run < 5; run++) {
			double t0 = now_ns();
			for (int k = 0; k < N; k++) {
				struct hop_hash h;
				uint64_t out[2];
				hop__hash_init(&h);
				hop__hash_update(&h, buf + (k * 64 & 4095), n);
				hop__hash_final(&h, out);
				sink += out[0];
			}
			double t1 = now_ns();
			for (int k = 0; k < N; k++) {
				struct b2s h;
				uint8_t out[32];
				b2s_init(&h);
				b2s_update(&h, buf + (k * 64 & 4095), n);
				b2s_final(&h, out);
				sink += out[0];
			}
			double t2 = now_ns();
			for (int k = 0; k < N; k++) {
				memcpy(dst, buf + (k * 64 & 4095), n);
				__asm__ volatile("" : : "r"(dst) : "memory");
				sink += dst[n - 1];
			}
			double t3 = now_ns(), t[3] = { t1 - t0, t2 - t1, t3 - t2 };
			for (int i = 0; i < 3; i++)
				if (t[i] / N < best[i])
					best[i] = t[i] / N;
		}
		printf("%6zu %10.1f %10.1f %7.1fx %10.1f\n", n, best[0], best[1], best[1] / best[0], best[2]);
	}

	const struct hop_index *idx;
	intptr_t bias;
	struct hop_lay *l;
	if (hop__self_index(&idx, &bias) < 0 || hop__lay_new(idx, &l) < 0) {
		fprintf(stderr, "hash_bench: %s\n", hop_last_error());
		return 1;
	}
	uint32_t t = hop__lay_type(l, "struct bentry");
	if (t == HOP_NONE) {
		fprintf(stderr, "hash_bench: no type struct bentry in the index\n");
		return 1;
	}
	for (int i = 0; i < 64; i++) {
		struct bentry *e = &bench_entries[i];
		e->next = i ? &bench_entries[i - 1] : NULL;
		e->key = (char *)buf + i;
		e->klen = 16 + i;
		e->type = 1;
		e->str = (char *)buf + 64 + i;
		e->slen = e->scap = 24;
		e->expire_ms = i & 1 ? 0 : 1700000000000 + i;
		e->hash = 0x9e3779b97f4a7c15ull * (uint64_t)i;
	}
	enum { M = 1000000 };
	double best = 1e30;
	for (int run = 0; run < 5; run++) {
		double t0 = now_ns();
		for (int k = 0; k < M; k++) {
			struct hop_hash h;
			uint64_t out[2];
			const struct bentry *e = &bench_entries[k & 63];
			hop__hash_init(&h);
			hop__digest_ident_block(&h, (uint64_t)(uintptr_t)e, 1, 0, "struct bentry");
			if (hop__digest_values(l, t, 1, 0, (const uint8_t *)e, norm_value, NULL, &h) < 0)
				return 1;
			hop__hash_final(&h, out);
			sink += out[0];
		}
		double dt = (now_ns() - t0) / M;
		best = dt < best ? dt : best;
	}
	printf("object hash of a %zu-byte struct like kvd's entry (10 members): %.1f ns\n", sizeof(struct bentry),
	       best);
	hop__lay_free(l);
	return sink == 42;
}
