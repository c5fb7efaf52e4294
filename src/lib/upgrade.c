/* upgrade.c -- the old values an upgrade hook reads (hop.h hop_old_*).
 *
 * A hook runs in the NEW build, on the destination, after an object of its
 * type was translated. What the old build had -- members since removed,
 * members whose type changed so much that only the hook can convert them --
 * is only in the old bytes, laid out for the old machine (its sizes, its
 * byte order). These accessors find a member by name in the old index and
 * read it as a value, so a hook never depends on the old layout.
 */
#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "err.h"
#include "hop.h"
#include "ldouble.h"
#include "upgrade.h"

/* Find "a.b.c" in the old type: its member (the last one) and byte offset. */
static int find(const struct hop_old *old, const char *path, const struct hop_member **out, uint64_t *off)
{
	if (!old || !path || !*path)
		return hop__fail(HOP_EINVAL, "hop_old: no object or no member name");
	const struct hop_index *idx = old->idx;
	uint32_t t = old->type;
	uint64_t acc = 0;
	const struct hop_member *m = NULL;
	const char *p = path;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char name[128];
		if (n == 0 || n >= sizeof(name))
			return hop__fail(HOP_EINVAL, "hop_old: bad member path \"%s\"", path);
		memcpy(name, p, n);
		name[n] = 0;
		if (t >= idx->ntypes ||
		    (idx->types[t].kind != HOP_KIND_STRUCT && idx->types[t].kind != HOP_KIND_UNION))
			return hop__fail(HOP_EINVAL, "hop_old: %s: \"%s\" is not a struct", path, name);
		m = hop__index_member(idx, t, name);
		if (!m)
			return hop__fail(HOP_ENOENT, "hop_old: the old %s has no member %s", idx->types[t].name, name);
		acc += m->offset;
		t = m->type;
		p += n;
		if (*p == '.')
			p++;
	}
	uint64_t size = m->bit_size ? (m->bit_offset % 8 + m->bit_size + 7) / 8 : idx->types[m->type].size;
	if (acc > old->size || size > old->size - acc)
		return hop__fail(HOP_EINVAL, "hop_old: %s lies beyond the old object's %llu bytes", path,
				 (unsigned long long)old->size);
	*out = m;
	*off = acc;
	return 0;
}

int hop_old_has(const struct hop_old *old, const char *path)
{
	const struct hop_member *m;
	uint64_t off;
	return find(old, path, &m, &off) == 0;
}

/* Integer value and whether it is signed. */
static int get_int(const struct hop_old *old, const char *path, uint64_t *u, int *sg)
{
	const struct hop_member *m;
	uint64_t off;
	int rc = find(old, path, &m, &off), fmt;
	if (rc < 0)
		return rc;
	const struct hop_index *idx = old->idx;
	const struct hop_type *ty = &idx->types[m->type];
	int sc = hop__scalar(idx, m->type, sg, &fmt);
	if (sc == HOP_SC_CHAR)
		*sg = ty->enc == HOP_ENC_SIGNED_CHAR;
	else if (sc != HOP_SC_INT || ty->size > 8)
		return hop__fail(HOP_EINVAL, "hop_old: %s is a %s, not an integer", path, ty->name);
	unsigned width;
	if (m->bit_size) {
		/* bit_offset counts from the struct holding m; off already includes m->offset */
		uint64_t base = off - m->offset;
		*u = hop__bits_get(old->bytes + base, m->bit_offset, m->bit_size, idx->big_endian);
		width = m->bit_size;
	} else {
		*u = hop__get_uint(old->bytes + off, (unsigned)ty->size, idx->big_endian);
		width = (unsigned)ty->size * 8;
	}
	if (*sg && width < 64 && (*u >> (width - 1) & 1))
		*u |= ~0ull << width;
	return 0;
}

int hop_old_int(const struct hop_old *old, const char *path, long long *value)
{
	uint64_t u;
	int sg, rc = get_int(old, path, &u, &sg);
	if (rc < 0)
		return rc;
	if (!sg && u > (uint64_t)INT64_MAX)
		return hop__fail(HOP_ERANGE, "hop_old: %s = %llu does not fit a long long", path, (unsigned long long)u);
	*value = (long long)u;
	return 0;
}

int hop_old_uint(const struct hop_old *old, const char *path, unsigned long long *value)
{
	uint64_t u;
	int sg, rc = get_int(old, path, &u, &sg);
	if (rc < 0)
		return rc;
	if (sg && (int64_t)u < 0)
		return hop__fail(HOP_ERANGE, "hop_old: %s = %lld is negative", path, (long long)u);
	*value = u;
	return 0;
}

int hop_old_double(const struct hop_old *old, const char *path, double *value)
{
	const struct hop_member *m;
	uint64_t off;
	int rc = find(old, path, &m, &off), sg, fmt;
	if (rc < 0)
		return rc;
	if (m->bit_size || hop__scalar(old->idx, m->type, &sg, &fmt) != HOP_SC_FLOAT)
		return hop__fail(HOP_EINVAL, "hop_old: %s is not a floating member", path);
	struct hop_fp v;
	if (hop__fp_decode(fmt, old->bytes + off, old->idx->big_endian, &v) < 0)
		return hop__fail(HOP_EINVAL, "hop_old: %s is not a valid floating value", path);
	uint8_t b[8];
	union {
		double d;
		uint8_t b[8];
	} u;
	const uint16_t one = 1;
	int native_be = *(const uint8_t *)&one == 0;
	if (hop__fp_encode(HOP_FP_BINARY64, &v, b, native_be) < 0)
		return hop__fail(HOP_ERANGE, "hop_old: %s is not exactly a double", path);
	memcpy(u.b, b, 8);
	*value = u.d;
	return 0;
}

int hop_old_bytes(const struct hop_old *old, const char *path, void *buf, size_t len, size_t *size)
{
	const struct hop_member *m;
	uint64_t off;
	int rc = find(old, path, &m, &off);
	if (rc < 0)
		return rc;
	if (m->bit_size)
		return hop__fail(HOP_EINVAL, "hop_old: %s is a bit-field: use hop_old_int", path);
	uint64_t n = old->idx->types[m->type].size;
	if (size)
		*size = (size_t)n;
	memcpy(buf, old->bytes + off, n < len ? (size_t)n : len);
	return 0;
}

const char *hop_old_type(const struct hop_old *old)
{
	return old && old->type < old->idx->ntypes ? old->idx->types[old->type].name : "";
}
