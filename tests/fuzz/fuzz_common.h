/* fuzz_common.h -- what the fuzz targets share: make a mutated input pass the
 * checksums, so the fuzzer reaches the decoders and the translator instead of
 * stopping at a CRC mismatch. */
#ifndef HOP_FUZZ_COMMON_H
#define HOP_FUZZ_COMMON_H

#include <stdint.h>
#include <string.h>

#include "bytes.h"

/* An index (docs/index-format.md): body length at 12, CRC of the body at 16. */
static inline void fix_index(uint8_t *b, size_t len)
{
	if (len < 56)
		return;
	uint16_t hsize = hop__get16(b + 10);
	if (hsize < 56 || hsize > len)
		return;
	hop__put32(b + 12, (uint32_t)(len - hsize));
	hop__put32(b + 16, hop__crc32(0, b + hsize, len - hsize));
}

/* An image (docs/translation.md): index length at 40, the index at 56, CRC last. */
static inline void fix_image(uint8_t *b, size_t len)
{
	if (len < 60)
		return;
	uint64_t ilen = hop__get64(b + 40);
	if (ilen <= len - 60)
		fix_index(b + 56, (size_t)ilen);
	hop__put32(b + len - 4, hop__crc32(0, b, len - 4));
}

#endif
