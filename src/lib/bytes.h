/* bytes.h -- fixed-width fields in a stated byte order, and CRC-32.
 *
 * Everything hop writes to a file or the wire goes through these: big-endian
 * ("network order") fixed-width fields, never a C struct. The reader is a
 * cursor that refuses to read past its end, so a decoder cannot overrun a
 * buffer whatever the input says. */
#ifndef HOP_BYTES_H
#define HOP_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

uint32_t hop__crc32(uint32_t crc, const void *buf, size_t len);

static inline void hop__put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void hop__put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void hop__put64(uint8_t *p, uint64_t v) { hop__put32(p, (uint32_t)(v >> 32)); hop__put32(p + 4, (uint32_t)v); }
static inline uint16_t hop__get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t hop__get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t hop__get64(const uint8_t *p) { return (uint64_t)hop__get32(p) << 32 | hop__get32(p + 4); }

/* A bounded reader. Once a read fails, `bad` stays set and reads return 0. */
struct hop_rd {
	const uint8_t *p, *end;
	int bad;
};

static inline void hop__rd_init(struct hop_rd *r, const void *buf, size_t len)
{
	r->p = (const uint8_t *)buf;
	r->end = r->p + len;
	r->bad = 0;
}
static inline size_t hop__rd_left(const struct hop_rd *r) { return (size_t)(r->end - r->p); }
static inline const uint8_t *hop__rd_take(struct hop_rd *r, size_t n)
{
	const uint8_t *p = r->p;
	if (r->bad || n > hop__rd_left(r)) {
		r->bad = 1;
		return NULL;
	}
	r->p += n;
	return p;
}
static inline uint8_t hop__rd8(struct hop_rd *r) { const uint8_t *p = hop__rd_take(r, 1); return p ? p[0] : 0; }
static inline uint16_t hop__rd16(struct hop_rd *r) { const uint8_t *p = hop__rd_take(r, 2); return p ? hop__get16(p) : 0; }
static inline uint32_t hop__rd32(struct hop_rd *r) { const uint8_t *p = hop__rd_take(r, 4); return p ? hop__get32(p) : 0; }
static inline uint64_t hop__rd64(struct hop_rd *r) { const uint8_t *p = hop__rd_take(r, 8); return p ? hop__get64(p) : 0; }

#endif
