/* index.c -- the index of an executable: build, encode, decode, verify, look up.
 *
 * Shared by the host tool (which builds an index from DWARF and encodes it)
 * and libhop (which decodes the index attached to its own executable, or the
 * index a peer sent). The binary form is specified in docs/index-format.md:
 * a fixed header with a magic, a version, the body's length and CRC-32, then
 * tables of fixed-width big-endian fields. The decoder checks every count,
 * offset and reference before it uses it; hop__index_verify() then checks
 * the meaning (sizes add up, no type contains itself), so a damaged or lying
 * index is refused with a message instead of misleading the translator.
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "err.h"
#include "index.h"

#define INDEX_MAGIC "HOPINDEX"
#define INDEX_VERSION 1
#define INDEX_HEADER_SIZE 56
#define INDEX_MAX_COUNT (1u << 24)         /* entries per table */
#define INDEX_MAX_STRTAB (256u << 20)      /* bytes of names */

#define TYPE_REC 36
#define MEMBER_REC 24
#define VAR_REC 24
#define FUNC_REC 20
#define POINT_REC 4
#define SECTION_REC 24
#define HINT_REC 4

/* ---- storage ---------------------------------------------------------------
 * Growable tables while building; names live in a chain of string chunks. */
struct chunk {
	struct chunk *next;
	size_t used, cap;
	char data[];
};

struct store {
	struct chunk *chunks;
	uint32_t cap_types, cap_members, cap_vars, cap_funcs, cap_points, cap_sections, cap_hints;
};

static struct store *store_of(struct hop_index *idx)
{
	return (struct store *)idx->storage;
}

const char *hop__index_strdup(struct hop_index *idx, const char *s)
{
	struct store *st = store_of(idx);
	size_t n = strlen(s) + 1;
	struct chunk *c = st->chunks;

	if (!c || c->cap - c->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = st->chunks;
		st->chunks = c;
	}
	char *d = c->data + c->used;
	memcpy(d, s, n);
	c->used += n;
	return d;
}

struct hop_index *hop__index_new(void)
{
	struct hop_index *idx = calloc(1, sizeof(*idx));
	if (!idx)
		return NULL;
	idx->storage = calloc(1, sizeof(struct store));
	if (!idx->storage) {
		free(idx);
		return NULL;
	}
	return idx;
}

void hop__index_free(struct hop_index *idx)
{
	if (!idx)
		return;
	struct store *st = store_of(idx);
	if (st) {
		struct chunk *c = st->chunks;
		while (c) {
			struct chunk *n = c->next;
			free(c);
			c = n;
		}
		free(st);
	}
	free(idx->types);
	free(idx->members);
	free(idx->vars);
	free(idx->funcs);
	free(idx->points);
	free(idx->sections);
	free(idx->hints);
	free(idx);
}

/* Grow *arr (of *n elements, capacity *cap) by one slot; return its index. */
static uint32_t grow(void **arr, uint32_t *n, uint32_t *cap, size_t elem)
{
	if (*n == UINT32_MAX - 1)
		return HOP_NONE;
	if (*n == *cap) {
		uint32_t nc = *cap ? *cap * 2 : 64;
		void *p = realloc(*arr, (size_t)nc * elem);
		if (!p)
			return HOP_NONE;
		*arr = p;
		*cap = nc;
	}
	return (*n)++;
}

#define ADD(idx, field, count, capf, value)                                        \
	do {                                                                       \
		uint32_t i_ = grow((void **)&(idx)->field, &(idx)->count,          \
				   &store_of(idx)->capf, sizeof(*(idx)->field));   \
		if (i_ != HOP_NONE)                                                \
			(idx)->field[i_] = (value);                                \
		return i_;                                                         \
	} while (0)

/* Names passed to add_* must already be owned by the index or be static:
 * add_* copies them. A NULL name stays NULL and fails verification. */
static const char *own(struct hop_index *idx, const char *s)
{
	return s ? hop__index_strdup(idx, s) : NULL;
}

uint32_t hop__index_add_type(struct hop_index *idx, const struct hop_type *t)
{
	struct hop_type v = *t;
	v.name = own(idx, t->name);
	ADD(idx, types, ntypes, cap_types, v);
}

uint32_t hop__index_add_member(struct hop_index *idx, const struct hop_member *m)
{
	struct hop_member v = *m;
	v.name = own(idx, m->name);
	ADD(idx, members, nmembers, cap_members, v);
}

uint32_t hop__index_add_var(struct hop_index *idx, const struct hop_var *x)
{
	struct hop_var v = *x;
	v.name = own(idx, x->name);
	ADD(idx, vars, nvars, cap_vars, v);
}

uint32_t hop__index_add_func(struct hop_index *idx, const struct hop_func *f)
{
	struct hop_func v = *f;
	v.name = own(idx, f->name);
	ADD(idx, funcs, nfuncs, cap_funcs, v);
}

uint32_t hop__index_add_point(struct hop_index *idx, const char *name)
{
	struct hop_point_entry v = { own(idx, name) };
	ADD(idx, points, npoints, cap_points, v);
}

uint32_t hop__index_add_section(struct hop_index *idx, const struct hop_section *s)
{
	struct hop_section v = *s;
	v.name = own(idx, s->name);
	ADD(idx, sections, nsections, cap_sections, v);
}

uint32_t hop__index_add_hint(struct hop_index *idx, const char *text)
{
	const char *v = own(idx, text);
	ADD(idx, hints, nhints, cap_hints, v);
}

static int func_cmp(const void *a, const void *b)
{
	const struct hop_func *x = a, *y = b;
	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	return strcmp(x->name, y->name);
}

int hop__index_finish(struct hop_index *idx)
{
	if (idx->nfuncs)
		qsort(idx->funcs, idx->nfuncs, sizeof(*idx->funcs), func_cmp);
	return hop__index_verify(idx);
}

/* ---- names ------------------------------------------------------------------ */

static const char *const arch_names[] = {
	[HOP_ARCH_UNKNOWN] = "unknown", [HOP_ARCH_X86_64] = "x86_64", [HOP_ARCH_I686] = "i686",
	[HOP_ARCH_AARCH64] = "aarch64", [HOP_ARCH_S390X] = "s390x", [HOP_ARCH_POWERPC] = "powerpc",
};

const char *hop__arch_name(int arch)
{
	if (arch < 0 || arch > HOP_ARCH_POWERPC)
		return "unknown";
	return arch_names[arch];
}

int hop__arch_by_name(const char *name)
{
	for (int a = HOP_ARCH_X86_64; a <= HOP_ARCH_POWERPC; a++)
		if (strcmp(arch_names[a], name) == 0)
			return a;
	return HOP_ARCH_UNKNOWN;
}

const char *hop__ldfmt_name(int fmt)
{
	switch (fmt) {
	case HOP_LD_BINARY64: return "binary64";
	case HOP_LD_X87_80: return "x87-80";
	case HOP_LD_BINARY128: return "binary128";
	case HOP_LD_IBM128: return "ibm128";
	}
	return "unknown";
}

const char *hop__kind_name(int kind)
{
	switch (kind) {
	case HOP_KIND_BASE: return "base";
	case HOP_KIND_ENUM: return "enum";
	case HOP_KIND_POINTER: return "pointer";
	case HOP_KIND_ARRAY: return "array";
	case HOP_KIND_STRUCT: return "struct";
	case HOP_KIND_UNION: return "union";
	case HOP_KIND_FUNCTION: return "function";
	}
	return "unknown";
}

void hop__native_target(uint8_t *arch, uint8_t *ptr_size, uint8_t *big_endian, uint8_t *ldfmt)
{
#if defined(__x86_64__)
	*arch = HOP_ARCH_X86_64;
	*ldfmt = HOP_LD_X87_80;
#elif defined(__i386__)
	*arch = HOP_ARCH_I686;
	*ldfmt = HOP_LD_X87_80;
#elif defined(__aarch64__)
	*arch = HOP_ARCH_AARCH64;
	*ldfmt = HOP_LD_BINARY128;
#elif defined(__s390x__)
	*arch = HOP_ARCH_S390X;
	*ldfmt = HOP_LD_BINARY128;
#elif defined(__powerpc__) && !defined(__powerpc64__)
	*arch = HOP_ARCH_POWERPC;
	*ldfmt = sizeof(long double) == 16 ? HOP_LD_IBM128 : HOP_LD_BINARY64;
#else
#error "hop: unsupported target"
#endif
	*ptr_size = (uint8_t)sizeof(void *);
	*big_endian = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
}

/* ---- verify ------------------------------------------------------------------ */

/* Containment (by value: struct members, array elements) must be acyclic,
 * or the translator would recurse forever. Iterative DFS with colours. */
static int check_acyclic(const struct hop_index *idx)
{
	uint8_t *colour = calloc(idx->ntypes ? idx->ntypes : 1, 1);
	uint32_t *stack = malloc(sizeof(uint32_t) * 2 * (idx->ntypes ? idx->ntypes : 1));
	int rc = 0;

	if (!colour || !stack) {
		rc = hop__fail(HOP_ENOMEM, "index: no memory to verify %u types", idx->ntypes);
		goto out;
	}
	for (uint32_t root = 0; root < idx->ntypes && rc == 0; root++) {
		if (colour[root])
			continue;
		/* stack of (type, next child position) pairs */
		uint32_t sp = 0;
		stack[sp++] = root;
		stack[sp++] = 0;
		colour[root] = 1;
		while (sp) {
			uint32_t t = stack[sp - 2], pos = stack[sp - 1];
			const struct hop_type *ty = &idx->types[t];
			uint32_t child = HOP_NONE, nchild = 0;

			if (ty->kind == HOP_KIND_ARRAY)
				nchild = 1;
			else if (ty->kind == HOP_KIND_STRUCT || ty->kind == HOP_KIND_UNION)
				nchild = ty->nmembers;
			if (pos < nchild) {
				stack[sp - 1] = pos + 1;
				child = ty->kind == HOP_KIND_ARRAY ? ty->target
								   : idx->members[ty->first_member + pos].type;
				if (child == HOP_NONE)
					continue;
				if (colour[child] == 1) {
					rc = hop__fail(HOP_EFORMAT, "index: type %u (%s) contains itself",
						       child, idx->types[child].name);
					break;
				}
				if (colour[child] == 0) {
					colour[child] = 1;
					stack[sp++] = child;
					stack[sp++] = 0;
				}
				continue;
			}
			colour[t] = 2;
			sp -= 2;
		}
	}
out:
	free(colour);
	free(stack);
	return rc;
}

static int valid_ref(const struct hop_index *idx, uint32_t t, int allow_none)
{
	return t < idx->ntypes || (allow_none && t == HOP_NONE);
}

static int verify_type(const struct hop_index *idx, uint32_t i)
{
	const struct hop_type *t = &idx->types[i];

	if (!t->name)
		return hop__fail(HOP_EFORMAT, "index: type %u has no name", i);
	switch (t->kind) {
	case HOP_KIND_BASE:
	case HOP_KIND_ENUM:
		if (t->enc == HOP_ENC_NONE || t->enc > HOP_ENC_COMPLEX)
			return hop__fail(HOP_EFORMAT, "index: type %u (%s) has bad encoding %u", i, t->name, t->enc);
		if (t->size == 0 || t->size > 32)
			return hop__fail(HOP_EFORMAT, "index: type %u (%s) has bad size %llu", i, t->name,
					 (unsigned long long)t->size);
		break;
	case HOP_KIND_POINTER:
		if (!valid_ref(idx, t->target, 1))
			return hop__fail(HOP_EFORMAT, "index: pointer type %u (%s) points to bad type %u", i, t->name, t->target);
		if (t->size != idx->pointer_size)
			return hop__fail(HOP_EFORMAT, "index: pointer type %u (%s) has size %llu, target pointers are %u",
					 i, t->name, (unsigned long long)t->size, idx->pointer_size);
		break;
	case HOP_KIND_ARRAY: {
		if (!valid_ref(idx, t->target, 0))
			return hop__fail(HOP_EFORMAT, "index: array type %u (%s) has bad element type %u", i, t->name, t->target);
		uint64_t es = idx->types[t->target].size;
		if (t->count && (es == 0 || t->count > UINT64_MAX / es || es * t->count != t->size))
			return hop__fail(HOP_EFORMAT, "index: array type %u (%s): %llu elements of %llu bytes is not %llu",
					 i, t->name, (unsigned long long)t->count, (unsigned long long)es,
					 (unsigned long long)t->size);
		if (!t->count && t->size)
			return hop__fail(HOP_EFORMAT, "index: flexible array type %u (%s) has size %llu",
					 i, t->name, (unsigned long long)t->size);
		break;
	}
	case HOP_KIND_STRUCT:
	case HOP_KIND_UNION:
		if (t->nmembers > idx->nmembers || t->first_member > idx->nmembers - t->nmembers)
			return hop__fail(HOP_EFORMAT, "index: type %u (%s) has members %u..+%u beyond %u",
					 i, t->name, t->first_member, t->nmembers, idx->nmembers);
		for (uint32_t k = 0; k < t->nmembers; k++) {
			const struct hop_member *m = &idx->members[t->first_member + k];
			if (!m->name)
				return hop__fail(HOP_EFORMAT, "index: %s member %u has no name", t->name, k);
			if (!valid_ref(idx, m->type, 0))
				return hop__fail(HOP_EFORMAT, "index: %s.%s has bad type %u", t->name, m->name, m->type);
			uint64_t ms = idx->types[m->type].size;
			if (m->bit_size) {
				if (m->bit_size > 64 || (uint64_t)m->bit_offset + m->bit_size > t->size * 8)
					return hop__fail(HOP_EFORMAT, "index: bit-field %s.%s (%u bits at bit %u) outside %llu bytes",
							 t->name, m->name, m->bit_size, m->bit_offset,
							 (unsigned long long)t->size);
			} else if (m->offset > t->size || ms > t->size - m->offset) {
				return hop__fail(HOP_EFORMAT, "index: member %s.%s (%llu bytes at %llu) outside %llu bytes",
						 t->name, m->name, (unsigned long long)ms, (unsigned long long)m->offset,
						 (unsigned long long)t->size);
			}
		}
		break;
	case HOP_KIND_FUNCTION:
		break;
	default:
		return hop__fail(HOP_EFORMAT, "index: type %u (%s) has unknown kind %u", i, t->name, t->kind);
	}
	return 0;
}

int hop__index_verify(const struct hop_index *idx)
{
	int rc;

	if (idx->arch < HOP_ARCH_X86_64 || idx->arch > HOP_ARCH_POWERPC)
		return hop__fail(HOP_EFORMAT, "index: unknown architecture %u", idx->arch);
	if (idx->pointer_size != 4 && idx->pointer_size != 8)
		return hop__fail(HOP_EFORMAT, "index: pointer size %u", idx->pointer_size);
	if (idx->big_endian > 1 || idx->long_double > HOP_LD_IBM128)
		return hop__fail(HOP_EFORMAT, "index: bad byte order %u or long double format %u",
				 idx->big_endian, idx->long_double);
	for (uint32_t i = 0; i < idx->ntypes; i++)
		if ((rc = verify_type(idx, i)) < 0)
			return rc;
	if ((rc = check_acyclic(idx)) < 0)
		return rc;
	for (uint32_t i = 0; i < idx->nvars; i++) {
		const struct hop_var *v = &idx->vars[i];
		if (!v->name || !valid_ref(idx, v->type, 0))
			return hop__fail(HOP_EFORMAT, "index: variable %u (%s) has bad type %u", i,
					 v->name ? v->name : "?", v->type);
		uint64_t ts = idx->types[v->type].size;
		if (ts && v->size != ts)
			return hop__fail(HOP_EFORMAT, "index: variable %s has size %llu, its type %s %llu", v->name,
					 (unsigned long long)v->size, idx->types[v->type].name, (unsigned long long)ts);
	}
	for (uint32_t i = 0; i < idx->nfuncs; i++) {
		if (!idx->funcs[i].name)
			return hop__fail(HOP_EFORMAT, "index: function %u has no name", i);
		if (i && idx->funcs[i].address < idx->funcs[i - 1].address)
			return hop__fail(HOP_EFORMAT, "index: functions not sorted at %s", idx->funcs[i].name);
	}
	for (uint32_t i = 0; i < idx->npoints; i++)
		if (!idx->points[i].name)
			return hop__fail(HOP_EFORMAT, "index: point %u has no name", i);
	for (uint32_t i = 0; i < idx->nsections; i++)
		if (!idx->sections[i].name || idx->sections[i].address + idx->sections[i].size < idx->sections[i].address)
			return hop__fail(HOP_EFORMAT, "index: section %u is bad", i);
	for (uint32_t i = 0; i < idx->nhints; i++)
		if (!idx->hints[i])
			return hop__fail(HOP_EFORMAT, "index: hint %u is missing", i);
	return 0;
}

/* ---- encode ------------------------------------------------------------------
 * Strings are written once each into a string table; fields hold offsets. */

struct strtab {
	uint8_t *buf;
	size_t len, cap;
};

static uint32_t strtab_add(struct strtab *s, const char *str)
{
	size_t n = strlen(str) + 1;
	if (s->len + n > s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 4096;
		while (nc < s->len + n)
			nc *= 2;
		uint8_t *p = realloc(s->buf, nc);
		if (!p)
			return HOP_NONE;
		s->buf = p;
		s->cap = nc;
	}
	uint32_t off = (uint32_t)s->len;
	memcpy(s->buf + s->len, str, n);
	s->len += n;
	return off;
}

/* Names repeat a lot ("int", member names); dedupe with a small hash table. */
struct strdedup {
	const char **keys;
	uint32_t *offs;
	size_t cap;
};

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static uint32_t intern(struct strtab *s, struct strdedup *d, const char *str)
{
	size_t m = d->cap - 1, i = str_hash(str) & m;
	while (d->keys[i]) {
		if (strcmp(d->keys[i], str) == 0)
			return d->offs[i];
		i = (i + 1) & m;
	}
	uint32_t off = strtab_add(s, str);
	d->keys[i] = str;
	d->offs[i] = off;
	return off;
}

int hop__index_encode(const struct hop_index *idx, uint8_t **out, size_t *len)
{
	struct strtab st = { 0 };
	struct strdedup dd = { 0 };
	size_t nstr = 1 + (size_t)idx->ntypes + idx->nmembers + idx->nvars + idx->nfuncs +
		      idx->npoints + idx->nsections + idx->nhints;
	uint32_t *offs = NULL;
	uint8_t *buf = NULL;
	int rc = HOP_ENOMEM;

	dd.cap = 16;
	while (dd.cap < nstr * 2)
		dd.cap *= 2;
	dd.keys = calloc(dd.cap, sizeof(*dd.keys));
	dd.offs = calloc(dd.cap, sizeof(*dd.offs));
	offs = malloc(nstr * sizeof(*offs));
	if (!dd.keys || !dd.offs || !offs)
		goto out;

	/* strings in table order: types, members, vars, funcs, points, sections, hints */
	size_t k = 0;
	for (uint32_t i = 0; i < idx->ntypes; i++) offs[k++] = intern(&st, &dd, idx->types[i].name);
	for (uint32_t i = 0; i < idx->nmembers; i++) offs[k++] = intern(&st, &dd, idx->members[i].name);
	for (uint32_t i = 0; i < idx->nvars; i++) offs[k++] = intern(&st, &dd, idx->vars[i].name);
	for (uint32_t i = 0; i < idx->nfuncs; i++) offs[k++] = intern(&st, &dd, idx->funcs[i].name);
	for (uint32_t i = 0; i < idx->npoints; i++) offs[k++] = intern(&st, &dd, idx->points[i].name);
	for (uint32_t i = 0; i < idx->nsections; i++) offs[k++] = intern(&st, &dd, idx->sections[i].name);
	for (uint32_t i = 0; i < idx->nhints; i++) offs[k++] = intern(&st, &dd, idx->hints[i]);
	for (size_t i = 0; i < k; i++)
		if (offs[i] == HOP_NONE)
			goto out;

	size_t body = st.len + (size_t)idx->ntypes * TYPE_REC + (size_t)idx->nmembers * MEMBER_REC +
		      (size_t)idx->nvars * VAR_REC + (size_t)idx->nfuncs * FUNC_REC +
		      (size_t)idx->npoints * POINT_REC + (size_t)idx->nsections * SECTION_REC +
		      (size_t)idx->nhints * HINT_REC;
	if (body > UINT32_MAX) {
		rc = hop__fail(HOP_EINVAL, "index: %zu bytes is too large to encode", body);
		goto out;
	}
	buf = malloc(INDEX_HEADER_SIZE + body);
	if (!buf)
		goto out;

	uint8_t *p = buf + INDEX_HEADER_SIZE;
	if (st.len) /* st.buf is NULL for an index without names */
		memcpy(p, st.buf, st.len);
	p += st.len;
	k = 0;
	for (uint32_t i = 0; i < idx->ntypes; i++, p += TYPE_REC) {
		const struct hop_type *t = &idx->types[i];
		hop__put32(p, offs[k++]);
		p[4] = t->kind;
		p[5] = t->enc;
		hop__put16(p + 6, t->flags);
		hop__put64(p + 8, t->size);
		hop__put32(p + 16, t->target);
		hop__put64(p + 20, t->count);
		hop__put32(p + 28, t->first_member);
		hop__put32(p + 32, t->nmembers);
	}
	for (uint32_t i = 0; i < idx->nmembers; i++, p += MEMBER_REC) {
		const struct hop_member *m = &idx->members[i];
		hop__put32(p, offs[k++]);
		hop__put32(p + 4, m->type);
		hop__put64(p + 8, m->offset);
		hop__put32(p + 16, m->bit_offset);
		hop__put32(p + 20, m->bit_size);
	}
	for (uint32_t i = 0; i < idx->nvars; i++, p += VAR_REC) {
		const struct hop_var *v = &idx->vars[i];
		hop__put32(p, offs[k++]);
		hop__put32(p + 4, v->type);
		hop__put64(p + 8, v->size);
		hop__put64(p + 16, v->address);
	}
	for (uint32_t i = 0; i < idx->nfuncs; i++, p += FUNC_REC) {
		hop__put32(p, offs[k++]);
		hop__put64(p + 4, idx->funcs[i].address);
		hop__put64(p + 12, idx->funcs[i].size);
	}
	for (uint32_t i = 0; i < idx->npoints; i++, p += POINT_REC)
		hop__put32(p, offs[k++]);
	for (uint32_t i = 0; i < idx->nsections; i++, p += SECTION_REC) {
		const struct hop_section *s = &idx->sections[i];
		hop__put32(p, offs[k++]);
		hop__put64(p + 4, s->address);
		hop__put64(p + 12, s->size);
		hop__put32(p + 20, s->flags);
	}
	for (uint32_t i = 0; i < idx->nhints; i++, p += HINT_REC)
		hop__put32(p, offs[k++]);

	/* header */
	memcpy(buf, INDEX_MAGIC, 8);
	hop__put16(buf + 8, INDEX_VERSION);
	hop__put16(buf + 10, INDEX_HEADER_SIZE);
	hop__put32(buf + 12, (uint32_t)body);
	hop__put32(buf + 16, hop__crc32(0, buf + INDEX_HEADER_SIZE, body));
	buf[20] = idx->arch;
	buf[21] = idx->pointer_size;
	buf[22] = idx->big_endian;
	buf[23] = idx->long_double;
	hop__put32(buf + 24, (uint32_t)st.len);
	hop__put32(buf + 28, idx->ntypes);
	hop__put32(buf + 32, idx->nmembers);
	hop__put32(buf + 36, idx->nvars);
	hop__put32(buf + 40, idx->nfuncs);
	hop__put32(buf + 44, idx->npoints);
	hop__put32(buf + 48, idx->nsections);
	hop__put32(buf + 52, idx->nhints);
	*out = buf;
	*len = INDEX_HEADER_SIZE + body;
	buf = NULL;
	rc = 0;
out:
	if (rc == HOP_ENOMEM)
		rc = hop__fail(HOP_ENOMEM, "index: out of memory encoding %u types", idx->ntypes);
	free(buf);
	free(st.buf);
	free(dd.keys);
	free(dd.offs);
	free(offs);
	return rc;
}

/* ---- decode ------------------------------------------------------------------ */

/* A name field: an offset into the string table that must start a string.
 * The first bad one is reported (what, entry i) and remembered in n->rc. */
struct names {
	const char *tab;
	uint32_t len;
	int rc;
};

static const char *name_at(struct names *n, uint32_t off, const char *what, uint32_t i)
{
	const char *why = NULL;
	if (off >= n->len)
		why = "is outside the string table";
	else if (off > 0 && n->tab[off - 1] != '\0')
		why = "points into the middle of a string"; /* must start one */
	if (!why)
		return n->tab + off;
	if (n->rc == 0)
		n->rc = hop__fail(HOP_EFORMAT, "index: name of %s %u: offset %u %s (%u bytes)", what, i, off, why,
				  n->len);
	return NULL;
}

int hop__index_decode(const uint8_t *buf, size_t len, struct hop_index **out)
{
	struct hop_rd r;
	uint32_t counts[8];
	static const char *const count_names[8] = { "string bytes", "types", "members", "variables",
						    "functions", "points", "sections", "hints" };
	static const size_t rec[8] = { 1, TYPE_REC, MEMBER_REC, VAR_REC, FUNC_REC, POINT_REC, SECTION_REC, HINT_REC };

	*out = NULL;
	if (len < INDEX_HEADER_SIZE)
		return hop__fail(HOP_EFORMAT, "index: truncated header (%zu bytes, need %d)", len, INDEX_HEADER_SIZE);
	if (memcmp(buf, INDEX_MAGIC, 8) != 0)
		return hop__fail(HOP_EFORMAT, "index: bad magic (not a hop index)");
	uint16_t version = hop__get16(buf + 8), hsize = hop__get16(buf + 10);
	if (version == 0 || version > INDEX_VERSION)
		return hop__fail(HOP_EFORMAT, "index: version %u, this hop reads up to %u", version, INDEX_VERSION);
	if (hsize < INDEX_HEADER_SIZE || hsize > len)
		return hop__fail(HOP_EFORMAT, "index: header size %u", hsize);
	uint32_t body = hop__get32(buf + 12);
	if (body != len - hsize)
		return hop__fail(HOP_EFORMAT, "index: body is %zu bytes, header says %u (truncated or padded)",
				 len - hsize, body);
	if (hop__crc32(0, buf + hsize, body) != hop__get32(buf + 16))
		return hop__fail(HOP_EFORMAT, "index: checksum mismatch (damaged)");

	uint64_t need = 0;
	for (int i = 0; i < 8; i++) {
		counts[i] = hop__get32(buf + 24 + 4 * i);
		if (counts[i] > (i == 0 ? INDEX_MAX_STRTAB : INDEX_MAX_COUNT))
			return hop__fail(HOP_EFORMAT, "index: %u %s is over the limit", counts[i], count_names[i]);
		need += (uint64_t)counts[i] * rec[i];
	}
	if (need != body)
		return hop__fail(HOP_EFORMAT, "index: tables need %llu bytes, body has %u",
				 (unsigned long long)need, body);
	if (counts[0] && buf[hsize + counts[0] - 1] != '\0')
		return hop__fail(HOP_EFORMAT, "index: string table not terminated");

	struct hop_index *idx = hop__index_new();
	if (!idx)
		return hop__fail(HOP_ENOMEM, "index: out of memory");
	idx->arch = buf[20];
	idx->pointer_size = buf[21];
	idx->big_endian = buf[22];
	idx->long_double = buf[23];

	/* one copy of the string table; names point into it */
	struct store *st = store_of(idx);
	struct chunk *c = malloc(sizeof(*c) + counts[0] + 1);
	if (!c)
		goto nomem;
	c->used = c->cap = counts[0];
	c->next = NULL;
	memcpy(c->data, buf + hsize, counts[0]);
	c->data[counts[0]] = '\0';
	st->chunks = c;
	struct names nm = { c->data, counts[0], 0 };

	idx->ntypes = counts[1];
	idx->nmembers = counts[2];
	idx->nvars = counts[3];
	idx->nfuncs = counts[4];
	idx->npoints = counts[5];
	idx->nsections = counts[6];
	idx->nhints = counts[7];
	idx->types = calloc(idx->ntypes + 1, sizeof(*idx->types));
	idx->members = calloc(idx->nmembers + 1, sizeof(*idx->members));
	idx->vars = calloc(idx->nvars + 1, sizeof(*idx->vars));
	idx->funcs = calloc(idx->nfuncs + 1, sizeof(*idx->funcs));
	idx->points = calloc(idx->npoints + 1, sizeof(*idx->points));
	idx->sections = calloc(idx->nsections + 1, sizeof(*idx->sections));
	idx->hints = calloc(idx->nhints + 1, sizeof(*idx->hints));
	if (!idx->types || !idx->members || !idx->vars || !idx->funcs || !idx->points || !idx->sections || !idx->hints)
		goto nomem;

	hop__rd_init(&r, buf + hsize + counts[0], body - counts[0]);
	for (uint32_t i = 0; i < idx->ntypes; i++) {
		struct hop_type *t = &idx->types[i];
		t->name = name_at(&nm, hop__rd32(&r), "type", i);
		t->kind = hop__rd8(&r);
		t->enc = hop__rd8(&r);
		t->flags = hop__rd16(&r);
		t->size = hop__rd64(&r);
		t->target = hop__rd32(&r);
		t->count = hop__rd64(&r);
		t->first_member = hop__rd32(&r);
		t->nmembers = hop__rd32(&r);
	}
	for (uint32_t i = 0; i < idx->nmembers; i++) {
		struct hop_member *m = &idx->members[i];
		m->name = name_at(&nm, hop__rd32(&r), "member", i);
		m->type = hop__rd32(&r);
		m->offset = hop__rd64(&r);
		m->bit_offset = hop__rd32(&r);
		m->bit_size = hop__rd32(&r);
	}
	for (uint32_t i = 0; i < idx->nvars; i++) {
		struct hop_var *v = &idx->vars[i];
		v->name = name_at(&nm, hop__rd32(&r), "variable", i);
		v->type = hop__rd32(&r);
		v->size = hop__rd64(&r);
		v->address = hop__rd64(&r);
	}
	for (uint32_t i = 0; i < idx->nfuncs; i++) {
		struct hop_func *f = &idx->funcs[i];
		f->name = name_at(&nm, hop__rd32(&r), "function", i);
		f->address = hop__rd64(&r);
		f->size = hop__rd64(&r);
	}
	for (uint32_t i = 0; i < idx->npoints; i++)
		idx->points[i].name = name_at(&nm, hop__rd32(&r), "point", i);
	for (uint32_t i = 0; i < idx->nsections; i++) {
		struct hop_section *s = &idx->sections[i];
		s->name = name_at(&nm, hop__rd32(&r), "section", i);
		s->address = hop__rd64(&r);
		s->size = hop__rd64(&r);
		s->flags = hop__rd32(&r);
	}
	for (uint32_t i = 0; i < idx->nhints; i++)
		idx->hints[i] = name_at(&nm, hop__rd32(&r), "hint", i);
	if (r.bad || hop__rd_left(&r) != 0) {
		hop__index_free(idx);
		return hop__fail(HOP_EFORMAT, "index: tables do not fill the body");
	}
	if (nm.rc < 0) {
		hop__index_free(idx);
		return nm.rc;
	}
	int rc = hop__index_verify(idx);
	if (rc < 0) {
		hop__index_free(idx);
		return rc;
	}
	*out = idx;
	return 0;
nomem:
	hop__index_free(idx);
	return hop__fail(HOP_ENOMEM, "index: out of memory decoding %u types", counts[1]);
}

/* ---- lookups ------------------------------------------------------------------
 * Linear: callers that look up often build their own tables. */

const struct hop_var *hop__index_var(const struct hop_index *idx, const char *name)
{
	for (uint32_t i = 0; i < idx->nvars; i++)
		if (strcmp(idx->vars[i].name, name) == 0)
			return &idx->vars[i];
	return NULL;
}

const struct hop_func *hop__index_func(const struct hop_index *idx, const char *name)
{
	for (uint32_t i = 0; i < idx->nfuncs; i++)
		if (strcmp(idx->funcs[i].name, name) == 0)
			return &idx->funcs[i];
	return NULL;
}

const struct hop_func *hop__index_func_at(const struct hop_index *idx, uint64_t addr)
{
	uint32_t lo = 0, hi = idx->nfuncs;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (idx->funcs[mid].address < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < idx->nfuncs && idx->funcs[lo].address == addr)
		return &idx->funcs[lo];
	return NULL;
}

uint32_t hop__index_type(const struct hop_index *idx, const char *name)
{
	for (uint32_t i = 0; i < idx->ntypes; i++)
		if (strcmp(idx->types[i].name, name) == 0)
			return i;
	return HOP_NONE;
}

const struct hop_member *hop__index_member(const struct hop_index *idx, uint32_t t, const char *name)
{
	if (t >= idx->ntypes)
		return NULL;
	const struct hop_type *ty = &idx->types[t];
	if (ty->kind != HOP_KIND_STRUCT && ty->kind != HOP_KIND_UNION)
		return NULL;
	for (uint32_t k = 0; k < ty->nmembers; k++)
		if (strcmp(idx->members[ty->first_member + k].name, name) == 0)
			return &idx->members[ty->first_member + k];
	return NULL;
}

uint64_t hop__type_size(const struct hop_index *idx, uint32_t t)
{
	return t < idx->ntypes ? idx->types[t].size : 0;
}
