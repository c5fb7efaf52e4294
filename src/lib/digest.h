/* digest.h -- what scan.c, xlate.c and the state digest share: a layout
 * cache over one index, reading scalars of a stated byte order, the names of
 * paths ("list->next->name") for messages, and the layout-independent digest.
 *
 * The digest of the state is the sum, lane by lane (2 x 64 bits, mod 2^64),
 * of one 128-bit SipHash-1-3 per object (global or heap block). An object hash
 * covers the object's identity (global: its name; block: its origin address,
 * element count and type name) and its values in a canonical order: struct
 * members sorted by name, array elements in order; integers as 64-bit two's
 * complement, characters as bytes, floating values in the exact form of
 * ldouble.h, pointers as (what they point to, logical path within it).
 * docs/translation.md states it in full.
 */
#ifndef HOP_DIGEST_H
#define HOP_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "hints.h"
#include "index.h"
#include "xlate.h"

/* ---- the object hash: SipHash-1-3, 128-bit output --------------------------- */
/* A byte stream in, 128 bits out, identical on every target: words are read
 * little-endian from the stream whatever the machine's byte order. */
struct hop_hash {
	uint64_t v0, v1, v2, v3;
	uint64_t acc; /* the len % 8 bytes fed since the last word, byte k at bits 8k */
	uint64_t len; /* bytes fed */
};
void hop__hash_init(struct hop_hash *h); /* keyed with hop's fixed digest key */
void hop__hash_init_key(struct hop_hash *h, const uint8_t key[16]);
void hop__hash_update(struct hop_hash *h, const void *p, size_t n);
void hop__hash_final(struct hop_hash *h, uint64_t out[2]);
/* sum += hash, lane by lane mod 2^64; sub takes it out again */
void hop__digest_add(uint64_t sum[2], const uint64_t hash[2]);
void hop__digest_sub(uint64_t sum[2], const uint64_t hash[2]);
/* the digest: the two lanes as 16 little-endian bytes */
void hop__digest_out(const uint64_t sum[2], uint8_t out[HOP_DIGEST_LEN]);

/* ---- scalars ------------------------------------------------------------------ */
enum hop_scal {
	HOP_SC_NONE = 0, /* aggregate, void, function */
	HOP_SC_INT,      /* integers, _Bool, enums */
	HOP_SC_CHAR,     /* char, signed/unsigned char: bytes */
	HOP_SC_FLOAT,
	HOP_SC_COMPLEX,  /* two floats of size / 2 */
	HOP_SC_PTR,
};
/* Class of type t; for FLOAT/COMPLEX *fmt gets the hop_fpfmt of one part. */
int hop__scalar(const struct hop_index *idx, uint32_t t, int *is_signed, int *fmt);
uint64_t hop__get_uint(const uint8_t *p, unsigned size, int big_endian);
void hop__put_uint(uint8_t *p, unsigned size, int big_endian, uint64_t v);
/* Bit-field of `width` bits at bit `bit` (index.h's bit order). */
uint64_t hop__bits_get(const uint8_t *base, uint64_t bit, unsigned width, int big_endian);
void hop__bits_put(uint8_t *base, uint64_t bit, unsigned width, int big_endian, uint64_t v);

/* ---- a layout cache over one index ---------------------------------------------- */
struct hop_dplan;
struct hop_lay {
	const struct hop_index *idx;
	struct hop_hints *hints;
	uint8_t *tflags;      /* per type: LAY_* below */
	uint8_t *scal;        /* per type: hop__scalar's answer once asked (digest.c lay_scalar) */
	struct hop_dplan **plans; /* per struct type: its members in name order for the digest walk (lazy) */
	uint32_t *names;      /* open hash of type names -> id */
	uint32_t names_cap;
	uint32_t *vnames;     /* open hash of var names -> id */
	uint32_t vnames_cap;
	uint32_t *vsorted;    /* var ids sorted by address */
	uint32_t nvsorted;
};
int hop__lay_new(const struct hop_index *idx, struct hop_lay **out);
void hop__lay_free(struct hop_lay *l);
/* Type by name, a complete one when there is one; HOP_NONE if none. */
uint32_t hop__lay_type(const struct hop_lay *l, const char *name);
/* Var id by name or HOP_NONE. */
uint32_t hop__lay_var(const struct hop_lay *l, const char *name);
/* Var containing index address a (or ending exactly at it); 1 found. */
int hop__lay_var_at(const struct hop_lay *l, uint64_t a, uint32_t *var, uint64_t *off);
/* Does a value of type t contain a pointer (unions: any member)? */
int hop__lay_has_ptr(struct hop_lay *l, uint32_t t);
/* The member of union u translated when no tag hint says (first largest), or HOP_NONE. */
uint32_t hop__lay_union_rep(const struct hop_lay *l, uint32_t u);
/* The flexible array member of struct t (last member, array of count 0), or NULL. */
const struct hop_member *hop__lay_fam(const struct hop_lay *l, uint32_t t);
/* Same type in the sense of translation: same id, or same kind, name and size. */
int hop__same_type(const struct hop_index *idx, uint32_t a, uint32_t b);
/* Is there a subobject of type s at byte off of a value of type t? */
int hop__is_sub(const struct hop_index *idx, uint32_t t, uint64_t off, uint32_t s);
/* Read a union's tag member value from the struct bytes `sbase`; 0 or -1. */
int hop__read_tag(const struct hop_index *idx, const struct hop_member *tag, const uint8_t *sbase, int64_t *v);
/* Live member of union member `um` of struct st, chosen by its tag hint; *has
 * = 0 when no hint. HOP_EHINT when the tag value has no case. */
int hop__union_live(struct hop_lay *l, uint32_t st, const struct hop_member *um, const uint8_t *sbase,
		    uint32_t *member, int *has);

/* ---- paths for messages ------------------------------------------------------------ */
struct hop_pathobj {
	const char *name;  /* global: its name; block: NULL */
	uint64_t addr;     /* origin address */
	uint32_t type;     /* element type (in the index the path is read in) */
	uint32_t parent;   /* object whose pointer first reached this one, HOP_NONE */
	uint64_t poff;     /* offset of that pointer in the parent */
};
typedef int (*hop_pathget_fn)(void *ctx, uint32_t id, struct hop_pathobj *out);
/* "g.arr[3].y", "list->next->name": object `obj`, byte `off` in it. */
void hop__path(const struct hop_index *idx, hop_pathget_fn get, void *ctx, uint32_t obj, uint64_t off,
	       char *buf, size_t len);

/* ---- the digest walk ------------------------------------------------------------------ */
/* Emits the normal form of a pointer value into h (see docs/translation.md). */
typedef void (*hop_ptrnorm_fn)(void *ctx, uint64_t value, uint32_t pointee, struct hop_hash *h);
/* A pointer equal to the end of block A and the start of block B (adjacent
 * heap blocks): does it mean A's end? Only when A's element type is its
 * pointee type and B is raw bytes or of a type the pointee does not fit (B
 * reached by nothing else, b_exists 0, means B); char pointers always mean B. Types of one index;
 * a_type HOP_NONE when A is no typed object. */
int hop__prefer_end(const struct hop_index *idx, uint32_t a_type, int b_exists, uint32_t b_type, uint32_t pointee);
/* The half of hop__prefer_end that does not depend on A: 0 when no block A
 * could win, so a caller need not look A up (hop__prefer_end is this and
 * "A's type starts with the pointee"). */
int hop__end_may_win(const struct hop_index *idx, int b_exists, uint32_t b_type, uint32_t pointee);
/* Hash of one object: identity is fed by the caller before (h initialised). */
int hop__digest_values(struct hop_lay *l, uint32_t type, uint64_t count, uint64_t fam_n, const uint8_t *mem,
		       hop_ptrnorm_fn norm, void *ctx, struct hop_hash *h);
/* The logical path of byte off in `count` elements of type t, into h. */
void hop__digest_logical(const struct hop_index *idx, uint32_t t, uint64_t count, uint64_t off,
			 struct hop_hash *h);
/* The normal form of a pointer value, in pieces both sides share so they
 * feed identical bytes (docs/translation.md): NULL; into a heap block (the
 * block's origin address, then the logical path of byte off in `count`
 * elements of `type`, HOP_NONE for raw bytes); a string literal (its bytes,
 * NUL included); an address nothing explains (its value). */
void hop__ptr_null(struct hop_hash *h);
void hop__ptr_block(struct hop_hash *h, const struct hop_index *idx, uint64_t origin_addr, uint32_t type,
		    uint64_t count, uint64_t off);
void hop__ptr_string(struct hop_hash *h, const void *bytes, size_t n);
void hop__ptr_unknown(struct hop_hash *h, uint64_t value);
/* A pointer into the executable: a global of l's index at index address a
 * (var + logical path; named rename(ctx, var) when that is not NULL: an
 * upgrade's renamed global) or a function (by name). 1 if it is one, else 0
 * and nothing hashed. */
int hop__ptr_static(struct hop_hash *h, struct hop_lay *l, uint64_t a,
		    const char *(*rename)(void *ctx, uint32_t var), void *ctx);
/* Identity helpers, shared so both sides feed identical bytes. */
void hop__digest_ident_global(struct hop_hash *h, const char *name);
void hop__digest_ident_block(struct hop_hash *h, uint64_t addr, uint64_t count, uint64_t fam_n,
			     const char *type_name);


/* ---- a map from 64-bit addresses to object ids (open addressing) ---------------------- */
struct hop_aslot {
	uint64_t key;
	uint32_t val; /* HOP_NONE = empty */
};
struct hop_amap {
	struct hop_aslot *slots; /* key and value side by side: one cache miss per probe */
	uint32_t cap, n;
	uint8_t local;           /* keys are heap block addresses: keep a page's keys in nearby slots */
};
/* id of key or HOP_NONE */
uint32_t hop__amap_get(const struct hop_amap *m, uint64_t key);
/* insert or replace; 0 or HOP_ENOMEM */
int hop__amap_put(struct hop_amap *m, uint64_t key, uint32_t val);
void hop__amap_del(struct hop_amap *m, uint64_t key);
/* Start loading key's home slot into the cache (a look-up coming soon). */
void hop__amap_prefetch(const struct hop_amap *m, uint64_t key);
/* room for `more` entries beyond those it has, so that many puts never
 * grow (rehash) it; 0 or HOP_ENOMEM (the map as it was) */
int hop__amap_reserve(struct hop_amap *m, uint32_t more);
void hop__amap_free(struct hop_amap *m);

#endif
