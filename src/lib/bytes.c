/* bytes.c -- CRC-32 (IEEE 802.3, reflected, as zlib computes it), used to
 * check every index and every wire frame. Table built once, lazily. */
#include "bytes.h"

/* slicing-by-8: eight tables, eight bytes per step (~8x the byte-wise loop;
 * the wire checks every frame of the state with it) */
static uint32_t crc_table[8][256];
static volatile int crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = crc_table[0][crc_table[t - 1][i] & 0xff] ^ (crc_table[t - 1][i] >> 8);
	__atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

#if defined(__x86_64__)
#include <immintrin.h>

/* x86_64 with PCLMULQDQ: folding by carry-less multiplication (V. Gopal et
 * al., "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ
 * Instruction", Intel, 2009), ~10x the tables; the wire checks every byte of
 * the state with it, on both sides. Bit-reflected domain of the IEEE
 * polynomial: four 128-bit lanes fold 64 bytes per step, then fold into one,
 * then 128 -> 64 -> 32 bits and a Barrett reduction. The constants are the
 * paper's: x^k mod P for each folding distance, then P and mu. */
#define CLMUL __attribute__((target("pclmul,sse4.1")))

CLMUL static inline __m128i fold(__m128i x, __m128i k, __m128i next)
{
	return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), next);
}

/* c: the running CRC, inverted; n >= 64 and a multiple of 16 */
CLMUL static uint32_t crc_clmul(uint32_t c, const uint8_t *p, size_t n)
{
	const __m128i k64 = _mm_set_epi64x(0x1c6e41596, 0x154442bd4); /* across 4 lanes (512 bits) */
	const __m128i k16 = _mm_set_epi64x(0x0ccaa009e, 0x1751997d0); /* across 128 bits */
	const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124);
	const __m128i bar = _mm_set_epi64x(0x1f7011641, 0x1db710641); /* mu, P */
	const __m128i lo = _mm_set_epi32(0, -1, 0, -1);
	__m128i a = _mm_loadu_si128((const __m128i *)p), b = _mm_loadu_si128((const __m128i *)(p + 16));
	__m128i e = _mm_loadu_si128((const __m128i *)(p + 32)), d = _mm_loadu_si128((const __m128i *)(p + 48));
	a = _mm_xor_si128(a, _mm_cvtsi32_si128((int)c));
	for (p += 64, n -= 64; n >= 64; p += 64, n -= 64) {
		a = fold(a, k64, _mm_loadu_si128((const __m128i *)p));
		b = fold(b, k64, _mm_loadu_si128((const __m128i *)(p + 16)));
		e = fold(e, k64, _mm_loadu_si128((const __m128i *)(p + 32)));
		d = fold(d, k64, _mm_loadu_si128((const __m128i *)(p + 48)));
	}
	a = fold(fold(fold(a, k16, b), k16, e), k16, d);
	for (; n >= 16; p += 16, n -= 16)
		a = fold(a, k16, _mm_loadu_si128((const __m128i *)p));
	a = _mm_xor_si128(_mm_srli_si128(a, 8), _mm_clmulepi64_si128(a, k16, 0x10));          /* 128 -> 64 */
	a = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(a, lo), k5, 0x00), _mm_srli_si128(a, 4)); /* -> 32 */
	__m128i t = _mm_clmulepi64_si128(_mm_and_si128(a, lo), bar, 0x10);
	t = _mm_clmulepi64_si128(_mm_and_si128(t, lo), bar, 0x00);
	return (uint32_t)_mm_extract_epi32(_mm_xor_si128(a, t), 1);
}

static int have_clmul(void)
{
	static volatile int have = -1; /* racing callers compute the same answer */
	if (have < 0)
		have = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
	return have;
}
#endif

uint32_t hop__crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = (const uint8_t *)buf;

	if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
		crc_init(); /* idempotent: racing callers compute the same table */
	crc = ~crc;
#if defined(__x86_64__)
	if (len >= 64 && have_clmul()) {
		size_t n = len & ~(size_t)15;
		crc = crc_clmul(crc, p, n);
		p += n;
		len -= n;
	}
#endif
	while (len >= 8) { /* bytes read one by one: any alignment, any byte order */
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^ crc_table[5][(lo >> 16) & 0xff] ^
		      crc_table[4][lo >> 24] ^ crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^
		      crc_table[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
