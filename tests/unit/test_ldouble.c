/* test_ldouble.c -- exact conversions between the floating formats (ldouble.c).
 *
 * Native x87 long double and __float128 give reference encodings on x86_64;
 * IBM double-double values are built from two doubles. Every value is
 * converted through every format and back; a value a format cannot hold
 * must be refused (hop's rule), never rounded. */
#include <float.h>
#include <math.h>

#include "ldouble.h"
#include "task.h"

static const int all[] = { HOP_FP_BINARY32, HOP_FP_BINARY64, HOP_FP_X87, HOP_FP_BINARY128, HOP_FP_IBM128 };

static void enc_ok(int fmt, const struct hop_fp *v, uint8_t *out, int be)
{
	memset(out, 0, 16);
	if (hop__fp_encode(fmt, v, out, be) != 0) {
		char b[80];
		hop__fp_format_str(v, b, sizeof(b));
		FAIL("format %d cannot encode %s", fmt, b);
	}
}

static int same(const struct hop_fp *a, const struct hop_fp *b)
{
	if (a->cls != b->cls || a->sign != b->sign)
		return 0;
	if (a->cls != HOP_FPC_NUM)
		return 1;
	return a->exp == b->exp && a->mhi == b->mhi && a->mlo == b->mlo;
}

/* v through fmt (both byte orders) and back must be v. */
static void round_trip(int fmt, const struct hop_fp *v)
{
	for (int be = 0; be < 2; be++) {
		uint8_t buf[16];
		struct hop_fp w;
		enc_ok(fmt, v, buf, be);
		ASSERT_EQ(hop__fp_decode(fmt, buf, be, &w), 0);
		ASSERT(same(v, &w));
	}
}

static struct hop_fp from_x87(long double x)
{
	uint8_t b[16] = { 0 };
	struct hop_fp v;
	memcpy(b, &x, 10);
	ASSERT_EQ(hop__fp_decode(HOP_FP_X87, b, 0, &v), 0);
	return v;
}

static struct hop_fp from_double(double x)
{
	struct hop_fp v;
	ASSERT_EQ(hop__fp_decode(HOP_FP_BINARY64, (uint8_t *)&x, 0, &v), 0);
	return v;
}

TEST(reference_encodings)
{
	/* x87 and binary128 encodings agree with the compiler's */
	long double xs[] = { 0.0L, -0.0L, 1.0L, -2.5L, 1.0L / 3, LDBL_MAX, LDBL_MIN, LDBL_TRUE_MIN, 1e-4940L };
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
		struct hop_fp v = from_x87(xs[i]);
		uint8_t b[16] = { 0 };
		enc_ok(HOP_FP_X87, &v, b, 0);
		ASSERT(memcmp(b, &xs[i], 10) == 0);
		/* into binary128: always exact; compare with __float128 */
		__float128 q = (__float128)xs[i];
		enc_ok(HOP_FP_BINARY128, &v, b, 0);
		ASSERT(memcmp(b, &q, 16) == 0);
		struct hop_fp w;
		ASSERT_EQ(hop__fp_decode(HOP_FP_BINARY128, b, 0, &w), 0);
		ASSERT(same(&v, &w));
	}
	double ds[] = { 0.0, 1.0, -0.1, DBL_MAX, DBL_MIN, 4.9e-324, 123456.789 };
	for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
		struct hop_fp v = from_double(ds[i]);
		long double x = ds[i];
		struct hop_fp w = from_x87(x);
		ASSERT(same(&v, &w));
		uint8_t b[16];
		enc_ok(HOP_FP_BINARY64, &v, b, 1);
		for (int k = 0; k < 8; k++)
			ASSERT_EQ(b[k], ((uint8_t *)&ds[i])[7 - k]);
	}
	float f = 3.25f;
	struct hop_fp v;
	ASSERT_EQ(hop__fp_decode(HOP_FP_BINARY32, (uint8_t *)&f, 0, &v), 0);
	ASSERT(same(&v, &(struct hop_fp){ 0 }) == 0);
	struct hop_fp w = from_double(3.25);
	ASSERT(same(&v, &w));
}

TEST(specials_everywhere)
{
	struct hop_fp z = { 0 }, nz = { 0 }, inf = { 0 }, ninf = { 0 }, nan = { 0 };
	z.cls = nz.cls = HOP_FPC_ZERO;
	nz.sign = 1;
	inf.cls = ninf.cls = HOP_FPC_INF;
	ninf.sign = 1;
	nan.cls = HOP_FPC_NAN;
	for (size_t i = 0; i < 5; i++) {
		round_trip(all[i], &z);
		round_trip(all[i], &nz);
		round_trip(all[i], &inf);
		round_trip(all[i], &ninf);
		round_trip(all[i], &nan);
	}
	/* NaN decodes as NaN from every format */
	long double ln = NAN;
	ASSERT_EQ(from_x87(ln).cls, HOP_FPC_NAN);
}

TEST(exact_values_cross_all_formats)
{
	double ds[] = { 1.0, -1.5, 0.1, 1e300, 1e-300, DBL_MIN, DBL_MAX };
	for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
		struct hop_fp v = from_double(ds[i]);
		for (size_t k = 1; k < 5; k++)
			round_trip(all[k], &v);
	}
	/* 1 + 2^-60: x87, binary128 and IBM hold it, double does not */
	struct hop_fp v = from_x87(1.0L + 0x1p-60L);
	round_trip(HOP_FP_X87, &v);
	round_trip(HOP_FP_BINARY128, &v);
	round_trip(HOP_FP_IBM128, &v);
	uint8_t b[16];
	ASSERT_EQ(hop__fp_encode(HOP_FP_BINARY64, &v, b, 0), -1);
	ASSERT_EQ(hop__fp_encode(HOP_FP_BINARY32, &v, b, 0), -1);
	/* IBM form of it: hi = 1.0, lo = 2^-60 */
	enc_ok(HOP_FP_IBM128, &v, b, 0);
	double hi, lo;
	memcpy(&hi, b, 8);
	memcpy(&lo, b + 8, 8);
	ASSERT(hi == 1.0 && lo == 0x1p-60);
}

TEST(ibm_double_double)
{
	/* hi + lo with opposite signs: 1 - 2^-80 */
	double pair[2] = { 1.0, -0x1p-80 };
	struct hop_fp v;
	ASSERT_EQ(hop__fp_decode(HOP_FP_IBM128, (uint8_t *)pair, 0, &v), 0);
	ASSERT_EQ(v.exp, -1);
	round_trip(HOP_FP_BINARY128, &v);
	uint8_t b[16];
	ASSERT_EQ(hop__fp_encode(HOP_FP_X87, &v, b, 0), -1); /* 80 significant bits */
	enc_ok(HOP_FP_IBM128, &v, b, 0);
	ASSERT(memcmp(b, pair, 16) == 0); /* canonical form: hi rounds to 1.0 */
	/* 1 + 2^-200 spans more than 128 bits: refused on decode */
	double wide[2] = { 1.0, 0x1p-200 };
	ASSERT_EQ(hop__fp_decode(HOP_FP_IBM128, (uint8_t *)wide, 0, &v), -1);
	/* x87 value with 64 significant bits: IBM holds 106 */
	v = from_x87(1.0L / 3);
	round_trip(HOP_FP_IBM128, &v);
	/* binary128's 1/3 (113 bits) does not fit IBM or x87: refused */
	__float128 q = (__float128)1 / 3;
	ASSERT_EQ(hop__fp_decode(HOP_FP_BINARY128, (uint8_t *)&q, 0, &v), 0);
	ASSERT_EQ(hop__fp_encode(HOP_FP_IBM128, &v, b, 0), -1);
	ASSERT_EQ(hop__fp_encode(HOP_FP_X87, &v, b, 0), -1);
}

TEST(range_edges)
{
	/* LDBL_MAX (x87) overflows double and IBM, fits binary128 */
	struct hop_fp v = from_x87(LDBL_MAX);
	uint8_t b[16];
	ASSERT_EQ(hop__fp_encode(HOP_FP_BINARY64, &v, b, 0), -1);
	ASSERT_EQ(hop__fp_encode(HOP_FP_IBM128, &v, b, 0), -1);
	round_trip(HOP_FP_BINARY128, &v);
	/* x87 denormal: representable as binary128 (normal there), not as double */
	v = from_x87(LDBL_TRUE_MIN);
	round_trip(HOP_FP_BINARY128, &v);
	ASSERT_EQ(hop__fp_encode(HOP_FP_BINARY64, &v, b, 0), -1);
	/* double denormals go everywhere except float */
	v = from_double(4.9e-324);
	round_trip(HOP_FP_X87, &v);
	round_trip(HOP_FP_IBM128, &v);
	ASSERT_EQ(hop__fp_encode(HOP_FP_BINARY32, &v, b, 0), -1);
	/* DBL_MAX into IBM: hi = DBL_MAX, lo = 0 */
	v = from_double(DBL_MAX);
	round_trip(HOP_FP_IBM128, &v);
	/* binary128 max fits nowhere else */
	__float128 q = 0x1.ffffffffffffffffffffffffffffp+16383Q;
	ASSERT_EQ(hop__fp_decode(HOP_FP_BINARY128, (uint8_t *)&q, 0, &v), 0);
	ASSERT_EQ(hop__fp_encode(HOP_FP_X87, &v, b, 0), -1);
}

TEST(invalid_x87_encodings)
{
	/* unnormal: exponent set, integer bit clear */
	uint8_t b[10] = { 0, 0, 0, 0, 0, 0, 0, 0x40, 0xff, 0x3f };
	struct hop_fp v;
	ASSERT_EQ(hop__fp_decode(HOP_FP_X87, b, 0, &v), -1);
	b[7] = 0xc0;
	ASSERT_EQ(hop__fp_decode(HOP_FP_X87, b, 0, &v), 0);
	ASSERT_EQ(v.exp, 0); /* 1.5 */
	ASSERT(hop__fp_format(16, 2) == HOP_FP_X87 && hop__fp_format(12, 2) == HOP_FP_X87);
	ASSERT(hop__fp_format(16, 4) == HOP_FP_IBM128 && hop__fp_format(16, 3) == HOP_FP_BINARY128);
	ASSERT(hop__fp_format(12, 3) == HOP_FP_BAD);
}

int main(void)
{
	RUN(reference_encodings);
	RUN(specials_everywhere);
	RUN(exact_values_cross_all_formats);
	RUN(ibm_double_double);
	RUN(range_edges);
	RUN(invalid_x87_encodings);
	return 0;
}
