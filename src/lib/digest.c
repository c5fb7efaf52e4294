/* digest.c -- the layout-independent state digest, and the layout knowledge
 * the origin's scan and the destination's translator share.
 *
 * Origin and destination hash their own memory, each through its own index;
 * equal digests mean the state arrived exactly. So everything hashed here is
 * free of layout: members in name order, values in a normal form, pointers as
 * what they designate. The hash is SipHash-1-3 (below), written out here
 * because libhop uses libc only; it is a consistency check, not security.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "err.h"
#include "heap.h"
#include "ldouble.h"

/* ---- the object hash: SipHash-1-3, 128-bit output ------------------------------- */
/* SipHash (Aumasson, Bernstein 2012) with 1 round per word and 3 at the end,
 * the 128-bit output variant. Why not a cryptographic hash: the digest guards
 * against hop's own translation bugs, not an attacker (the peer holds the
 * token and could lie anyway); what it needs is output that looks random for
 * any change of the stream (so a sum of object hashes keeps 2^-128 odds of
 * missing one) at a small cost per object: most objects are a few dozen
 * bytes, where BLAKE2s paid a 64-byte, 10-round block at least, ten times
 * this. HOP_SIP_C/HOP_SIP_D exist for tests/digest/t_siphash_ref.sh, which
 * checks the same code as SipHash-2-4 against libsodium. */
#ifndef HOP_SIP_C
#define HOP_SIP_C 1
#define HOP_SIP_D 3
#endif

/* The digest's key: fixed, so both sides agree; it names the stream's version. */
static const uint8_t digest_key[16] = { 'h', 'o', 'p', ' ', 's', 't', 'a', 't',
					'e', ' ', 'd', 'i', 'g', 'e', 's', 't' };

static inline uint64_t rotl64(uint64_t x, int n) { return x << n | x >> (64 - n); }

static inline uint64_t le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

#define SIPROUND(v0, v1, v2, v3)                      \
	do {                                          \
		v0 += v1;                             \
		v1 = rotl64(v1, 13);                  \
		v1 ^= v0;                             \
		v0 = rotl64(v0, 32);                  \
		v2 += v3;                             \
		v3 = rotl64(v3, 16);                  \
		v3 ^= v2;                             \
		v0 += v3;                             \
		v3 = rotl64(v3, 21);                  \
		v3 ^= v0;                             \
		v2 += v1;                             \
		v1 = rotl64(v1, 17);                  \
		v1 ^= v2;                             \
		v2 = rotl64(v2, 32);                  \
	} while (0)

static inline void sip_word(struct hop_hash *h, uint64_t m)
{
	uint64_t v0 = h->v0, v1 = h->v1, v2 = h->v2, v3 = h->v3 ^ m;
	for (int r = 0; r < HOP_SIP_C; r++)
		SIPROUND(v0, v1, v2, v3);
	h->v0 = v0 ^ m;
	h->v1 = v1;
	h->v2 = v2;
	h->v3 = v3;
}

void hop__hash_init_key(struct hop_hash *h, const uint8_t key[16])
{
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	h->v0 = k0 ^ 0x736f6d6570736575ull;
	h->v1 = k1 ^ 0x646f72616e646f6dull ^ 0xee; /* 0xee: the 128-bit output variant */
	h->v2 = k0 ^ 0x6c7967656e657261ull;
	h->v3 = k1 ^ 0x7465646279746573ull;
	h->acc = 0;
	h->len = 0;
}

void hop__hash_init(struct hop_hash *h)
{
	hop__hash_init_key(h, digest_key);
}

/* The emitters the normal form is made of: one byte, 8 bytes of a value
 * (little-endian), a tag byte with 8 bytes, and a run of bytes. They add to
 * the pending word by shifts in registers and store it once, so a scalar
 * costs a word's round, not byte-by-byte copies into a buffer. */
static inline void hash_u8(struct hop_hash *h, uint8_t c)
{
	unsigned k = (unsigned)(h->len & 7);
	uint64_t acc = h->acc | (uint64_t)c << (8 * k);
	h->len++;
	if (k == 7) {
		sip_word(h, acc);
		acc = 0;
	}
	h->acc = acc;
}

static inline void hash_u64(struct hop_hash *h, uint64_t v)
{
	unsigned s = 8 * (unsigned)(h->len & 7);
	h->len += 8;
	if (!s) {
		sip_word(h, v);
		return;
	}
	sip_word(h, h->acc | v << s);
	h->acc = v >> (64 - s);
}

static inline void hash_tagged(struct hop_hash *h, uint8_t tag, uint64_t v)
{
	unsigned k = (unsigned)(h->len & 7);
	uint64_t acc = h->acc | (uint64_t)tag << (8 * k);
	h->len += 9;
	if (k == 7) { /* the tag ends a word; the value is one */
		sip_word(h, acc);
		sip_word(h, v);
		h->acc = 0;
		return;
	}
	unsigned s = 8 * (k + 1);
	sip_word(h, acc | v << s);
	h->acc = v >> (64 - s);
}

/* n (1..8) bytes packed little-endian in w (zero above them): a member's name */
static inline void hash_small(struct hop_hash *h, uint64_t w, unsigned n)
{
	unsigned k = (unsigned)(h->len & 7);
	uint64_t acc = h->acc | w << (8 * k);
	h->len += n;
	if (k + n >= 8) {
		sip_word(h, acc);
		acc = k ? w >> (64 - 8 * k) : 0;
	}
	h->acc = acc;
}

static inline __attribute__((always_inline)) void hash_bytes(struct hop_hash *h, const uint8_t *in, size_t n)
{
	unsigned k = (unsigned)(h->len & 7);
	uint64_t acc = h->acc;
	h->len += n;
	if (k) { /* complete the pending word first */
		unsigned take = 8 - k;
		if (n < take) {
			for (size_t i = 0; i < n; i++)
				acc |= (uint64_t)in[i] << (8 * (k + i));
			h->acc = acc;
			return;
		}
		for (unsigned i = 0; i < take; i++)
			acc |= (uint64_t)in[i] << (8 * (k + i));
		sip_word(h, acc);
		in += take;
		n -= take;
	}
	if (n >= 8) { /* whole words straight from the input, the state in registers */
		uint64_t v0 = h->v0, v1 = h->v1, v2 = h->v2, v3 = h->v3;
		for (; n >= 8; n -= 8, in += 8) {
			uint64_t m = le64(in);
			v3 ^= m;
			for (int r = 0; r < HOP_SIP_C; r++)
				SIPROUND(v0, v1, v2, v3);
			v0 ^= m;
		}
		h->v0 = v0, h->v1 = v1, h->v2 = v2, h->v3 = v3;
	}
	acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= (uint64_t)in[i] << (8 * i);
	h->acc = acc;
}

void hop__hash_update(struct hop_hash *h, const void *p, size_t n)
{
	hash_bytes(h, p, n);
}

void hop__hash_final(struct hop_hash *h, uint64_t out[2])
{
	uint64_t b = h->acc | h->len << 56;
	uint64_t v0 = h->v0, v1 = h->v1, v2 = h->v2, v3 = h->v3 ^ b;
	for (int r = 0; r < HOP_SIP_C; r++)
		SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xee;
	for (int r = 0; r < HOP_SIP_D; r++)
		SIPROUND(v0, v1, v2, v3);
	out[0] = v0 ^ v1 ^ v2 ^ v3;
	v1 ^= 0xdd;
	for (int r = 0; r < HOP_SIP_D; r++)
		SIPROUND(v0, v1, v2, v3);
	out[1] = v0 ^ v1 ^ v2 ^ v3;
}

void hop__digest_add(uint64_t sum[2], const uint64_t hash[2])
{
	sum[0] += hash[0];
	sum[1] += hash[1];
}

void hop__digest_sub(uint64_t sum[2], const uint64_t hash[2])
{
	sum[0] -= hash[0];
	sum[1] -= hash[1];
}

void hop__digest_out(const uint64_t sum[2], uint8_t out[HOP_DIGEST_LEN])
{
	for (int i = 0; i < 2; i++)
		for (int k = 0; k < 8; k++)
			out[8 * i + k] = (uint8_t)(sum[i] >> (8 * k));
}

/* ---- scalars -------------------------------------------------------------------- */
int hop__scalar(const struct hop_index *idx, uint32_t t, int *is_signed, int *fmt)
{
	if (t >= idx->ntypes)
		return HOP_SC_NONE;
	const struct hop_type *ty = &idx->types[t];
	*is_signed = 0;
	*fmt = 0;
	switch (ty->kind) {
	case HOP_KIND_POINTER:
		return HOP_SC_PTR;
	case HOP_KIND_BASE:
	case HOP_KIND_ENUM:
		switch (ty->enc) {
		case HOP_ENC_SIGNED:
			*is_signed = 1;
			return HOP_SC_INT;
		case HOP_ENC_UNSIGNED:
		case HOP_ENC_BOOL:
			return HOP_SC_INT;
		case HOP_ENC_SIGNED_CHAR:
		case HOP_ENC_UNSIGNED_CHAR:
			if (ty->size != 1) { /* wchar-like: an integer */
				*is_signed = ty->enc == HOP_ENC_SIGNED_CHAR;
				return HOP_SC_INT;
			}
			return HOP_SC_CHAR;
		case HOP_ENC_FLOAT:
			*fmt = hop__fp_format(ty->size, idx->long_double);
			return HOP_SC_FLOAT;
		case HOP_ENC_COMPLEX:
			*fmt = hop__fp_format(ty->size / 2, idx->long_double);
			return HOP_SC_COMPLEX;
		}
	}
	return HOP_SC_NONE;
}

/* the common sizes as one load (the compiler merges the byte reads) */
static inline uint64_t be64(const uint8_t *p)
{
	return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 | (uint64_t)p[3] << 32 |
	       (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 | (uint64_t)p[6] << 8 | (uint64_t)p[7];
}

static inline uint64_t get_uint(const uint8_t *p, unsigned size, int big_endian)
{
	switch (size) {
	case 1:
		return p[0];
	case 2:
		return big_endian ? (uint64_t)p[0] << 8 | p[1] : (uint64_t)p[1] << 8 | p[0];
	case 4:
		return big_endian ? (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3]
				  : (uint64_t)p[3] << 24 | (uint64_t)p[2] << 16 | (uint64_t)p[1] << 8 | p[0];
	case 8:
		return big_endian ? be64(p) : le64(p);
	}
	uint64_t v = 0;
	if (big_endian)
		for (unsigned i = 0; i < size; i++)
			v = v << 8 | p[i];
	else
		for (unsigned i = size; i-- > 0;)
			v = v << 8 | p[i];
	return v;
}

uint64_t hop__get_uint(const uint8_t *p, unsigned size, int big_endian)
{
	return get_uint(p, size, big_endian);
}

void hop__put_uint(uint8_t *p, unsigned size, int big_endian, uint64_t v)
{
	for (unsigned i = 0; i < size; i++) {
		p[big_endian ? size - 1 - i : i] = (uint8_t)v;
		v = size > 8 || i >= 7 ? 0 : v >> 8;
	}
}

/* Bit k of the struct: little endian counts from the LSB of byte 0, big
 * endian from the MSB of byte 0. The value's most significant bit is the
 * highest-numbered bit on little endian, the lowest-numbered on big endian. */
uint64_t hop__bits_get(const uint8_t *base, uint64_t bit, unsigned width, int big_endian)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < width; i++) {
		uint64_t k = big_endian ? bit + i : bit + width - 1 - i; /* MSB first */
		unsigned b = big_endian ? 7 - (unsigned)(k & 7) : (unsigned)(k & 7);
		v = v << 1 | ((base[k >> 3] >> b) & 1);
	}
	return v;
}

void hop__bits_put(uint8_t *base, uint64_t bit, unsigned width, int big_endian, uint64_t v)
{
	for (unsigned i = 0; i < width; i++) {
		uint64_t k = big_endian ? bit + width - 1 - i : bit + i; /* LSB first */
		unsigned b = big_endian ? 7 - (unsigned)(k & 7) : (unsigned)(k & 7);
		base[k >> 3] = (uint8_t)((base[k >> 3] & ~(1u << b)) | ((v & 1) << b));
		v >>= 1;
	}
}

/* ---- the layout cache ------------------------------------------------------------ */
#define LAY_PTR_KNOWN 0x1
#define LAY_HAS_PTR 0x2

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static uint32_t pow2_above(uint32_t n)
{
	uint32_t c = 16;
	while (c < n * 2 && c < (1u << 30))
		c <<= 1;
	return c;
}

int hop__lay_new(const struct hop_index *idx, struct hop_lay **out)
{
	struct hop_lay *l = calloc(1, sizeof(*l));
	int rc;
	if (!l)
		return hop__fail(HOP_ENOMEM, "layout: out of memory");
	l->idx = idx;
	if ((rc = hop__hints_new(idx, &l->hints)) < 0) {
		free(l);
		return rc;
	}
	l->tflags = calloc(idx->ntypes + 1, 1);
	l->scal = calloc(idx->ntypes + 1, 1);
	l->plans = calloc(idx->ntypes + 1, sizeof(*l->plans));
	l->names_cap = pow2_above(idx->ntypes);
	l->names = malloc(sizeof(uint32_t) * l->names_cap);
	l->vnames_cap = pow2_above(idx->nvars);
	l->vnames = malloc(sizeof(uint32_t) * l->vnames_cap);
	l->vsorted = malloc(sizeof(uint32_t) * (idx->nvars + 1));
	if (!l->tflags || !l->scal || !l->plans || !l->names || !l->vnames || !l->vsorted) {
		hop__lay_free(l);
		return hop__fail(HOP_ENOMEM, "layout: out of memory");
	}
	memset(l->names, 0xff, sizeof(uint32_t) * l->names_cap);
	memset(l->vnames, 0xff, sizeof(uint32_t) * l->vnames_cap);
	for (uint32_t t = 0; t < idx->ntypes; t++) {
		uint32_t m = l->names_cap - 1, h = str_hash(idx->types[t].name) & m;
		for (;; h = (h + 1) & m) {
			uint32_t o = l->names[h];
			if (o == HOP_NONE) {
				l->names[h] = t;
				break;
			}
			if (!strcmp(idx->types[o].name, idx->types[t].name)) {
				/* prefer a complete definition over a declaration */
				if ((idx->types[o].flags & HOP_TF_DECLARATION) && !(idx->types[t].flags & HOP_TF_DECLARATION))
					l->names[h] = t;
				break;
			}
		}
	}
	for (uint32_t v = 0; v < idx->nvars; v++) {
		uint32_t m = l->vnames_cap - 1, h = str_hash(idx->vars[v].name) & m;
		for (;; h = (h + 1) & m) {
			uint32_t o = l->vnames[h];
			if (o == HOP_NONE) {
				l->vnames[h] = v;
				break;
			}
			if (!strcmp(idx->vars[o].name, idx->vars[v].name))
				break;
		}
		if (idx->vars[v].size)
			l->vsorted[l->nvsorted++] = v;
	}
	/* insertion-free sort of vars by address */
	const struct hop_var *vars = idx->vars;
	for (uint32_t gap = l->nvsorted / 2; gap; gap /= 2) /* shell sort: no global for qsort */
		for (uint32_t i = gap; i < l->nvsorted; i++)
			for (uint32_t j = i; j >= gap && vars[l->vsorted[j - gap]].address > vars[l->vsorted[j]].address;
			     j -= gap) {
				uint32_t tmp = l->vsorted[j];
				l->vsorted[j] = l->vsorted[j - gap];
				l->vsorted[j - gap] = tmp;
			}
	*out = l;
	return 0;
}

void hop__lay_free(struct hop_lay *l)
{
	if (!l)
		return;
	if (l->plans)
		for (uint32_t t = 0; t < l->idx->ntypes; t++)
			free(l->plans[t]);
	free(l->plans);
	free(l->tflags);
	free(l->scal);
	free(l->names);
	free(l->vnames);
	free(l->vsorted);
	hop__hints_free(l->hints);
	free(l);
}

uint32_t hop__lay_type(const struct hop_lay *l, const char *name)
{
	uint32_t m = l->names_cap - 1, h = str_hash(name) & m;
	for (;; h = (h + 1) & m) {
		uint32_t o = l->names[h];
		if (o == HOP_NONE || !strcmp(l->idx->types[o].name, name))
			return o;
	}
}

uint32_t hop__lay_var(const struct hop_lay *l, const char *name)
{
	uint32_t m = l->vnames_cap - 1, h = str_hash(name) & m;
	for (;; h = (h + 1) & m) {
		uint32_t o = l->vnames[h];
		if (o == HOP_NONE || !strcmp(l->idx->vars[o].name, name))
			return o;
	}
}

int hop__lay_var_at(const struct hop_lay *l, uint64_t a, uint32_t *var, uint64_t *off)
{
	const struct hop_var *vars = l->idx->vars;
	uint32_t lo = 0, hi = l->nvsorted;
	while (lo < hi) { /* first var starting above a */
		uint32_t mid = lo + (hi - lo) / 2;
		if (vars[l->vsorted[mid]].address <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	const struct hop_var *v = &vars[l->vsorted[lo - 1]];
	if (a - v->address > v->size)
		return 0;
	*var = l->vsorted[lo - 1];
	*off = a - v->address;
	return 1;
}

int hop__lay_has_ptr(struct hop_lay *l, uint32_t t)
{
	const struct hop_index *idx = l->idx;
	if (t >= idx->ntypes)
		return 0;
	if (l->tflags[t] & LAY_PTR_KNOWN)
		return !!(l->tflags[t] & LAY_HAS_PTR);
	const struct hop_type *ty = &idx->types[t];
	int has = 0;
	switch (ty->kind) {
	case HOP_KIND_POINTER:
		has = 1;
		break;
	case HOP_KIND_ARRAY:
		has = hop__lay_has_ptr(l, ty->target); /* acyclic: the index verified it */
		break;
	case HOP_KIND_STRUCT:
	case HOP_KIND_UNION:
		for (uint32_t k = 0; k < ty->nmembers && !has; k++)
			has = hop__lay_has_ptr(l, idx->members[ty->first_member + k].type);
		break;
	}
	l->tflags[t] |= LAY_PTR_KNOWN | (has ? LAY_HAS_PTR : 0);
	return has;
}

uint32_t hop__lay_union_rep(const struct hop_lay *l, uint32_t u)
{
	const struct hop_index *idx = l->idx;
	const struct hop_type *ty = &idx->types[u];
	uint32_t best = HOP_NONE;
	uint64_t bs = 0;
	for (uint32_t k = 0; k < ty->nmembers; k++) {
		const struct hop_member *m = &idx->members[ty->first_member + k];
		uint64_t s = idx->types[m->type].size;
		if (best == HOP_NONE || s > bs) {
			best = ty->first_member + k;
			bs = s;
		}
	}
	return best;
}

const struct hop_member *hop__lay_fam(const struct hop_lay *l, uint32_t t)
{
	const struct hop_index *idx = l->idx;
	if (t >= idx->ntypes || idx->types[t].kind != HOP_KIND_STRUCT || !idx->types[t].nmembers)
		return NULL;
	const struct hop_type *ty = &idx->types[t];
	const struct hop_member *m = &idx->members[ty->first_member + ty->nmembers - 1];
	const struct hop_type *mt = &idx->types[m->type];
	if (mt->kind == HOP_KIND_ARRAY && mt->count == 0 && !m->bit_size && idx->types[mt->target].size)
		return m;
	return NULL;
}

int hop__same_type(const struct hop_index *idx, uint32_t a, uint32_t b)
{
	if (a == b)
		return 1;
	if (a >= idx->ntypes || b >= idx->ntypes)
		return 0;
	const struct hop_type *x = &idx->types[a], *y = &idx->types[b];
	return x->kind == y->kind && x->size == y->size && !strcmp(x->name, y->name);
}

int hop__is_sub(const struct hop_index *idx, uint32_t t, uint64_t off, uint32_t s)
{
	for (int depth = 0; depth < 64 && t < idx->ntypes; depth++) {
		const struct hop_type *ty = &idx->types[t];
		if (off == 0 && hop__same_type(idx, t, s))
			return 1;
		if (ty->kind == HOP_KIND_ARRAY) {
			uint64_t es = idx->types[ty->target].size;
			if (!es)
				return 0;
			t = ty->target;
			off %= es;
			continue;
		}
		if (ty->kind != HOP_KIND_STRUCT && ty->kind != HOP_KIND_UNION)
			return 0;
		uint32_t next = HOP_NONE;
		uint64_t noff = 0;
		for (uint32_t k = 0; k < ty->nmembers; k++) {
			const struct hop_member *m = &idx->members[ty->first_member + k];
			const struct hop_type *mt = &idx->types[m->type];
			if (m->bit_size)
				continue;
			int fam = mt->kind == HOP_KIND_ARRAY && mt->count == 0;
			if (off >= m->offset && (fam || off - m->offset < mt->size)) {
				if (ty->kind == HOP_KIND_UNION && off == m->offset && hop__same_type(idx, m->type, s))
					return 1;
				if (next == HOP_NONE) {
					next = m->type;
					noff = off - m->offset;
				}
			}
		}
		if (next == HOP_NONE)
			return 0;
		t = next;
		off = noff;
	}
	return 0;
}

int hop__read_tag(const struct hop_index *idx, const struct hop_member *tag, const uint8_t *sbase, int64_t *v)
{
	int sg, fmt;
	int sc = hop__scalar(idx, tag->type, &sg, &fmt);
	if (sc != HOP_SC_INT && sc != HOP_SC_CHAR)
		return -1;
	if (sc == HOP_SC_CHAR)
		sg = idx->types[tag->type].enc == HOP_ENC_SIGNED_CHAR;
	uint64_t u;
	unsigned w;
	if (tag->bit_size) {
		w = tag->bit_size;
		u = hop__bits_get(sbase, tag->bit_offset, w, idx->big_endian);
	} else {
		w = (unsigned)idx->types[tag->type].size * 8;
		if (w > 64)
			return -1;
		u = hop__get_uint(sbase + tag->offset, w / 8, idx->big_endian);
	}
	if (sg && w < 64 && (u >> (w - 1) & 1))
		u |= ~0ull << w;
	*v = (int64_t)u;
	return 0;
}

int hop__union_live(struct hop_lay *l, uint32_t st, const struct hop_member *um, const uint8_t *sbase,
		    uint32_t *member, int *has)
{
	const struct hop_index *idx = l->idx;
	const struct hop_union_hint *uh = hop__hint_union(l->hints, idx->types[st].name, um->name);
	*has = 0;
	if (!uh)
		return 0;
	*has = 1;
	const struct hop_member *tag = hop__index_member(idx, st, uh->tag);
	if (!tag)
		return hop__fail(HOP_EHINT, "HOP_UNION_TAG(%s, %s, %s): %s has no member %s", uh->stype, uh->umember,
				 uh->tag, uh->stype, uh->tag);
	int64_t v;
	if (hop__read_tag(idx, tag, sbase, &v) < 0)
		return hop__fail(HOP_EHINT, "HOP_UNION_TAG(%s, %s, %s): the tag is not an integer", uh->stype,
				 uh->umember, uh->tag);
	for (uint32_t i = 0; i < uh->ncases; i++) {
		if (uh->cases[i].value != v)
			continue;
		const struct hop_member *m = hop__index_member(idx, um->type, uh->cases[i].member);
		if (!m)
			return hop__fail(HOP_EHINT, "HOP_UNION_CASE(%s, %s, %lld, %s): the union has no member %s",
					 uh->stype, uh->umember, (long long)v, uh->cases[i].member, uh->cases[i].member);
		*member = (uint32_t)(m - idx->members);
		return 0;
	}
	return hop__fail(HOP_EHINT, "%s.%s: tag %s is %lld, which no HOP_UNION_CASE(%s, %s, %lld, <member>) names",
			 uh->stype, uh->umember, uh->tag, (long long)v, uh->stype, uh->umember, (long long)v);
}

/* ---- paths ------------------------------------------------------------------------ */
struct sbuf {
	char *p;
	size_t len, n;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	if (b->n >= b->len)
		return;
	va_start(ap, fmt);
	int k = vsnprintf(b->p + b->n, b->len - b->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		b->n = b->n + (size_t)k < b->len ? b->n + (size_t)k : b->len - 1;
}

/* ".m[3].y" for byte off in a value of type t */
static void member_path(const struct hop_index *idx, uint32_t t, uint64_t off, struct sbuf *b)
{
	for (int depth = 0; depth < 64 && t < idx->ntypes; depth++) {
		const struct hop_type *ty = &idx->types[t];
		if (ty->kind == HOP_KIND_ARRAY) {
			uint64_t es = idx->types[ty->target].size;
			if (!es)
				return;
			sb_add(b, "[%llu]", (unsigned long long)(off / es));
			off %= es;
			t = ty->target;
			continue;
		}
		if (ty->kind == HOP_KIND_UNION)
			return; /* which member is meant is not known here */
		if (ty->kind == HOP_KIND_STRUCT) {
			const struct hop_member *hit = NULL;
			for (uint32_t k = 0; k < ty->nmembers && !hit; k++) {
				const struct hop_member *m = &idx->members[ty->first_member + k];
				const struct hop_type *mt = &idx->types[m->type];
				int fam = mt->kind == HOP_KIND_ARRAY && mt->count == 0;
				if (m->bit_size) {
					if (off * 8 + 7 >= m->bit_offset && off * 8 < (uint64_t)m->bit_offset + m->bit_size)
						hit = m;
				} else if (off >= m->offset && (fam || off - m->offset < mt->size)) {
					hit = m;
				}
			}
			if (!hit) {
				if (off)
					sb_add(b, "+%llu", (unsigned long long)off);
				return;
			}
			sb_add(b, ".%s", hit->name);
			if (hit->bit_size)
				return;
			off -= hit->offset;
			t = hit->type;
			continue;
		}
		if (off)
			sb_add(b, "+%llu", (unsigned long long)off);
		return;
	}
}

/* Path of byte off in an object reached by path `b` so far. */
static void step(const struct hop_index *idx, const struct hop_pathobj *o, uint64_t off, int is_root, struct sbuf *b)
{
	uint64_t es = o->type < idx->ntypes ? idx->types[o->type].size : 0;
	if (is_root && o->name) {
		member_path(idx, o->type, off, b);
		return;
	}
	uint64_t i = es ? off / es : 0, r = es ? off % es : off;
	int agg = o->type < idx->ntypes &&
		  (idx->types[o->type].kind == HOP_KIND_STRUCT || idx->types[o->type].kind == HOP_KIND_UNION);
	if (i == 0 && agg) {
		char tmp[512];
		struct sbuf t = { tmp, sizeof(tmp), 0 };
		tmp[0] = 0;
		member_path(idx, o->type, r, &t);
		if (tmp[0] == '.') {
			sb_add(b, "->%s", tmp + 1);
			return;
		}
		sb_add(b, "[0]%s", tmp);
		return;
	}
	sb_add(b, "[%llu]", (unsigned long long)i);
	member_path(idx, o->type, r, b);
}

void hop__path(const struct hop_index *idx, hop_pathget_fn get, void *ctx, uint32_t obj, uint64_t off,
	       char *buf, size_t len)
{
	enum { MAXCHAIN = 24 };
	struct hop_pathobj chain[MAXCHAIN];
	uint64_t offs[MAXCHAIN];
	int n = 0;
	uint64_t skipped = 0;
	struct sbuf b = { buf, len, 0 };
	uint32_t id = obj;
	uint64_t o = off;

	if (!len)
		return;
	buf[0] = 0;
	/* walk up: keep the nearest MAXCHAIN - 4 and the 4 at the root end */
	struct hop_pathobj tmp;
	for (uint64_t guard = 0; id != HOP_NONE && guard < (1u << 16); guard++) {
		if (get(ctx, id, &tmp) < 0)
			break;
		if (n < MAXCHAIN) {
			chain[n] = tmp;
			offs[n] = o;
			n++;
		} else {
			/* slide: drop index MAXCHAIN-5 (keeps the near end) */
			memmove(&chain[MAXCHAIN - 5], &chain[MAXCHAIN - 4], sizeof(chain[0]) * 4);
			memmove(&offs[MAXCHAIN - 5], &offs[MAXCHAIN - 4], sizeof(offs[0]) * 4);
			chain[MAXCHAIN - 1] = tmp;
			offs[MAXCHAIN - 1] = o;
			skipped++;
		}
		o = tmp.poff;
		id = tmp.parent;
	}
	if (n == 0) {
		sb_add(&b, "(object %u)", obj);
		return;
	}
	/* chain[n-1] is the root */
	const struct hop_pathobj *root = &chain[n - 1];
	if (root->name)
		sb_add(&b, "%s", root->name);
	else
		sb_add(&b, "(block 0x%llx)", (unsigned long long)root->addr);
	for (int k = n - 1; k >= 0; k--) {
		step(idx, &chain[k], offs[k], k == n - 1, &b);
		if (skipped && k == MAXCHAIN - 4)
			sb_add(&b, "...(%llu more)...", (unsigned long long)skipped);
	}
}

/* ---- the digest walk ------------------------------------------------------------------ */
struct dwalk {
	struct hop_lay *l;
	hop_ptrnorm_fn norm;
	void *ctx;
	struct hop_hash *h;
	int depth;
};

static void emit_int(struct hop_hash *h, int64_t v)
{
	hash_tagged(h, 'i', (uint64_t)v);
}

/* a NUL-terminated name with its NUL */
static void emit_name(struct hop_hash *h, const char *s)
{
	hop__hash_update(h, s, strlen(s) + 1);
}

static void emit_float(struct hop_hash *h, int fmt, const uint8_t *p, int be)
{
	struct hop_fp v;
	if (hop__fp_decode(fmt, p, be, &v) < 0) {
		/* not exactly decodable (x87 unnormal, wide IBM pair): raw, normalised to big endian */
		size_t n = hop__fp_bytes(fmt);
		hash_u8(h, 'F');
		for (size_t i = 0; i < n; i++)
			hash_u8(h, p[be ? i : n - 1 - i]);
		return;
	}
	/* 'f' sign class exponent (u32) significand (2 x u64), all zero but the
	 * class for zeroes, infinities and NaNs */
	int num = v.cls == HOP_FPC_NUM;
	hash_u8(h, 'f');
	hash_u8(h, v.sign);
	hash_u8(h, v.cls);
	for (int k = 0; k < 4; k++)
		hash_u8(h, num ? (uint8_t)((uint32_t)v.exp >> (8 * k)) : 0);
	hash_u64(h, num ? v.mhi : 0);
	hash_u64(h, num ? v.mlo : 0);
}

static int dwalk_value(struct dwalk *w, uint32_t t, const uint8_t *p);

/* hop__scalar, remembered per type: the walk asks it for every value. One
 * byte: known 0x80 | format << 4 | signed << 3 | class. */
static inline int lay_scalar(struct hop_lay *l, uint32_t t, int *is_signed, int *fmt)
{
	if (t >= l->idx->ntypes)
		return hop__scalar(l->idx, t, is_signed, fmt);
	uint8_t c = l->scal[t];
	if (!c) {
		int k = hop__scalar(l->idx, t, is_signed, fmt);
		c = (uint8_t)(0x80 | *fmt << 4 | *is_signed << 3 | k);
		l->scal[t] = c;
	}
	*is_signed = c >> 3 & 1;
	*fmt = c >> 4 & 7;
	return c & 7;
}

/* A struct's digest plan: its members in name order, each with what the
 * walk needs at hand (the name packed for the hash, the offset, the scalar
 * class), so the plain scalars and pointers of a struct are hashed without a
 * call, a look-up or a strlen each. Other members (bit-fields, arrays,
 * nested structs, unions, floats, the FAM) take the general path. */
enum { DS_OTHER, DS_INT, DS_CHAR, DS_PTR };
struct dstep {
	uint64_t name;    /* name and NUL, packed little-endian, when nlen <= 8 */
	uint64_t off;
	uint32_t member, nlen;
	uint32_t pointee; /* DS_PTR */
	uint8_t kind, size, sg;
};
struct hop_dplan {
	uint32_t n;
	struct dstep step[];
};

static const struct hop_dplan *lay_dplan(struct hop_lay *l, uint32_t t)
{
	if (l->plans[t])
		return l->plans[t];
	const struct hop_index *idx = l->idx;
	const struct hop_type *ty = &idx->types[t];
	struct hop_dplan *pl = malloc(sizeof(*pl) + sizeof(struct dstep) * (ty->nmembers + 1));
	if (!pl)
		return NULL;
	pl->n = ty->nmembers;
	uint32_t *o = malloc(sizeof(uint32_t) * (ty->nmembers + 1));
	if (!o) {
		free(pl);
		return NULL;
	}
	for (uint32_t k = 0; k < ty->nmembers; k++)
		o[k] = ty->first_member + k;
	/* insertion sort by name: structs are small and this runs once per type */
	for (uint32_t i = 1; i < ty->nmembers; i++)
		for (uint32_t j = i; j > 0 && strcmp(idx->members[o[j - 1]].name, idx->members[o[j]].name) > 0; j--) {
			uint32_t tmp = o[j];
			o[j] = o[j - 1];
			o[j - 1] = tmp;
		}
	for (uint32_t k = 0; k < ty->nmembers; k++) {
		struct dstep *s = &pl->step[k];
		const struct hop_member *m = &idx->members[o[k]];
		const struct hop_type *mt = &idx->types[m->type];
		size_t nl = strlen(m->name) + 1;
		int sg, fmt;
		memset(s, 0, sizeof(*s));
		s->member = o[k];
		s->nlen = (uint32_t)nl;
		for (size_t i = 0; nl <= 8 && i < nl; i++)
			s->name |= (uint64_t)(uint8_t)m->name[i] << (8 * i);
		s->off = m->offset;
		if (m->bit_size)
			continue; /* DS_OTHER */
		switch (lay_scalar(l, m->type, &sg, &fmt)) {
		case HOP_SC_INT:
			if (mt->size >= 1 && mt->size <= 8) {
				s->kind = DS_INT;
				s->size = (uint8_t)mt->size;
				s->sg = (uint8_t)sg;
			}
			break;
		case HOP_SC_CHAR:
			s->kind = DS_CHAR;
			break;
		case HOP_SC_PTR:
			s->kind = DS_PTR;
			s->pointee = mt->target;
			break;
		}
	}
	free(o);
	l->plans[t] = pl;
	return pl;
}

/* a member that is no plain scalar or pointer (its name is hashed) */
static int dwalk_member(struct dwalk *w, uint32_t t, const struct hop_member *m, const uint8_t *p)
{
	const struct hop_index *idx = w->l->idx;
	const struct hop_type *mt = &idx->types[m->type];
	int rc;
	if (m->bit_size) {
		int sg, fmt;
		lay_scalar(w->l, m->type, &sg, &fmt);
		if (mt->kind == HOP_KIND_BASE && mt->enc == HOP_ENC_SIGNED_CHAR)
			sg = 1;
		uint64_t u = hop__bits_get(p, m->bit_offset, m->bit_size, idx->big_endian);
		if (sg && m->bit_size < 64 && (u >> (m->bit_size - 1) & 1))
			u |= ~0ull << m->bit_size;
		emit_int(w->h, (int64_t)u);
		return 0;
	}
	if (mt->kind == HOP_KIND_ARRAY && mt->count == 0)
		return 0; /* flexible array member: the object walk does it */
	if (mt->kind == HOP_KIND_UNION) {
		uint32_t live;
		int has;
		if ((rc = hop__union_live(w->l, t, m, p, &live, &has)) < 0)
			return rc;
		if (has) {
			const struct hop_member *lm = &idx->members[live];
			emit_name(w->h, lm->name);
			return dwalk_value(w, lm->type, p + m->offset + lm->offset);
		}
	}
	return dwalk_value(w, m->type, p + m->offset);
}

static int dwalk_struct(struct dwalk *w, uint32_t t, const uint8_t *p)
{
	const struct hop_index *idx = w->l->idx;
	const struct hop_dplan *pl = lay_dplan(w->l, t);
	int be = idx->big_endian, rc;
	if (!pl)
		return hop__fail(HOP_ENOMEM, "digest: out of memory");
	for (uint32_t k = 0; k < pl->n; k++) {
		const struct dstep *s = &pl->step[k];
		const struct hop_member *m = &idx->members[s->member];
		if (s->nlen <= 8)
			hash_small(w->h, s->name, s->nlen);
		else
			hash_bytes(w->h, (const uint8_t *)m->name, s->nlen);
		switch (s->kind) {
		case DS_INT: { /* as dwalk_value's HOP_SC_INT */
			uint64_t u = get_uint(p + s->off, s->size, be);
			if (s->sg && s->size < 8 && (u >> (8 * s->size - 1) & 1))
				u |= ~0ull << (8 * s->size);
			hash_tagged(w->h, 'i', u);
			continue;
		}
		case DS_CHAR:
			hash_u8(w->h, p[s->off]);
			continue;
		case DS_PTR:
			w->norm(w->ctx, get_uint(p + s->off, idx->pointer_size, be), s->pointee, w->h);
			continue;
		}
		if ((rc = dwalk_member(w, t, m, p)) < 0)
			return rc;
	}
	return 0;
}

static int dwalk_value(struct dwalk *w, uint32_t t, const uint8_t *p)
{
	const struct hop_index *idx = w->l->idx;
	const struct hop_type *ty = &idx->types[t];
	int sg, fmt, rc = 0;

	if (++w->depth > 200) {
		w->depth--;
		return hop__fail(HOP_EFORMAT, "digest: types nested too deep");
	}
	switch (lay_scalar(w->l, t, &sg, &fmt)) {
	case HOP_SC_INT: {
		if (ty->size > 8) { /* __int128: bytes, normalised to big endian */
			for (uint64_t i = 0; i < ty->size; i++)
				hash_u8(w->h, p[idx->big_endian ? i : ty->size - 1 - i]);
			break;
		}
		unsigned n = (unsigned)ty->size;
		uint64_t u = hop__get_uint(p, n, idx->big_endian);
		if (sg && n < 8 && (u >> (8 * n - 1) & 1))
			u |= ~0ull << (8 * n);
		emit_int(w->h, (int64_t)u);
		break;
	}
	case HOP_SC_CHAR:
		hash_u8(w->h, *p);
		break;
	case HOP_SC_FLOAT:
		emit_float(w->h, fmt, p, idx->big_endian);
		break;
	case HOP_SC_COMPLEX:
		emit_float(w->h, fmt, p, idx->big_endian);
		emit_float(w->h, fmt, p + ty->size / 2, idx->big_endian);
		break;
	case HOP_SC_PTR:
		w->norm(w->ctx, hop__get_uint(p, idx->pointer_size, idx->big_endian), ty->target, w->h);
		break;
	default:
		if (ty->kind == HOP_KIND_ARRAY) {
			uint64_t es = idx->types[ty->target].size;
			int esg, efmt;
			if (lay_scalar(w->l, ty->target, &esg, &efmt) == HOP_SC_CHAR) {
				hop__hash_update(w->h, p, ty->count);
				break;
			}
			for (uint64_t i = 0; i < ty->count && rc == 0; i++)
				rc = dwalk_value(w, ty->target, p + i * es);
		} else if (ty->kind == HOP_KIND_STRUCT) {
			rc = dwalk_struct(w, t, p);
		} else if (ty->kind == HOP_KIND_UNION) {
			uint32_t rep = hop__lay_union_rep(w->l, t);
			if (rep != HOP_NONE) {
				const struct hop_member *m = &idx->members[rep];
				emit_name(w->h, m->name);
				rc = dwalk_value(w, m->type, p + m->offset);
			}
		}
	}
	w->depth--;
	return rc;
}

int hop__digest_values(struct hop_lay *l, uint32_t type, uint64_t count, uint64_t fam_n, const uint8_t *mem,
		       hop_ptrnorm_fn norm, void *ctx, struct hop_hash *h)
{
	const struct hop_index *idx = l->idx;
	struct dwalk w = { l, norm, ctx, h, 0 };
	int rc = 0;
	if (type >= idx->ntypes) { /* raw bytes */
		hop__hash_update(h, mem, count);
		return 0;
	}
	uint64_t es = idx->types[type].size;
	int sg, fmt;
	if (lay_scalar(l, type, &sg, &fmt) == HOP_SC_CHAR) {
		hop__hash_update(h, mem, count);
		return 0;
	}
	for (uint64_t i = 0; i < count && rc == 0; i++)
		rc = dwalk_value(&w, type, mem + i * es);
	const struct hop_member *fam = hop__lay_fam(l, type);
	if (rc == 0 && fam && fam_n) {
		uint32_t et = idx->types[fam->type].target;
		uint64_t fes = idx->types[et].size;
		for (uint64_t i = 0; i < fam_n && rc == 0; i++)
			rc = dwalk_value(&w, et, mem + fam->offset + i * fes);
	}
	return rc;
}

void hop__digest_logical(const struct hop_index *idx, uint32_t t, uint64_t count, uint64_t off, struct hop_hash *h)
{
	if (t >= idx->ntypes || !idx->types[t].size) {
		hash_tagged(h, 'o', off);
		return;
	}
	uint64_t es = idx->types[t].size;
	hash_tagged(h, 'x', off / es);
	off %= es;
	for (int depth = 0; depth < 64 && off; depth++) {
		const struct hop_type *ty = &idx->types[t];
		if (ty->kind == HOP_KIND_ARRAY) {
			uint64_t s = idx->types[ty->target].size;
			if (!s)
				break;
			hash_tagged(h, 'a', off / s);
			off %= s;
			t = ty->target;
			continue;
		}
		if (ty->kind == HOP_KIND_STRUCT || ty->kind == HOP_KIND_UNION) {
			const struct hop_member *hit = NULL;
			for (uint32_t k = 0; k < ty->nmembers && !hit; k++) {
				const struct hop_member *m = &idx->members[ty->first_member + k];
				const struct hop_type *mt = &idx->types[m->type];
				int fam = mt->kind == HOP_KIND_ARRAY && mt->count == 0;
				if (!m->bit_size && off >= m->offset && (fam || off - m->offset < mt->size))
					hit = m;
			}
			if (!hit)
				break;
			emit_name(h, hit->name);
			off -= hit->offset;
			t = hit->type;
			continue;
		}
		break;
	}
	hash_tagged(h, 'o', off);
}

void hop__ptr_null(struct hop_hash *h)
{
	hash_u8(h, 'N');
}

void hop__ptr_block(struct hop_hash *h, const struct hop_index *idx, uint64_t origin_addr, uint32_t type,
		    uint64_t count, uint64_t off)
{
	hash_tagged(h, 'B', origin_addr);
	hop__digest_logical(idx, type, count, off, h);
}

void hop__ptr_string(struct hop_hash *h, const void *bytes, size_t n)
{
	hash_u8(h, 'S');
	hop__hash_update(h, bytes, n);
}

void hop__ptr_unknown(struct hop_hash *h, uint64_t value)
{
	hash_tagged(h, 'U', value);
}

int hop__ptr_static(struct hop_hash *h, struct hop_lay *l, uint64_t a,
		    const char *(*rename)(void *ctx, uint32_t var), void *ctx)
{
	const struct hop_index *idx = l->idx;
	uint32_t v;
	uint64_t off;
	if (hop__lay_var_at(l, a, &v, &off)) {
		const char *name = rename ? rename(ctx, v) : NULL;
		hop__digest_ident_global(h, name ? name : idx->vars[v].name);
		hop__digest_logical(idx, idx->vars[v].type, 1, off, h);
		return 1;
	}
	const struct hop_func *f = hop__index_func_at(idx, a);
	if (f) {
		hash_u8(h, 'P');
		emit_name(h, f->name);
		return 1;
	}
	return 0;
}

void hop__digest_ident_global(struct hop_hash *h, const char *name)
{
	hash_u8(h, 'G');
	emit_name(h, name);
}

void hop__digest_ident_block(struct hop_hash *h, uint64_t addr, uint64_t count, uint64_t fam_n, const char *type_name)
{
	hash_tagged(h, 'B', addr);
	hash_u64(h, count);
	hash_u64(h, fam_n);
	emit_name(h, type_name);
}

/* ---- address map ------------------------------------------------------------------------ */
/* The home slot: the key mixed. A map of heap block addresses (`local`) mixes
 * only the page number and keeps the offset in the page, so the blocks of one
 * 4 KiB page sit in one run of nearby slots: neighbouring blocks looked up one
 * after the other (a list, a tree built in order) then hit the cache instead
 * of missing once each. Only for byte addresses of blocks (at least 8 bytes
 * apart): dense keys (page numbers, ids) would pile up in a run. */
static uint32_t amap_slot(const struct hop_amap *m, uint64_t key, uint32_t cap)
{
	uint64_t k = m->local ? key >> 12 : key;
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	if (m->local)
		k += (key & 4095) >> 3;
	return (uint32_t)k & (cap - 1);
}

uint32_t hop__amap_get(const struct hop_amap *m, uint64_t key)
{
	if (!m->cap)
		return HOP_NONE;
	for (uint32_t h = amap_slot(m, key, m->cap);; h = (h + 1) & (m->cap - 1)) {
		const struct hop_aslot *e = &m->slots[h];
		if (e->val == HOP_NONE)
			return HOP_NONE;
		if (e->key == key)
			return e->val;
	}
}

void hop__amap_prefetch(const struct hop_amap *m, uint64_t key)
{
	if (m->cap)
		__builtin_prefetch(&m->slots[amap_slot(m, key, m->cap)]);
}

/* to cap slots (a power of two above twice the entries) */
static int amap_resize(struct hop_amap *m, uint32_t cap)
{
	struct hop_aslot *v = malloc(sizeof(*v) * cap);
	if (!v)
		return hop__fail(HOP_ENOMEM, "address map: out of memory");
	hop__mem_huge(v, sizeof(*v) * cap);
	for (uint32_t i = 0; i < cap; i++)
		v[i].val = HOP_NONE;
	for (uint32_t i = 0; i < m->cap; i++) {
		if (m->slots[i].val == HOP_NONE)
			continue;
		uint32_t h = amap_slot(m, m->slots[i].key, cap);
		while (v[h].val != HOP_NONE)
			h = (h + 1) & (cap - 1);
		v[h] = m->slots[i];
	}
	free(m->slots);
	m->slots = v;
	m->cap = cap;
	return 0;
}

static int amap_grow(struct hop_amap *m)
{
	uint32_t cap = m->cap ? m->cap * 2 : 64;
	if (cap > (1u << 30))
		return hop__fail(HOP_ENOMEM, "address map: too many objects");
	return amap_resize(m, cap);
}

int hop__amap_reserve(struct hop_amap *m, uint32_t more)
{
	uint64_t want = ((uint64_t)m->n + more) * 2;
	uint32_t cap = m->cap ? m->cap : 64;
	if (want > (1u << 30))
		return hop__fail(HOP_ENOMEM, "address map: room for %u more objects", more);
	while (cap < want)
		cap *= 2;
	return cap > m->cap ? amap_resize(m, cap) : 0;
}

int hop__amap_put(struct hop_amap *m, uint64_t key, uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		int rc = amap_grow(m);
		if (rc < 0)
			return rc;
	}
	uint32_t h = amap_slot(m, key, m->cap);
	for (; m->slots[h].val != HOP_NONE; h = (h + 1) & (m->cap - 1))
		if (m->slots[h].key == key) {
			m->slots[h].val = val;
			return 0;
		}
	m->slots[h].key = key;
	m->slots[h].val = val;
	m->n++;
	return 0;
}

void hop__amap_del(struct hop_amap *m, uint64_t key)
{
	if (!m->cap)
		return;
	uint32_t mask = m->cap - 1, h = amap_slot(m, key, m->cap);
	for (; m->slots[h].val != HOP_NONE; h = (h + 1) & mask)
		if (m->slots[h].key == key)
			break;
	if (m->slots[h].val == HOP_NONE)
		return;
	m->n--;
	/* backward-shift deletion: move later entries of the cluster into the hole
	 * when their home slot does not lie (cyclically) between the hole and them */
	for (uint32_t j = (h + 1) & mask;; j = (j + 1) & mask) {
		if (m->slots[j].val == HOP_NONE)
			break;
		uint32_t home = amap_slot(m, m->slots[j].key, m->cap);
		if (((j - home) & mask) >= ((j - h) & mask)) {
			m->slots[h] = m->slots[j];
			h = j;
		}
	}
	m->slots[h].val = HOP_NONE;
}

void hop__amap_free(struct hop_amap *m)
{
	uint8_t local = m->local;
	free(m->slots);
	memset(m, 0, sizeof(*m));
	m->local = local;
}

int hop__end_may_win(const struct hop_index *idx, int b_exists, uint32_t b_type, uint32_t pointee)
{
	int sg, fmt;
	if (pointee >= idx->ntypes || hop__scalar(idx, pointee, &sg, &fmt) == HOP_SC_CHAR)
		return 0;
	if (!b_exists)
		return 0; /* B is reached by nothing else: the pointer reaches B */
	if (b_type >= idx->ntypes || hop__scalar(idx, b_type, &sg, &fmt) == HOP_SC_CHAR)
		return 1;
	return !hop__is_sub(idx, b_type, 0, pointee);
}

int hop__prefer_end(const struct hop_index *idx, uint32_t a_type, int b_exists, uint32_t b_type, uint32_t pointee)
{
	return hop__end_may_win(idx, b_exists, b_type, pointee) && a_type < idx->ntypes &&
	       hop__is_sub(idx, a_type, 0, pointee);
}
