/* ldouble.h -- floating-point formats of the five targets, converted exactly.
 *
 * float and double are IEEE binary32/binary64 everywhere we run; only their
 * byte order differs. long double is x87 80-bit extended (x86_64, i686, in 16
 * or 12 bytes), IEEE binary128 (aarch64, s390x) or IBM double-double
 * (powerpc). A value moves between formats through one exact intermediate,
 * struct hop_fp; a value the destination format cannot hold exactly is
 * refused (hop's rule: no value is translated by guess), never rounded. The
 * digest hashes the same intermediate, so equal values hash equal whatever
 * their format.
 */
#ifndef HOP_LDOUBLE_H
#define HOP_LDOUBLE_H

#include <stddef.h>
#include <stdint.h>

enum hop_fpfmt {
	HOP_FP_BAD = 0,
	HOP_FP_BINARY32 = 1,
	HOP_FP_BINARY64 = 2,
	HOP_FP_X87 = 3,       /* 10 bytes used, stored in 10, 12 or 16 */
	HOP_FP_BINARY128 = 4,
	HOP_FP_IBM128 = 5,    /* two binary64: hi (first 8 bytes), lo */
};

enum hop_fpcls { HOP_FPC_ZERO = 0, HOP_FPC_NUM = 1, HOP_FPC_INF = 2, HOP_FPC_NAN = 3 };

/* An exact value. NUM: value = (-1)^sign * m * 2^(exp - 127), where the
 * 128-bit m = mhi:mlo has its top bit set (value in [2^exp, 2^(exp+1))). */
struct hop_fp {
	uint8_t sign;
	uint8_t cls; /* enum hop_fpcls */
	int32_t exp;
	uint64_t mhi, mlo;
};

/* Format of a floating type of `size` bytes on a target whose long double
 * format is `ldfmt` (enum hop_ldfmt); HOP_FP_BAD if unknown. */
int hop__fp_format(uint64_t size, int ldfmt);
/* Bytes a format occupies at least (4, 8, 10, 16, 16). */
size_t hop__fp_bytes(int fmt);

/* Decode `p` (stored in the given byte order). 0, or -1 if the bytes are not
 * a valid value (x87 unnormal/pseudo-infinity) or (IBM) the sum of the two
 * halves spans more than 128 bits. */
int hop__fp_decode(int fmt, const uint8_t *p, int big_endian, struct hop_fp *out);
/* Encode into hop__fp_bytes(fmt) bytes at p. 0, or -1 if the value is not
 * exactly representable (too many significant bits, overflow, underflow).
 * NaN becomes the format's default quiet NaN with the same sign. */
int hop__fp_encode(int fmt, const struct hop_fp *v, uint8_t *p, int big_endian);
/* Printable value ("0x1.8p+3", "-inf", "nan") for messages. */
void hop__fp_format_str(const struct hop_fp *v, char *buf, size_t len);

#endif
