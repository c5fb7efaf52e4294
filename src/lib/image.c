/* image.c -- read and write a saved origin state (see image.h).
 *
 *   magic "HOPIMAGE" | version u32 (2) | flags u32 (0) | bias i64 | digest 16 bytes
 *   | index length u64 | object count u64 | index bytes (index.c's format)
 *   | objects: 33-byte record (xlate.h) + its bytes, each
 *   | CRC-32 of everything before it, u32
 * All fields big-endian. Every length is checked against what is left of
 * the file before it is used, so a damaged image is refused, not trusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "elf.h"
#include "err.h"
#include "image.h"

#define IMAGE_MAGIC "HOPIMAGE"
#define IMAGE_VERSION 2 /* 1: a 32-byte BLAKE2s digest */
#define IMAGE_HEAD (8 + 4 + 4 + 8 + HOP_DIGEST_LEN + 8 + 8)
#define IMAGE_MAX_OBJS (1u << 26)

int hop__image_encode(const struct hop_index *idx, int64_t bias, struct hop_scan *s, const uint8_t digest[HOP_DIGEST_LEN],
		      uint8_t **out, size_t *len)
{
	uint8_t *ib;
	size_t ilen;
	int rc = hop__index_encode(idx, &ib, &ilen);
	if (rc < 0)
		return rc;
	size_t n = hop__scan_count(s), total = IMAGE_HEAD + ilen + 4, nlive = 0;
	for (size_t i = 0; i < n; i++) {
		const struct hop_obj *o = hop__scan_obj(s, i);
		if (o) {
			total += HOP_OBJ_HEADER + o->size;
			nlive++;
		}
	}
	uint8_t *b = malloc(total);
	if (!b) {
		free(ib);
		return hop__fail(HOP_ENOMEM, "image: %zu bytes", total);
	}
	memcpy(b, IMAGE_MAGIC, 8);
	hop__put32(b + 8, IMAGE_VERSION);
	hop__put32(b + 12, 0);
	hop__put64(b + 16, (uint64_t)bias);
	memcpy(b + 24, digest, HOP_DIGEST_LEN);
	hop__put64(b + 24 + HOP_DIGEST_LEN, ilen);
	hop__put64(b + 32 + HOP_DIGEST_LEN, nlive);
	memcpy(b + IMAGE_HEAD, ib, ilen);
	free(ib);
	size_t at = IMAGE_HEAD + ilen;
	for (size_t i = 0; i < n; i++) {
		const struct hop_obj *o = hop__scan_obj(s, i);
		if (!o)
			continue;
		hop__obj_encode(o, b + at);
		memcpy(b + at + HOP_OBJ_HEADER, (const void *)(uintptr_t)o->addr, o->size);
		at += HOP_OBJ_HEADER + o->size;
	}
	hop__put32(b + at, hop__crc32(0, b, at));
	*out = b;
	*len = total;
	return 0;
}

int hop__image_write(const char *path, const struct hop_index *idx, int64_t bias, struct hop_scan *s,
		     const uint8_t digest[HOP_DIGEST_LEN])
{
	uint8_t *b;
	size_t n;
	int rc = hop__image_encode(idx, bias, s, digest, &b, &n);
	if (rc < 0)
		return rc;
	FILE *f = fopen(path, "wb");
	if (!f) {
		free(b);
		return hop__sysfail("image %s: open", path);
	}
	size_t w = fwrite(b, 1, n, f);
	free(b);
	if (fclose(f) != 0 || w != n)
		return hop__sysfail("image %s: write", path);
	return 0;
}

int hop__image_decode(uint8_t *buf, size_t len, struct hop_image **out)
{
	struct hop_rd r;
	int rc;
	if (len < IMAGE_HEAD + 4 || memcmp(buf, IMAGE_MAGIC, 8) != 0)
		return hop__fail(HOP_EFORMAT, "image: no HOPIMAGE header (%zu bytes)", len);
	if (hop__get32(buf + len - 4) != hop__crc32(0, buf, len - 4))
		return hop__fail(HOP_EFORMAT, "image: CRC mismatch");
	hop__rd_init(&r, buf + 8, len - 8 - 4);
	uint32_t ver = hop__rd32(&r);
	if (ver != IMAGE_VERSION)
		return hop__fail(HOP_EFORMAT, "image: version %u, this reads %u (save it again with this build)", ver,
				 IMAGE_VERSION);
	hop__rd32(&r);
	struct hop_image *im = calloc(1, sizeof(*im));
	if (!im)
		return hop__fail(HOP_ENOMEM, "image: out of memory");
	im->bias = (int64_t)hop__rd64(&r);
	const uint8_t *d = hop__rd_take(&r, HOP_DIGEST_LEN);
	uint64_t ilen = hop__rd64(&r), nobjs = hop__rd64(&r);
	if (!d || r.bad || ilen > hop__rd_left(&r) || nobjs > IMAGE_MAX_OBJS ||
	    nobjs > hop__rd_left(&r) / HOP_OBJ_HEADER) {
		free(im);
		return hop__fail(HOP_EFORMAT, "image: index of %llu bytes or %llu objects beyond the file",
				 (unsigned long long)ilen, (unsigned long long)nobjs);
	}
	memcpy(im->digest, d, HOP_DIGEST_LEN);
	const uint8_t *ib = hop__rd_take(&r, (size_t)ilen);
	if ((rc = hop__index_decode(ib, (size_t)ilen, &im->idx)) < 0) {
		free(im);
		return rc;
	}
	im->objs = calloc((size_t)nobjs + 1, sizeof(*im->objs));
	im->bytes = calloc((size_t)nobjs + 1, sizeof(*im->bytes));
	if (!im->objs || !im->bytes) {
		hop__image_free(im);
		return hop__fail(HOP_ENOMEM, "image: out of memory");
	}
	for (uint64_t i = 0; i < nobjs; i++) {
		const uint8_t *h = hop__rd_take(&r, HOP_OBJ_HEADER);
		if (!h) {
			hop__image_free(im);
			return hop__fail(HOP_EFORMAT, "image: object %llu is cut off", (unsigned long long)i);
		}
		if ((rc = hop__obj_decode(h, &im->objs[i])) < 0) {
			hop__image_free(im);
			return rc;
		}
		if (im->objs[i].size > hop__rd_left(&r)) {
			rc = hop__fail(HOP_EFORMAT, "image: object %llu has %llu bytes, %zu left", (unsigned long long)i,
				       (unsigned long long)im->objs[i].size, hop__rd_left(&r));
			hop__image_free(im);
			return rc;
		}
		im->bytes[i] = hop__rd_take(&r, (size_t)im->objs[i].size);
		im->nobjs++;
	}
	if (hop__rd_left(&r)) {
		hop__image_free(im);
		return hop__fail(HOP_EFORMAT, "image: %zu bytes after the last object", hop__rd_left(&r));
	}
	im->buf = buf;
	im->len = len;
	*out = im;
	return 0;
}

int hop__image_read(const char *path, struct hop_image **out)
{
	uint8_t *b;
	size_t n;
	int rc = hop__read_file(path, &b, &n);
	if (rc < 0)
		return rc;
	rc = hop__image_decode(b, n, out);
	if (rc < 0)
		free(b);
	return rc;
}

void hop__image_free(struct hop_image *im)
{
	if (!im)
		return;
	hop__index_free(im->idx);
	free(im->objs);
	free(im->bytes);
	free(im->buf);
	free(im);
}

int hop__image_translate(const struct hop_image *im, struct hop_xlate *x)
{
	for (size_t i = 0; i < im->nobjs; i++) {
		int rc = hop__xlate_object(x, &im->objs[i], im->bytes[i]);
		if (rc < 0)
			return rc;
	}
	return hop__xlate_finish(x);
}
