/* ldouble.c -- exact conversions between the floating formats of the targets.
 *
 * Everything goes through struct hop_fp: a sign, a class and, for numbers, a
 * 128-bit significand with its top bit set and a binary exponent. 128 bits
 * hold every binary32/64, x87 and binary128 value exactly, and every IBM
 * double-double whose two halves lie within 128 bits of each other (the
 * others exist only on powerpc, and powerpc to powerpc copies bytes). 32-bit
 * targets have no __int128, so the 128-bit arithmetic is done by hand.
 */
#include <stdio.h>
#include <string.h>

#include "index.h"
#include "ldouble.h"

/* ---- 128-bit helpers ------------------------------------------------------ */
struct u128 {
	uint64_t hi, lo;
};

static int u_zero(struct u128 a) { return !a.hi && !a.lo; }

static struct u128 u_shl(struct u128 a, unsigned s)
{
	if (s == 0)
		return a;
	if (s >= 128)
		return (struct u128){ 0, 0 };
	if (s >= 64)
		return (struct u128){ a.lo << (s - 64), 0 };
	return (struct u128){ a.hi << s | a.lo >> (64 - s), a.lo << s };
}

static struct u128 u_shr(struct u128 a, unsigned s)
{
	if (s == 0)
		return a;
	if (s >= 128)
		return (struct u128){ 0, 0 };
	if (s >= 64)
		return (struct u128){ 0, a.hi >> (s - 64) };
	return (struct u128){ a.hi >> s, a.lo >> s | a.hi << (64 - s) };
}

/* Bits below position s all zero? */
static int u_low_zero(struct u128 a, unsigned s)
{
	if (s == 0)
		return 1;
	if (s >= 128)
		return u_zero(a);
	return u_zero(u_shl(a, 128 - s));
}

static unsigned u_clz(struct u128 a)
{
	if (a.hi)
		return (unsigned)__builtin_clzll(a.hi);
	if (a.lo)
		return 64 + (unsigned)__builtin_clzll(a.lo);
	return 128;
}

static unsigned u_ctz(struct u128 a)
{
	if (a.lo)
		return (unsigned)__builtin_ctzll(a.lo);
	if (a.hi)
		return 64 + (unsigned)__builtin_ctzll(a.hi);
	return 128;
}

static struct u128 u_add(struct u128 a, struct u128 b)
{
	struct u128 r = { a.hi + b.hi, a.lo + b.lo };
	if (r.lo < a.lo)
		r.hi++;
	return r;
}

static struct u128 u_sub(struct u128 a, struct u128 b)
{
	struct u128 r = { a.hi - b.hi, a.lo - b.lo };
	if (a.lo < b.lo)
		r.hi--;
	return r;
}

static int u_cmp(struct u128 a, struct u128 b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

/* Load n <= 16 bytes as an unsigned integer in the given byte order. */
static struct u128 u_load(const uint8_t *p, size_t n, int big_endian)
{
	struct u128 r = { 0, 0 };
	for (size_t i = 0; i < n; i++) {
		uint8_t b = big_endian ? p[i] : p[n - 1 - i];
		r = u_shl(r, 8);
		r.lo |= b;
	}
	return r;
}

static void u_store(struct u128 v, uint8_t *p, size_t n, int big_endian)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t b = (uint8_t)v.lo;
		if (big_endian)
			p[n - 1 - i] = b;
		else
			p[i] = b;
		v = u_shr(v, 8);
	}
}

/* value = m * 2^e (m != 0) -> normalised hop_fp. */
static void fp_from(struct hop_fp *v, int sign, struct u128 m, int32_t e)
{
	unsigned z = u_clz(m);
	m = u_shl(m, z);
	v->sign = (uint8_t)sign;
	v->cls = HOP_FPC_NUM;
	v->exp = e + 127 - (int32_t)z;
	v->mhi = m.hi;
	v->mlo = m.lo;
}

/* ---- IEEE-style formats ------------------------------------------------------ */
struct ieee {
	unsigned bytes, ebits, p; /* p: precision incl. the integer bit */
	int explicit_int;         /* x87 stores the integer bit */
};

static const struct ieee fmts[] = {
	[HOP_FP_BINARY32] = { 4, 8, 24, 0 },
	[HOP_FP_BINARY64] = { 8, 11, 53, 0 },
	[HOP_FP_X87] = { 10, 15, 64, 1 },
	[HOP_FP_BINARY128] = { 16, 15, 113, 0 },
};

int hop__fp_format(uint64_t size, int ldfmt)
{
	switch (size) {
	case 4: return HOP_FP_BINARY32;
	case 8: return HOP_FP_BINARY64;
	case 10:
	case 12: return ldfmt == HOP_LD_X87_80 ? HOP_FP_X87 : HOP_FP_BAD;
	case 16:
		switch (ldfmt) {
		case HOP_LD_X87_80: return HOP_FP_X87;
		case HOP_LD_BINARY128: return HOP_FP_BINARY128;
		case HOP_LD_IBM128: return HOP_FP_IBM128;
		}
		return HOP_FP_BAD;
	}
	return HOP_FP_BAD;
}

size_t hop__fp_bytes(int fmt)
{
	if (fmt == HOP_FP_IBM128)
		return 16;
	if (fmt < HOP_FP_BINARY32 || fmt > HOP_FP_BINARY128)
		return 0;
	return fmts[fmt].bytes;
}

static int ieee_decode(const struct ieee *f, const uint8_t *p, int big_endian, struct hop_fp *v)
{
	struct u128 raw = u_load(p, f->bytes, big_endian);
	unsigned fbits = f->explicit_int ? f->p : f->p - 1; /* stored significand bits */
	int32_t bias = (1 << (f->ebits - 1)) - 1;
	uint32_t emask = (1u << f->ebits) - 1;
	struct u128 frac = u_shr(u_shl(raw, 128 - fbits), 128 - fbits);
	uint32_t e = (uint32_t)u_shr(raw, fbits).lo & emask;
	int sign = (int)(u_shr(raw, fbits + f->ebits).lo & 1);
	struct u128 intbit = u_shl((struct u128){ 0, 1 }, f->p - 1);

	memset(v, 0, sizeof(*v));
	v->sign = (uint8_t)sign;
	if (e == emask) {
		if (f->explicit_int) {
			if (!(frac.hi & intbit.hi) && !(frac.lo & intbit.lo))
				return -1; /* pseudo-infinity / pseudo-NaN */
			frac = u_sub(frac, intbit);
		}
		v->cls = u_zero(frac) ? HOP_FPC_INF : HOP_FPC_NAN;
		return 0;
	}
	if (e == 0) {
		if (u_zero(frac)) {
			v->cls = HOP_FPC_ZERO;
			return 0;
		}
		/* denormal (x87: also pseudo-denormal, same value) */
		fp_from(v, sign, frac, 1 - bias - (int32_t)(f->p - 1));
		return 0;
	}
	if (f->explicit_int) {
		if (!(frac.hi & intbit.hi) && !(frac.lo & intbit.lo))
			return -1; /* unnormal: invalid since the 387 */
	} else {
		frac = u_add(frac, intbit);
	}
	fp_from(v, sign, frac, (int32_t)e - bias - (int32_t)(f->p - 1));
	return 0;
}

static int ieee_encode(const struct ieee *f, const struct hop_fp *v, uint8_t *p, int big_endian)
{
	unsigned fbits = f->explicit_int ? f->p : f->p - 1;
	int32_t bias = (1 << (f->ebits - 1)) - 1;
	uint32_t emask = (1u << f->ebits) - 1;
	int32_t emin = 1 - bias, emax = bias;
	struct u128 field = { 0, 0 }, sig = { 0, 0 };
	uint32_t e = 0;
	struct u128 intbit = u_shl((struct u128){ 0, 1 }, f->p - 1);

	switch (v->cls) {
	case HOP_FPC_ZERO:
		break;
	case HOP_FPC_INF:
		e = emask;
		if (f->explicit_int)
			sig = intbit;
		break;
	case HOP_FPC_NAN:
		e = emask;
		sig = u_shl((struct u128){ 0, 1 }, f->p - 2); /* quiet bit */
		if (f->explicit_int)
			sig = u_add(sig, intbit);
		break;
	case HOP_FPC_NUM: {
		struct u128 m = { v->mhi, v->mlo };
		if (!(m.hi >> 63))
			return -1; /* not normalised: damaged input */
		if (v->exp > emax)
			return -1;
		if (v->exp >= emin) {
			if (!u_low_zero(m, 128 - f->p))
				return -1;
			sig = u_shr(m, 128 - f->p);
			e = (uint32_t)(v->exp + bias);
			if (!f->explicit_int)
				sig = u_sub(sig, intbit);
		} else {
			int64_t s = 128 - (int64_t)f->p + ((int64_t)emin - v->exp);
			if (s >= 128 || !u_low_zero(m, (unsigned)s))
				return -1;
			sig = u_shr(m, (unsigned)s);
			e = 0;
		}
		break;
	}
	default:
		return -1;
	}
	field = u_shl((struct u128){ 0, v->sign & 1u }, f->ebits);
	field.lo |= e;
	field = u_add(u_shl(field, fbits), sig);
	u_store(field, p, f->bytes, big_endian);
	return 0;
}

/* ---- IBM double-double ---------------------------------------------------------- */
static int ibm_decode(const uint8_t *p, int big_endian, struct hop_fp *v)
{
	struct hop_fp h, l;
	if (ieee_decode(&fmts[HOP_FP_BINARY64], p, big_endian, &h) < 0 ||
	    ieee_decode(&fmts[HOP_FP_BINARY64], p + 8, big_endian, &l) < 0)
		return -1;
	if (h.cls != HOP_FPC_NUM || l.cls == HOP_FPC_ZERO) {
		*v = h;
		return 0;
	}
	if (l.cls != HOP_FPC_NUM)
		return -1;
	/* Exact sum: strip trailing zeros, align at the lower exponent. */
	struct u128 a = { h.mhi, h.mlo }, b = { l.mhi, l.mlo };
	int32_t ea = h.exp - 127, eb = l.exp - 127;
	unsigned za = u_ctz(a), zb = u_ctz(b);
	a = u_shr(a, za), ea += (int32_t)za;
	b = u_shr(b, zb), eb += (int32_t)zb;
	int32_t e = ea < eb ? ea : eb;
	int64_t sa = (int64_t)ea - e, sb = (int64_t)eb - e;
	if (sa + (128 - u_clz(a)) > 127 || sb + (128 - u_clz(b)) > 127)
		return -1; /* spans more than 128 bits: only powerpc holds it */
	a = u_shl(a, (unsigned)sa);
	b = u_shl(b, (unsigned)sb);
	if (h.sign == l.sign) {
		fp_from(v, h.sign, u_add(a, b), e);
		return 0;
	}
	int c = u_cmp(a, b);
	if (c == 0) {
		memset(v, 0, sizeof(*v));
		v->cls = HOP_FPC_ZERO;
		return 0;
	}
	if (c > 0)
		fp_from(v, h.sign, u_sub(a, b), e);
	else
		fp_from(v, l.sign, u_sub(b, a), e);
	return 0;
}

static int ibm_encode(const struct hop_fp *v, uint8_t *p, int big_endian)
{
	const struct ieee *d = &fmts[HOP_FP_BINARY64];
	struct hop_fp zero = { 0 };
	zero.cls = HOP_FPC_ZERO;

	if (v->cls != HOP_FPC_NUM || v->exp < -1022) {
		/* specials, and the subnormal range: only plain doubles */
		if (ieee_encode(d, v, p, big_endian) < 0)
			return -1;
		return ieee_encode(d, &zero, p + 8, big_endian);
	}
	if (v->exp > 1023)
		return -1;
	struct u128 m = { v->mhi, v->mlo };
	struct u128 top = u_shr(m, 75), rest = u_shr(u_shl(m, 53), 53);
	struct u128 half = u_shl((struct u128){ 0, 1 }, 74);
	int up = u_cmp(rest, half) > 0 || (u_cmp(rest, half) == 0 && (top.lo & 1));
	struct hop_fp hi = *v, lo = *v;
	int lo_sign = v->sign;
	struct u128 lom = rest;
	if (up) {
		top.lo += 1;
		lom = u_sub(u_shl((struct u128){ 0, 1 }, 75), rest);
		lo_sign = !v->sign;
	}
	/* hi = top * 2^(exp - 52) */
	fp_from(&hi, v->sign, top, v->exp - 52);
	if (ieee_encode(d, &hi, p, big_endian) < 0)
		return -1; /* rounded up beyond the largest double */
	if (u_zero(lom))
		return ieee_encode(d, &zero, p + 8, big_endian);
	fp_from(&lo, lo_sign, lom, v->exp - 127);
	return ieee_encode(d, &lo, p + 8, big_endian);
}

int hop__fp_decode(int fmt, const uint8_t *p, int big_endian, struct hop_fp *out)
{
	if (fmt == HOP_FP_IBM128)
		return ibm_decode(p, big_endian, out);
	if (fmt < HOP_FP_BINARY32 || fmt > HOP_FP_BINARY128)
		return -1;
	return ieee_decode(&fmts[fmt], p, big_endian, out);
}

int hop__fp_encode(int fmt, const struct hop_fp *v, uint8_t *p, int big_endian)
{
	if (fmt == HOP_FP_IBM128)
		return ibm_encode(v, p, big_endian);
	if (fmt < HOP_FP_BINARY32 || fmt > HOP_FP_BINARY128)
		return -1;
	return ieee_encode(&fmts[fmt], v, p, big_endian);
}

void hop__fp_format_str(const struct hop_fp *v, char *buf, size_t len)
{
	const char *s = v->sign ? "-" : "";
	switch (v->cls) {
	case HOP_FPC_ZERO: snprintf(buf, len, "%s0", s); return;
	case HOP_FPC_INF: snprintf(buf, len, "%sinf", s); return;
	case HOP_FPC_NAN: snprintf(buf, len, "%snan", s); return;
	}
	/* hex significand: 1.<127 bits> trimmed of trailing zeros */
	char hex[40];
	snprintf(hex, sizeof(hex), "%016llx%016llx", (unsigned long long)(v->mhi << 1 | v->mlo >> 63),
		 (unsigned long long)(v->mlo << 1));
	size_t n = strlen(hex);
	while (n > 1 && hex[n - 1] == '0')
		hex[--n] = 0;
	snprintf(buf, len, "%s0x1.%sp%+d", s, hex, (int)v->exp);
}
