/* image.h -- a saved origin state: the origin's index, its load bias, its
 * objects with their bytes, and the origin's digest, in one file.
 *
 * Used by the cross-target round-trip tests (save on one target, load on
 * another under qemu), by the fuzzers, and for debugging a translation
 * offline. The format (docs/translation.md) is fixed-width big-endian fields
 * with a magic, a version, bounded lengths and a CRC-32, never a C struct.
 */
#ifndef HOP_IMAGE_H
#define HOP_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "index.h"
#include "xlate.h"

struct hop_image {
	struct hop_index *idx;   /* decoded origin index */
	int64_t bias;
	uint8_t digest[HOP_DIGEST_LEN];
	size_t nobjs;
	struct hop_obj *objs;
	const uint8_t **bytes;   /* bytes[i]: objs[i].size bytes, inside buf */
	uint8_t *buf;            /* the whole file */
	size_t len;
};

/* Encode the scan's objects (bytes read from this process's memory). */
int hop__image_encode(const struct hop_index *idx, int64_t bias, struct hop_scan *s, const uint8_t digest[HOP_DIGEST_LEN],
		      uint8_t **out, size_t *len);
int hop__image_write(const char *path, const struct hop_index *idx, int64_t bias, struct hop_scan *s,
		     const uint8_t digest[HOP_DIGEST_LEN]);
/* Decode (takes ownership of buf on success). 0, HOP_EFORMAT or HOP_ENOMEM. */
int hop__image_decode(uint8_t *buf, size_t len, struct hop_image **out);
int hop__image_read(const char *path, struct hop_image **out);
void hop__image_free(struct hop_image *im);
/* Translate every object of the image with x, then finish. 0 or HOP_E*. */
int hop__image_translate(const struct hop_image *im, struct hop_xlate *x);

#endif
