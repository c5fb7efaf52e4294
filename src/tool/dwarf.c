/* dwarf.c -- build the index of an executable from its DWARF (elfutils libdw).
 *
 * The runtime cannot read DWARF (libhop is libc-only and libdw is not
 * installable for every target), so the host tool distils what the
 * translator needs into a hop_index: the target, every type the program
 * uses laid out as this build lays it out, every static variable, every
 * function, transfer point, section and hint. docs/index-format.md states
 * the naming rules this file implements.
 *
 * Two passes over the compilation units. Pass 1 walks every DIE that can
 * hold variables, functions or type definitions and records candidates
 * (and the definition of every named struct, so that a declaration seen in
 * one CU is replaced by the definition from another). Pass 2 turns the
 * candidates into index entries; types are created on demand, reachable
 * from variables or defined in the program's own CUs.
 *
 * Types are deduplicated by structural identity: each gets a canonical key
 * (kind, C name, size and, for structs, every member's name, position and
 * type name) and one hash table maps keys to type ids. A second table maps
 * DIE offsets to ids so that each DIE is converted once. Recursive types
 * terminate because a struct or pointer is registered under its key before
 * the types it refers to are converted.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

#define LIBHOP_CU_PREFIX "/hop/libhop/"
#define POINT_PREFIX "hop__point_"
#define HINT_PREFIX "hop__hint_"
#define MAX_DIMS 16 /* array dimensions spelled out; deeper ones count as one */

/* ---- small hash tables -------------------------------------------------------
 * Open addressing, power-of-two capacity, grown at half full. */

static uint64_t hash64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ULL;
	return h;
}

/* uint64 -> uint64; a key is stored plus one so that 0 marks a free slot. */
struct u64map {
	uint64_t *keys, *vals;
	size_t cap, n;
};

static int u64map_get(const struct u64map *m, uint64_t k, uint64_t *v)
{
	if (!m->cap)
		return 0;
	for (size_t i = hash64(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->keys[i])
			return 0;
		if (m->keys[i] == k + 1) {
			*v = m->vals[i];
			return 1;
		}
	}
}

static int u64map_put(struct u64map *m, uint64_t k, uint64_t v)
{
	if (2 * (m->n + 1) > m->cap) {
		struct u64map g = { 0 };
		g.cap = m->cap ? m->cap * 2 : 1024;
		g.keys = calloc(g.cap, sizeof(uint64_t));
		g.vals = calloc(g.cap, sizeof(uint64_t));
		if (!g.keys || !g.vals) {
			free(g.keys);
			free(g.vals);
			return -1;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i])
				u64map_put(&g, m->keys[i] - 1, m->vals[i]);
		free(m->keys);
		free(m->vals);
		*m = g;
	}
	size_t i = hash64(k) & (m->cap - 1);
	while (m->keys[i] && m->keys[i] != k + 1)
		i = (i + 1) & (m->cap - 1);
	if (!m->keys[i])
		m->n++;
	m->keys[i] = k + 1;
	m->vals[i] = v;
	return 0;
}

static void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
}

/* string -> uint64; keys are copied. */
struct strmap {
	char **keys;
	uint64_t *vals;
	size_t cap, n;
};

static uint64_t *strmap_find(const struct strmap *m, const char *k)
{
	if (!m->cap)
		return NULL;
	for (size_t i = hash_str(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->keys[i])
			return NULL;
		if (strcmp(m->keys[i], k) == 0)
			return &m->vals[i];
	}
}

static int strmap_insert(struct strmap *m, char *owned, uint64_t v)
{
	size_t i = hash_str(owned) & (m->cap - 1);
	while (m->keys[i])
		i = (i + 1) & (m->cap - 1);
	m->keys[i] = owned;
	m->vals[i] = v;
	m->n++;
	return 0;
}

/* Set k to v (inserting a copy of k if new). 0, or -1 without memory. */
static int strmap_put(struct strmap *m, const char *k, uint64_t v)
{
	uint64_t *p = strmap_find(m, k);
	if (p) {
		*p = v;
		return 0;
	}
	if (2 * (m->n + 1) > m->cap) {
		struct strmap g = { 0 };
		g.cap = m->cap ? m->cap * 2 : 1024;
		g.keys = calloc(g.cap, sizeof(char *));
		g.vals = calloc(g.cap, sizeof(uint64_t));
		if (!g.keys || !g.vals) {
			free(g.keys);
			free(g.vals);
			return -1;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i])
				strmap_insert(&g, m->keys[i], m->vals[i]);
		free(m->keys);
		free(m->vals);
		*m = g;
	}
	char *owned = strdup(k);
	if (!owned)
		return -1;
	return strmap_insert(m, owned, v);
}

static void strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
}

/* ---- growing strings ------------------------------------------------------- */

struct sbuf {
	char *s;
	size_t len, cap;
	int nomem;
};

static void sb_addf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_addf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		int n = b->cap ? vsnprintf(b->s + b->len, room, fmt, ap) : -2;
		va_end(ap);
		if (n >= 0 && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		if (n == -1) {
			b->nomem = 1;
			return;
		}
		size_t nc = b->cap ? b->cap * 2 : 256;
		while (n > 0 && nc < b->len + (size_t)n + 1)
			nc *= 2;
		char *p = realloc(b->s, nc);
		if (!p) {
			b->nomem = 1;
			return;
		}
		b->s = p;
		b->cap = nc;
	}
}

/* ---- the reader's state --------------------------------------------------- */

struct var_cand {
	Dwarf_Off die;
	char *plain;  /* DW_AT_name */
	char *func;   /* enclosing function for a function-static, else NULL */
	char *file;   /* basename of the CU */
	uint64_t address;
	int external;
	char *name;   /* the index name, decided after pass 1 */
};

struct func_cand {
	char *plain;
	char *file;
	uint64_t address, size;
	int external;
	char *name;
};

/* A pointer type whose target is converted later (see drain()). */
struct pending {
	uint32_t id;
	Dwarf_Off target;
	int have;
};

struct dx {
	const char *path;
	Elf *elf;
	Dwarf *dbg;
	struct hop_index *idx;
	int nomem;

	struct u64map die_type;  /* (DIE offset << 8 | array dimension) -> type id */
	struct strmap type_key;  /* canonical key -> type id */
	struct strmap defs;      /* "struct foo" -> DIE offset of a definition */
	struct u64map anon_name; /* DIE offset of an anonymous aggregate -> index in typedef_names */
	char **typedef_names;
	size_t ntypedef_names, cap_typedef_names;
	Dwarf_Off *prog_types;   /* aggregate definitions in the program's own CUs */
	size_t nprog_types, cap_prog_types;

	struct var_cand *vars;
	size_t nvars, cap_vars;
	struct func_cand *funcs;
	size_t nfuncs, cap_funcs;
	struct strmap points;
	struct pending *pend;    /* pointers whose target is still to convert */
	size_t npend, cap_pend;
	int long_double_size;    /* size of base type "long double", 0 if unseen */
};

#define PUSH(x, arr, n, cap, value)                                              \
	do {                                                                     \
		if ((n) == (cap)) {                                              \
			size_t nc_ = (cap) ? (cap) * 2 : 256;                    \
			void *p_ = realloc((arr), nc_ * sizeof(*(arr)));         \
			if (!p_) {                                               \
				(x)->nomem = 1;                                  \
				break;                                           \
			}                                                        \
			(arr) = p_;                                              \
			(cap) = nc_;                                             \
		}                                                                \
		(arr)[(n)++] = (value);                                          \
	} while (0)

static char *xstrdup(struct dx *x, const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		x->nomem = 1;
	return d;
}

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s ? s + 1 : (p ? p : "?");
}

/* ---- DIE helpers ------------------------------------------------------------ */

static int die_flag(Dwarf_Die *die, int name)
{
	Dwarf_Attribute a;
	bool f = false;
	if (!dwarf_attr_integrate(die, name, &a))
		return 0;
	return dwarf_formflag(&a, &f) == 0 && f;
}

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(die, DW_AT_name, &a))
		return NULL;
	return dwarf_formstring(&a);
}

/* The DIE named by `die`'s DW_AT_type; 0 when there is none (void). */
static int die_type(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(die, DW_AT_type, &a))
		return 0;
	return dwarf_formref_die(&a, out) != NULL;
}

static int die_udata(Dwarf_Die *die, int name, Dwarf_Word *v)
{
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(die, name, &a))
		return 0;
	return dwarf_formudata(&a, v) == 0;
}

/* Follow typedefs and qualifiers to the type that has a layout. 0 = void. */
static int strip(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Die cur = *die;
	for (int depth = 0; depth < 64; depth++) {
		switch (dwarf_tag(&cur)) {
		case DW_TAG_typedef:
		case DW_TAG_const_type:
		case DW_TAG_volatile_type:
		case DW_TAG_restrict_type:
		case DW_TAG_atomic_type:
		case DW_TAG_immutable_type:
		case DW_TAG_packed_type:
		case DW_TAG_shared_type: {
			Dwarf_Die next;
			if (!die_type(&cur, &next))
				return 0;
			cur = next;
			continue;
		}
		case DW_TAG_unspecified_type:
			return 0;
		default:
			*out = cur;
			return 1;
		}
	}
	return 0;
}

static int is_aggregate_tag(int tag)
{
	return tag == DW_TAG_structure_type || tag == DW_TAG_union_type || tag == DW_TAG_enumeration_type;
}

static const char *aggregate_word(int tag)
{
	return tag == DW_TAG_structure_type ? "struct" : tag == DW_TAG_union_type ? "union" : "enum";
}

/* A struct/union/enum declaration replaced by its definition, if any. */
static void definition_of(struct dx *x, Dwarf_Die *t)
{
	if (!is_aggregate_tag(dwarf_tag(t)) || !die_flag(t, DW_AT_declaration))
		return;
	const char *n = die_name(t);
	if (!n)
		return;
	char key[512];
	snprintf(key, sizeof(key), "%s %s", aggregate_word(dwarf_tag(t)), n);
	uint64_t *off = strmap_find(&x->defs, key);
	Dwarf_Die def;
	if (off && dwarf_offdie(x->dbg, *off, &def))
		*t = def;
}

/* Count of subrange children of an array DIE, and the i-th one's length. */
static int array_dims(Dwarf_Die *arr, Dwarf_Die *subs, int max)
{
	Dwarf_Die c;
	int n = 0;
	if (dwarf_child(arr, &c) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&c);
		if ((tag == DW_TAG_subrange_type || tag == DW_TAG_enumeration_type) && n < max)
			subs[n++] = c;
	} while (dwarf_siblingof(&c, &c) == 0);
	return n;
}

/* Elements of one dimension; 0 for flexible, unknown or variable length. */
static uint64_t dim_count(Dwarf_Die *sub)
{
	Dwarf_Word v;
	Dwarf_Attribute a;
	if (die_udata(sub, DW_AT_count, &v))
		return v;
	if (dwarf_attr(sub, DW_AT_upper_bound, &a)) {
		Dwarf_Sword s;
		/* an exprloc or reference here is a VLA bound: unknown */
		if (dwarf_whatform(&a) == DW_FORM_exprloc || dwarf_whatform(&a) == DW_FORM_ref4)
			return 0;
		if (dwarf_formsdata(&a, &s) != 0 || s < 0)
			return 0; /* "[0]" is written as upper bound -1 */
		Dwarf_Word lo = 0;
		die_udata(sub, DW_AT_lower_bound, &lo);
		return (uint64_t)s + 1 - lo;
	}
	return 0;
}

/* ---- names as C spells them -------------------------------------------------- */

static const struct {
	const char *dwarf, *c;
} base_names[] = {
	{ "long int", "long" },
	{ "long unsigned int", "unsigned long" },
	{ "short int", "short" },
	{ "short unsigned int", "unsigned short" },
	{ "long long int", "long long" },
	{ "long long unsigned int", "unsigned long long" },
	{ "__int128 unsigned", "unsigned __int128" },
	{ "complex float", "_Complex float" },
	{ "complex double", "_Complex double" },
	{ "complex long double", "_Complex long double" },
};

static const char *c_base_name(const char *dwarf)
{
	if (!dwarf)
		return "?";
	for (size_t i = 0; i < sizeof(base_names) / sizeof(base_names[0]); i++)
		if (strcmp(base_names[i].dwarf, dwarf) == 0)
			return base_names[i].c;
	return dwarf;
}

/* "struct node", a typedef's name for an anonymous struct, or
 * "struct (anon at file.c:12)". */
static void aggregate_name(struct dx *x, Dwarf_Die *t, struct sbuf *out)
{
	int tag = dwarf_tag(t);
	const char *n = die_name(t);
	uint64_t ti;
	int line = 0;

	if (n) {
		sb_addf(out, "%s %s", aggregate_word(tag), n);
	} else if (u64map_get(&x->anon_name, dwarf_dieoffset(t), &ti)) {
		sb_addf(out, "%s", x->typedef_names[ti]);
	} else {
		dwarf_decl_line(t, &line);
		sb_addf(out, "%s (anon at %s:%d)", aggregate_word(tag), base_name(dwarf_decl_file(t)), line);
	}
}

static void decl_name(struct dx *x, Dwarf_Die *die, int have, int dim, const char *inner, struct sbuf *out);

/* The C name of a type with declarator `inner` around it (C's inside-out
 * syntax): type int, inner "(*)(char)" -> "int (*)(char)". `have` = 0 for
 * void; `dim` = first array dimension still to spell. */
static void decl_name(struct dx *x, Dwarf_Die *die, int have, int dim, const char *inner, struct sbuf *out)
{
	Dwarf_Die t, next;
	struct sbuf in = { 0 };
	const char *sp = *inner ? " " : "";

	if (!have || !strip(die, &t)) {
		sb_addf(out, "void%s%s", sp, inner);
		return;
	}
	switch (dwarf_tag(&t)) {
	case DW_TAG_base_type:
		sb_addf(out, "%s%s%s", c_base_name(die_name(&t)), sp, inner);
		return;
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_enumeration_type:
		aggregate_name(x, &t, out);
		sb_addf(out, "%s%s", sp, inner);
		return;
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type: {
		int h = die_type(&t, &next);
		Dwarf_Die pt;
		int ptag = h && strip(&next, &pt) ? dwarf_tag(&pt) : 0;
		if (ptag == DW_TAG_array_type || ptag == DW_TAG_subroutine_type)
			sb_addf(&in, "(*%s)", inner);
		else
			sb_addf(&in, "*%s", inner);
		decl_name(x, &next, h, 0, in.s ? in.s : "", out);
		break;
	}
	case DW_TAG_array_type: {
		Dwarf_Die subs[MAX_DIMS];
		int nd = array_dims(&t, subs, MAX_DIMS);
		sb_addf(&in, "%s", inner);
		for (int i = dim; i < nd; i++) {
			uint64_t c = dim_count(&subs[i]);
			if (c)
				sb_addf(&in, "[%llu]", (unsigned long long)c);
			else
				sb_addf(&in, "[]");
		}
		if (nd == 0)
			sb_addf(&in, "[]");
		int h = die_type(&t, &next);
		decl_name(x, &next, h, 0, in.s ? in.s : "", out);
		break;
	}
	case DW_TAG_subroutine_type: {
		Dwarf_Die c;
		int np = 0;
		sb_addf(&in, "%s(", inner);
		if (dwarf_child(&t, &c) == 0) {
			do {
				int tag = dwarf_tag(&c);
				if (tag == DW_TAG_formal_parameter) {
					Dwarf_Die pt;
					int h = die_type(&c, &pt);
					if (np++)
						sb_addf(&in, ", ");
					decl_name(x, &pt, h, 0, "", &in);
				} else if (tag == DW_TAG_unspecified_parameters) {
					sb_addf(&in, np++ ? ", ..." : "...");
				}
			} while (dwarf_siblingof(&c, &c) == 0);
		}
		if (!np && die_flag(&t, DW_AT_prototyped))
			sb_addf(&in, "void");
		sb_addf(&in, ")");
		int h = die_type(&t, &next);
		decl_name(x, &next, h, 0, in.s, out);
		break;
	}
	default:
		sb_addf(out, "?%s%s", sp, inner);
		break;
	}
	if (in.nomem)
		out->nomem = 1;
	free(in.s);
}

/* ---- types ------------------------------------------------------------------ */

static uint32_t type_of(struct dx *x, Dwarf_Die *die, int have, int dim);

static uint8_t base_enc(int ate)
{
	switch (ate) {
	case DW_ATE_signed: return HOP_ENC_SIGNED;
	case DW_ATE_boolean: return HOP_ENC_BOOL;
	case DW_ATE_signed_char: return HOP_ENC_SIGNED_CHAR;
	case DW_ATE_unsigned_char: return HOP_ENC_UNSIGNED_CHAR;
	case DW_ATE_float: return HOP_ENC_FLOAT;
	case DW_ATE_complex_float: return HOP_ENC_COMPLEX;
	default: return HOP_ENC_UNSIGNED; /* unsigned, UTF, anything else: raw bits */
	}
}

/* Signedness of an enum: from its underlying type (DW_AT_type, DWARF 5 and
 * GNU DWARF 4), else from DW_AT_encoding, else signed iff an enumerator is
 * negative. */
static uint8_t enum_enc(Dwarf_Die *t)
{
	Dwarf_Die u, c;
	Dwarf_Word ate;
	if (die_type(t, &u) && strip(&u, &u) && die_udata(&u, DW_AT_encoding, &ate)) {
		uint8_t e = base_enc((int)ate);
		return e == HOP_ENC_SIGNED || e == HOP_ENC_SIGNED_CHAR ? HOP_ENC_SIGNED : HOP_ENC_UNSIGNED;
	}
	if (die_udata(t, DW_AT_encoding, &ate))
		return base_enc((int)ate) == HOP_ENC_SIGNED ? HOP_ENC_SIGNED : HOP_ENC_UNSIGNED;
	if (dwarf_child(t, &c) == 0) {
		do {
			Dwarf_Attribute a;
			Dwarf_Sword s;
			if (dwarf_tag(&c) == DW_TAG_enumerator && dwarf_attr(&c, DW_AT_const_value, &a) &&
			    (dwarf_whatform(&a) == DW_FORM_sdata || dwarf_whatform(&a) == DW_FORM_implicit_const) &&
			    dwarf_formsdata(&a, &s) == 0 && s < 0)
				return HOP_ENC_SIGNED;
		} while (dwarf_siblingof(&c, &c) == 0);
	}
	return HOP_ENC_UNSIGNED;
}

/* Look `key` up; if it is new, add `t` under it. Returns the id and sets
 * *added when the type is new (its references still to be filled in). */
static uint32_t intern_type(struct dx *x, const char *key, const struct hop_type *t, int *added)
{
	uint64_t *p = strmap_find(&x->type_key, key);
	*added = 0;
	if (p)
		return (uint32_t)*p;
	uint32_t id = hop__index_add_type(x->idx, t);
	if (id == HOP_NONE || strmap_put(&x->type_key, key, id) < 0) {
		x->nomem = 1;
		return HOP_NONE;
	}
	*added = 1;
	return id;
}

struct mem_info {
	char *name;
	Dwarf_Off type_die;
	int have_type;
	uint64_t offset;
	uint32_t bit_offset, bit_size;
};

/* Byte offset of a member: a constant, or (DWARF 2) DW_OP_plus_uconst. */
static uint64_t member_offset(Dwarf_Die *m)
{
	Dwarf_Attribute a;
	Dwarf_Word v;
	Dwarf_Op *ops;
	size_t nops;
	if (!dwarf_attr(m, DW_AT_data_member_location, &a))
		return 0; /* union members */
	if (dwarf_formudata(&a, &v) == 0)
		return v;
	if (dwarf_getlocation(&a, &ops, &nops) == 0 && nops == 1 && ops[0].atom == DW_OP_plus_uconst)
		return ops[0].number;
	return 0;
}

/* Read the members of struct/union `t` (not their types yet). */
static size_t read_members(struct dx *x, Dwarf_Die *t, int big_endian, struct mem_info **out)
{
	Dwarf_Die c;
	struct mem_info *m = NULL;
	size_t n = 0, cap = 0;
	unsigned anon = 0;

	*out = NULL;
	if (dwarf_child(t, &c) != 0)
		return 0;
	do {
		if (dwarf_tag(&c) != DW_TAG_member)
			continue;
		struct mem_info mi = { 0 };
		Dwarf_Die mt;
		const char *nm = die_name(&c);
		char anon_name[32];
		if (!nm) {
			/* unnamed struct/union member: a stable name by ordinal */
			snprintf(anon_name, sizeof(anon_name), "__anon%u", anon++);
			nm = anon_name;
		}
		mi.name = xstrdup(x, nm);
		mi.have_type = die_type(&c, &mt);
		mi.type_die = mi.have_type ? dwarf_dieoffset(&mt) : 0;
		mi.offset = member_offset(&c);
		Dwarf_Word bits, dbo;
		if (die_udata(&c, DW_AT_bit_size, &bits) && bits) {
			mi.bit_size = (uint32_t)bits;
			if (die_udata(&c, DW_AT_data_bit_offset, &dbo)) {
				mi.bit_offset = (uint32_t)dbo;
			} else {
				/* DWARF 2/3: DW_AT_bit_offset counts from the most
				 * significant bit of a storage unit of DW_AT_byte_size
				 * bytes at data_member_location. */
				Dwarf_Attribute a;
				Dwarf_Sword bo = 0;
				Dwarf_Word unit;
				if (dwarf_attr(&c, DW_AT_bit_offset, &a))
					dwarf_formsdata(&a, &bo);
				if (!die_udata(&c, DW_AT_byte_size, &unit)) {
					Dwarf_Die st;
					Dwarf_Word sz = 0;
					if (mi.have_type && strip(&mt, &st))
						dwarf_aggregate_size(&st, &sz);
					unit = sz;
				}
				int64_t base = (int64_t)mi.offset * 8;
				int64_t abs = big_endian ? base + bo : base + (int64_t)unit * 8 - bo - (int64_t)bits;
				mi.bit_offset = abs < 0 ? 0 : (uint32_t)abs;
			}
			mi.offset = mi.bit_offset / 8;
		}
		PUSH(x, m, n, cap, mi);
	} while (dwarf_siblingof(&c, &c) == 0);
	*out = m;
	return n;
}

static uint32_t struct_type(struct dx *x, Dwarf_Die *t, uint64_t memo)
{
	struct sbuf name = { 0 }, key = { 0 };
	struct mem_info *mi;
	Dwarf_Word size = 0;
	int decl = die_flag(t, DW_AT_declaration);
	uint8_t kind = dwarf_tag(t) == DW_TAG_union_type ? HOP_KIND_UNION : HOP_KIND_STRUCT;

	if (!decl)
		die_udata(t, DW_AT_byte_size, &size);
	size_t n = decl ? 0 : read_members(x, t, x->idx->big_endian, &mi);
	if (decl)
		mi = NULL;
	aggregate_name(x, t, &name);
	sb_addf(&key, "S|%u|%s|%llu|%d", kind, name.s, (unsigned long long)size, decl);
	for (size_t i = 0; i < n; i++) {
		Dwarf_Die mt = { 0 };
		sb_addf(&key, "|%s@%llu:%u:%u:", mi[i].name, (unsigned long long)mi[i].offset,
			mi[i].bit_offset, mi[i].bit_size);
		if (mi[i].have_type)
			dwarf_offdie(x->dbg, mi[i].type_die, &mt);
		decl_name(x, &mt, mi[i].have_type, 0, "", &key);
	}
	if (name.nomem || key.nomem)
		x->nomem = 1;

	struct hop_type ty = { .name = name.s, .kind = kind, .size = size, .target = HOP_NONE,
			       .flags = decl ? HOP_TF_DECLARATION : 0 };
	int added = 0;
	uint32_t id = x->nomem ? HOP_NONE : intern_type(x, key.s, &ty, &added);
	if (id != HOP_NONE && u64map_put(&x->die_type, memo, id) < 0)
		x->nomem = 1;
	if (added) {
		/* convert member types first (they may add their own members),
		 * then append ours contiguously */
		uint32_t *tid = calloc(n ? n : 1, sizeof(uint32_t));
		if (!tid)
			x->nomem = 1;
		for (size_t i = 0; tid && i < n; i++) {
			Dwarf_Die mt = { 0 };
			if (mi[i].have_type)
				dwarf_offdie(x->dbg, mi[i].type_die, &mt);
			tid[i] = type_of(x, &mt, mi[i].have_type, 0);
		}
		uint32_t first = x->idx->nmembers, count = 0;
		for (size_t i = 0; tid && i < n; i++) {
			if (tid[i] == HOP_NONE)
				continue; /* a void member cannot exist in C; be safe */
			struct hop_member m = { .name = mi[i].name, .type = tid[i], .offset = mi[i].offset,
						.bit_offset = mi[i].bit_offset, .bit_size = mi[i].bit_size };
			if (hop__index_add_member(x->idx, &m) == HOP_NONE)
				x->nomem = 1;
			count++;
		}
		x->idx->types[id].first_member = count ? first : 0;
		x->idx->types[id].nmembers = count;
		free(tid);
	}
	for (size_t i = 0; i < n; i++)
		free(mi[i].name);
	free(mi);
	free(name.s);
	free(key.s);
	return id;
}

/* The index type of DIE `die` (`have` = 0: void -> HOP_NONE). For arrays,
 * `dim` selects the sub-array starting at that dimension: int [3][4] at
 * dim 1 is int [4]. */
static uint32_t type_of(struct dx *x, Dwarf_Die *die, int have, int dim)
{
	Dwarf_Die t;
	uint64_t id;

	if (x->nomem || !have || !strip(die, &t))
		return HOP_NONE;
	definition_of(x, &t);
	uint64_t memo = (uint64_t)dwarf_dieoffset(&t) << 8 | (uint64_t)dim;
	if (u64map_get(&x->die_type, memo, &id))
		return (uint32_t)id;

	int tag = dwarf_tag(&t), added = 0;
	struct sbuf name = { 0 }, key = { 0 };
	struct hop_type ty = { .target = HOP_NONE };
	Dwarf_Die next;
	Dwarf_Word w;
	uint32_t res = HOP_NONE;

	switch (tag) {
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
		return struct_type(x, &t, memo);
	case DW_TAG_base_type:
		ty.kind = HOP_KIND_BASE;
		ty.enc = die_udata(&t, DW_AT_encoding, &w) ? base_enc((int)w) : HOP_ENC_UNSIGNED;
		ty.size = die_udata(&t, DW_AT_byte_size, &w) ? w : 0;
		decl_name(x, &t, 1, 0, "", &name);
		sb_addf(&key, "B|%s|%llu|%u", name.s, (unsigned long long)ty.size, ty.enc);
		break;
	case DW_TAG_enumeration_type:
		ty.kind = HOP_KIND_ENUM;
		ty.enc = enum_enc(&t);
		ty.size = die_udata(&t, DW_AT_byte_size, &w) ? w : 4;
		if (!die_udata(&t, DW_AT_byte_size, &w))
			ty.enc = HOP_ENC_SIGNED; /* forward-declared enum: assume int */
		decl_name(x, &t, 1, 0, "", &name);
		sb_addf(&key, "E|%s|%llu|%u", name.s, (unsigned long long)ty.size, ty.enc);
		break;
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
		ty.kind = HOP_KIND_POINTER;
		ty.size = x->idx->pointer_size;
		decl_name(x, &t, 1, 0, "", &name);
		sb_addf(&key, "P|%s", name.s);
		break;
	case DW_TAG_subroutine_type:
		ty.kind = HOP_KIND_FUNCTION;
		decl_name(x, &t, 1, 0, "", &name);
		sb_addf(&key, "F|%s", name.s);
		break;
	case DW_TAG_array_type: {
		Dwarf_Die subs[MAX_DIMS];
		int nd = array_dims(&t, subs, MAX_DIMS);
		if (nd == 0)
			nd = 1; /* no subrange: an array of unknown bound */
		if (dim >= nd)
			return HOP_NONE;
		uint32_t elem;
		if (dim + 1 < nd) {
			elem = type_of(x, &t, 1, dim + 1);
		} else {
			int h = die_type(&t, &next);
			elem = type_of(x, &next, h, 0);
		}
		if (elem == HOP_NONE)
			return HOP_NONE; /* array of void: not C */
		ty.kind = HOP_KIND_ARRAY;
		ty.target = elem;
		ty.count = dim < array_dims(&t, subs, MAX_DIMS) ? dim_count(&subs[dim]) : 0;
		ty.size = ty.count * x->idx->types[elem].size;
		decl_name(x, &t, 1, dim, "", &name);
		sb_addf(&key, "A|%s|%llu", name.s, (unsigned long long)ty.size);
		break;
	}
	default:
		return HOP_NONE;
	}
	if (name.nomem || key.nomem)
		x->nomem = 1;
	if (!x->nomem) {
		ty.name = name.s;
		res = intern_type(x, key.s, &ty, &added);
		if (res != HOP_NONE && u64map_put(&x->die_type, memo, res) < 0)
			x->nomem = 1;
	}
	if (added && ty.kind == HOP_KIND_POINTER) {
		/* the target later, from drain(): following pointers here would
		 * recurse as deep as the longest chain of structs pointing to
		 * each other (thousands in generated code) */
		int h = die_type(&t, &next);
		struct pending p = { res, h ? dwarf_dieoffset(&next) : 0, h };
		PUSH(x, x->pend, x->npend, x->cap_pend, p);
	}
	free(name.s);
	free(key.s);
	return res;
}

/* Convert the targets of new pointer types, and what those bring in. */
static void drain(struct dx *x)
{
	while (x->npend && !x->nomem) {
		struct pending p = x->pend[--x->npend];
		Dwarf_Die d;
		int h = p.have && dwarf_offdie(x->dbg, p.target, &d);
		x->idx->types[p.id].target = type_of(x, &d, h, 0);
	}
}

/* The type of DIE `die` with every pointer target converted too. */
static uint32_t type_of_all(struct dx *x, Dwarf_Die *die, int have)
{
	uint32_t id = type_of(x, die, have, 0);
	drain(x);
	return id;
}

/* ---- pass 1: candidates ------------------------------------------------------ */

struct walk_ctx {
	const char *func; /* enclosing function's name, or NULL at file scope */
	const char *file; /* CU basename */
	int libhop;
};

/* Address of a variable with a static location (DW_OP_addr); 0 if none
 * (register, stack, optimized out, thread-local). */
static int static_address(Dwarf_Die *v, uint64_t *addr)
{
	Dwarf_Attribute a;
	Dwarf_Op *ops;
	size_t n;
	if (!dwarf_attr(v, DW_AT_location, &a))
		return 0;
	if (dwarf_getlocation(&a, &ops, &n) != 0 || n != 1)
		return 0; /* location lists, TLS (addr + push_tls_address), ... */
	if (ops[0].atom == DW_OP_addr) {
		*addr = ops[0].number;
		return 1;
	}
	if (ops[0].atom == DW_OP_addrx || ops[0].atom == DW_OP_GNU_addr_index) {
		Dwarf_Attribute r;
		Dwarf_Addr ad;
		if (dwarf_getlocation_attr(&a, &ops[0], &r) == 0 && dwarf_formaddr(&r, &ad) == 0) {
			*addr = ad;
			return 1;
		}
	}
	return 0;
}

static void note_variable(struct dx *x, Dwarf_Die *d, const struct walk_ctx *ctx)
{
	uint64_t addr;
	const char *n = die_name(d);
	if (!n || die_flag(d, DW_AT_artificial) || !static_address(d, &addr))
		return;
	if (strncmp(n, POINT_PREFIX, strlen(POINT_PREFIX)) == 0) {
		if (!strmap_find(&x->points, n + strlen(POINT_PREFIX)) &&
		    strmap_put(&x->points, n + strlen(POINT_PREFIX), x->points.n) < 0)
			x->nomem = 1;
		return;
	}
	if (ctx->libhop || strncmp(n, HINT_PREFIX, strlen(HINT_PREFIX)) == 0)
		return;
	struct var_cand v = { .die = dwarf_dieoffset(d), .plain = xstrdup(x, n),
			      .func = ctx->func ? xstrdup(x, ctx->func) : NULL, .file = xstrdup(x, ctx->file),
			      .address = addr, .external = die_flag(d, DW_AT_external) };
	PUSH(x, x->vars, x->nvars, x->cap_vars, v);
}

static void note_function(struct dx *x, Dwarf_Die *d, const struct walk_ctx *ctx)
{
	Dwarf_Addr lo, hi;
	const char *n = die_name(d);
	if (!n || dwarf_lowpc(d, &lo) != 0)
		return;
	if (dwarf_highpc(d, &hi) != 0 || hi < lo)
		hi = lo;
	struct func_cand f = { .plain = xstrdup(x, n), .file = xstrdup(x, ctx->file), .address = lo,
			       .size = hi - lo, .external = die_flag(d, DW_AT_external) };
	PUSH(x, x->funcs, x->nfuncs, x->cap_funcs, f);
}

static void note_aggregate(struct dx *x, Dwarf_Die *d, const struct walk_ctx *ctx)
{
	if (die_flag(d, DW_AT_declaration))
		return;
	const char *n = die_name(d);
	if (n) {
		char key[512];
		snprintf(key, sizeof(key), "%s %s", aggregate_word(dwarf_tag(d)), n);
		if (!strmap_find(&x->defs, key) && strmap_put(&x->defs, key, dwarf_dieoffset(d)) < 0)
			x->nomem = 1;
	}
	if (!ctx->libhop)
		PUSH(x, x->prog_types, x->nprog_types, x->cap_prog_types, dwarf_dieoffset(d));
}

/* typedef struct { ... } name_t;  -> the anonymous struct is called name_t */
static void note_typedef(struct dx *x, Dwarf_Die *d)
{
	Dwarf_Die t;
	uint64_t dummy;
	const char *n = die_name(d);
	if (!n || !die_type(d, &t) || !is_aggregate_tag(dwarf_tag(&t)) || die_name(&t))
		return;
	if (u64map_get(&x->anon_name, dwarf_dieoffset(&t), &dummy))
		return;
	char *copy = xstrdup(x, n);
	if (!copy)
		return;
	size_t before = x->ntypedef_names;
	PUSH(x, x->typedef_names, x->ntypedef_names, x->cap_typedef_names, copy);
	if (x->ntypedef_names == before) {
		free(copy);
		return;
	}
	if (u64map_put(&x->anon_name, dwarf_dieoffset(&t), before) < 0)
		x->nomem = 1;
}

static void walk(struct dx *x, Dwarf_Die *parent, const struct walk_ctx *ctx, int depth)
{
	Dwarf_Die c;
	if (depth > 64 || dwarf_child(parent, &c) != 0)
		return;
	do {
		int tag = dwarf_tag(&c);
		struct walk_ctx sub = *ctx;
		switch (tag) {
		case DW_TAG_variable:
			note_variable(x, &c, ctx);
			break;
		case DW_TAG_subprogram:
			if (die_flag(&c, DW_AT_declaration))
				break;
			note_function(x, &c, ctx);
			sub.func = die_name(&c);
			walk(x, &c, &sub, depth + 1);
			break;
		case DW_TAG_inlined_subroutine:
			sub.func = die_name(&c);
			walk(x, &c, &sub, depth + 1);
			break;
		case DW_TAG_lexical_block:
			walk(x, &c, ctx, depth + 1);
			break;
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
		case DW_TAG_enumeration_type:
			note_aggregate(x, &c, ctx);
			break;
		case DW_TAG_typedef:
			note_typedef(x, &c);
			break;
		case DW_TAG_base_type: {
			const char *n = die_name(&c);
			Dwarf_Word sz;
			if (n && strcmp(n, "long double") == 0 && die_udata(&c, DW_AT_byte_size, &sz))
				x->long_double_size = (int)sz;
			break;
		}
		}
	} while (dwarf_siblingof(&c, &c) == 0);
}

static int pass1(struct dx *x)
{
	Dwarf_Off off = 0, next;
	size_t hsize;
	int ncu = 0;

	while (dwarf_nextcu(x->dbg, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		if (dwarf_offdie(x->dbg, off + hsize, &cu)) {
			const char *n = die_name(&cu);
			struct walk_ctx ctx = { .func = NULL, .file = base_name(n),
						.libhop = n && strncmp(n, LIBHOP_CU_PREFIX, strlen(LIBHOP_CU_PREFIX)) == 0 };
			walk(x, &cu, &ctx, 0);
			ncu++;
		}
		off = next;
	}
	if (ncu == 0)
		return hop__fail(HOP_EFORMAT, "%s: no DWARF compilation units (stripped? build with -g)", x->path);
	return 0;
}

/* ---- pass 2: names and entries -------------------------------------------------- */

static char *join(struct dx *x, const char *a, const char *sep, const char *b)
{
	size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
	char *s = malloc(la + ls + lb + 1);
	if (!s) {
		x->nomem = 1;
		return NULL;
	}
	memcpy(s, a, la);
	memcpy(s + la, sep, ls);
	memcpy(s + la + ls, b, lb + 1);
	return s;
}

static int var_by_addr(const void *a, const void *b)
{
	const struct var_cand *x = a, *y = b;
	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	return strcmp(x->plain, y->plain);
}

/* Names of variables: "g"; "func.s" for a function static; "file.c:s" (or
 * "file.c:func.s") when the short name is not unique. */
static void name_vars(struct dx *x)
{
	struct strmap count = { 0 };
	size_t n = 0;

	/* the same variable may appear twice (abstract and concrete DIEs) */
	if (x->nvars)
		qsort(x->vars, x->nvars, sizeof(*x->vars), var_by_addr);
	for (size_t i = 0; i < x->nvars; i++) {
		struct var_cand *v = &x->vars[i];
		if (n && x->vars[n - 1].address == v->address && strcmp(x->vars[n - 1].plain, v->plain) == 0) {
			free(v->plain);
			free(v->func);
			free(v->file);
			continue;
		}
		x->vars[n++] = *v;
	}
	x->nvars = n;
	for (size_t i = 0; i < n; i++) {
		struct var_cand *v = &x->vars[i];
		v->name = v->func ? join(x, v->func, ".", v->plain) : xstrdup(x, v->plain);
		if (!v->name)
			continue;
		uint64_t *c = strmap_find(&count, v->name);
		if (c)
			(*c)++;
		else if (strmap_put(&count, v->name, 1) < 0)
			x->nomem = 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct var_cand *v = &x->vars[i];
		uint64_t *c = v->name ? strmap_find(&count, v->name) : NULL;
		if (c && *c > 1 && (!v->external || v->func)) {
			char *q = join(x, v->file, ":", v->name);
			free(v->name);
			v->name = q;
		}
	}
	strmap_free(&count);
}

static int func_by_addr(const void *a, const void *b)
{
	const struct func_cand *x = a, *y = b;
	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	return x->external != y->external ? y->external - x->external : strcmp(x->plain, y->plain);
}

/* Functions from DWARF, renamed to the ELF symbol at their address when
 * DWARF's name is not one (gcc clones: "f.constprop.0"), plus function
 * symbols DWARF does not describe (crt code). */
static void collect_symbols(struct dx *x)
{
	Elf_Scn *scn = NULL;
	struct u64map at = { 0 };   /* address -> 1 + index into syms */
	struct strmap named = { 0 }; /* "name@address" of DWARF functions */
	struct func_cand *syms = NULL;
	size_t nsyms = 0, capsyms = 0;

	while ((scn = elf_nextscn(x->elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; d && i < n; i++) {
			GElf_Sym s;
			if (!gelf_getsym(d, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
			    s.st_shndx == SHN_UNDEF || !s.st_value)
				continue;
			const char *nm = elf_strptr(x->elf, sh.sh_link, s.st_name);
			if (!nm || !*nm)
				continue;
			struct func_cand f = { .plain = xstrdup(x, nm), .address = s.st_value, .size = s.st_size,
					       .external = GELF_ST_BIND(s.st_info) != STB_LOCAL };
			PUSH(x, syms, nsyms, capsyms, f);
		}
	}
	for (size_t i = 0; i < nsyms; i++) {
		uint64_t prev;
		/* prefer a global symbol when several share an address */
		if (!u64map_get(&at, syms[i].address, &prev) || (!syms[prev - 1].external && syms[i].external))
			if (u64map_put(&at, syms[i].address, i + 1) < 0)
				x->nomem = 1;
	}
	char key[4096];
	for (size_t i = 0; i < nsyms; i++) {
		snprintf(key, sizeof(key), "%s@%llx", syms[i].plain, (unsigned long long)syms[i].address);
		if (strmap_put(&named, key, 1) < 0)
			x->nomem = 1;
	}
	struct u64map seen = { 0 };
	for (size_t i = 0; i < x->nfuncs; i++) {
		struct func_cand *f = &x->funcs[i];
		uint64_t si;
		snprintf(key, sizeof(key), "%s@%llx", f->plain, (unsigned long long)f->address);
		if (!strmap_find(&named, key) && u64map_get(&at, f->address, &si)) {
			free(f->plain);
			f->plain = xstrdup(x, syms[si - 1].plain);
		}
		if (u64map_put(&seen, f->address, 1) < 0)
			x->nomem = 1;
	}
	for (size_t i = 0; i < nsyms; i++) {
		uint64_t si, dummy;
		if (u64map_get(&seen, syms[i].address, &dummy) || !u64map_get(&at, syms[i].address, &si) ||
		    si - 1 != i) {
			free(syms[i].plain);
			continue;
		}
		syms[i].file = xstrdup(x, "");
		PUSH(x, x->funcs, x->nfuncs, x->cap_funcs, syms[i]);
	}
	free(syms);
	u64map_free(&at);
	u64map_free(&seen);
	strmap_free(&named);
}

static void name_funcs(struct dx *x)
{
	struct strmap count = { 0 };
	size_t n = 0;

	if (x->nfuncs)
		qsort(x->funcs, x->nfuncs, sizeof(*x->funcs), func_by_addr);
	for (size_t i = 0; i < x->nfuncs; i++) {
		struct func_cand *f = &x->funcs[i];
		if (n && x->funcs[n - 1].address == f->address) {
			free(f->plain);
			free(f->file);
			continue;
		}
		x->funcs[n++] = *f;
	}
	x->nfuncs = n;
	for (size_t i = 0; i < n; i++) {
		uint64_t *c = strmap_find(&count, x->funcs[i].plain);
		if (c)
			(*c)++;
		else if (strmap_put(&count, x->funcs[i].plain, 1) < 0)
			x->nomem = 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct func_cand *f = &x->funcs[i];
		uint64_t *c = strmap_find(&count, f->plain);
		if (c && *c > 1 && !f->external && f->file && *f->file)
			f->name = join(x, f->file, ":", f->plain);
		else
			f->name = xstrdup(x, f->plain);
	}
	strmap_free(&count);
}

static const char *const wanted_sections[] = {
	".text", ".rodata", ".data", ".bss", ".data.rel.ro", ".tdata", ".tbss",
	".sdata", ".sbss", ".sdata2", ".sbss2", NULL,
};

static int add_sections_and_hints(struct dx *x)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(x->elf, &shstrndx) != 0)
		return hop__fail(HOP_EFORMAT, "%s: no section name table: %s", x->path, elf_errmsg(-1));
	while ((scn = elf_nextscn(x->elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *n = elf_strptr(x->elf, shstrndx, sh.sh_name);
		if (!n)
			continue;
		if (strcmp(n, "hop_hints") == 0 && sh.sh_type != SHT_NOBITS) {
			Elf_Data *d = elf_getdata(scn, NULL);
			const char *p = d ? d->d_buf : NULL, *end = p ? p + d->d_size : NULL;
			while (p && p < end) {
				const char *e = p;
				while (e < end && *e != '\n' && *e != '\0')
					e++;
				if (e > p) {
					char *line = strndup(p, (size_t)(e - p));
					if (!line || hop__index_add_hint(x->idx, line) == HOP_NONE)
						x->nomem = 1;
					free(line);
				}
				p = e + 1;
			}
			continue;
		}
		if (!(sh.sh_flags & SHF_ALLOC))
			continue;
		for (int i = 0; wanted_sections[i]; i++) {
			if (strcmp(wanted_sections[i], n) != 0)
				continue;
			struct hop_section s = { .name = n, .address = sh.sh_addr, .size = sh.sh_size,
						 .flags = (sh.sh_flags & SHF_WRITE ? HOP_SF_WRITE : 0) |
							  (sh.sh_flags & SHF_EXECINSTR ? HOP_SF_EXEC : 0) };
			if (hop__index_add_section(x->idx, &s) == HOP_NONE)
				x->nomem = 1;
		}
	}
	return 0;
}

static int pass2(struct dx *x)
{
	name_vars(x);
	for (size_t i = 0; i < x->nvars && !x->nomem; i++) {
		struct var_cand *v = &x->vars[i];
		Dwarf_Die d, t;
		if (!dwarf_offdie(x->dbg, v->die, &d))
			continue;
		int h = die_type(&d, &t);
		uint32_t tid = type_of_all(x, &t, h);
		if (tid == HOP_NONE || !v->name)
			continue; /* a variable of no C type cannot be translated */
		struct hop_var hv = { .name = v->name, .type = tid, .size = x->idx->types[tid].size,
				      .address = v->address };
		if (hop__index_add_var(x->idx, &hv) == HOP_NONE)
			x->nomem = 1;
	}
	/* every struct/union/enum the program defines, even when only the
	 * heap (through hints) reaches it */
	for (size_t i = 0; i < x->nprog_types && !x->nomem; i++) {
		Dwarf_Die d;
		if (dwarf_offdie(x->dbg, x->prog_types[i], &d))
			type_of_all(x, &d, 1);
	}
	collect_symbols(x);
	name_funcs(x);
	for (size_t i = 0; i < x->nfuncs && !x->nomem; i++) {
		struct hop_func f = { .name = x->funcs[i].name, .address = x->funcs[i].address,
				      .size = x->funcs[i].size };
		if (f.name && hop__index_add_func(x->idx, &f) == HOP_NONE)
			x->nomem = 1;
	}
	/* points in the order they were first seen */
	for (size_t i = 0; i < x->points.n && !x->nomem; i++)
		for (size_t k = 0; k < x->points.cap; k++)
			if (x->points.keys[k] && x->points.vals[k] == i && hop__index_add_point(x->idx, x->points.keys[k]) == HOP_NONE)
				x->nomem = 1;
	return add_sections_and_hints(x);
}

/* ---- target -------------------------------------------------------------------- */

static int read_target(struct dx *x)
{
	GElf_Ehdr eh;
	if (!gelf_getehdr(x->elf, &eh))
		return hop__fail(HOP_EFORMAT, "%s: bad ELF header: %s", x->path, elf_errmsg(-1));
	const struct tool_target *t = tool_target_by_machine(eh.e_machine);
	int cls = eh.e_ident[EI_CLASS], data = eh.e_ident[EI_DATA];
	if (!t)
		return hop__fail(HOP_ETARGET, "%s: ELF machine %u is not a hop target (targets: %s)", x->path,
				 eh.e_machine, tool_target_names());
	if ((cls != ELFCLASS32 && cls != ELFCLASS64) || (data != ELFDATA2LSB && data != ELFDATA2MSB))
		return hop__fail(HOP_EFORMAT, "%s: bad ELF class %d or data encoding %d", x->path, cls, data);
	size_t size = 0;
	const char *raw = elf_rawfile(x->elf, &size);
	if (!raw || eh.e_shoff > size || (uint64_t)eh.e_shnum * eh.e_shentsize > size - eh.e_shoff)
		return hop__fail(HOP_EFORMAT, "%s: ELF file is truncated (%zu bytes, section headers at %llu)",
				 x->path, size, (unsigned long long)eh.e_shoff);
	x->idx->arch = (uint8_t)t->arch;
	x->idx->pointer_size = cls == ELFCLASS64 ? 8 : 4;
	x->idx->big_endian = data == ELFDATA2MSB;
	return 0;
}

/* long double: read from the base type when the program has one; else the
 * ABI's default for the architecture. */
static uint8_t long_double_format(int arch, int size)
{
	if (size == 8)
		return HOP_LD_BINARY64;
	switch (arch) {
	case HOP_ARCH_X86_64:
	case HOP_ARCH_I686:
		return HOP_LD_X87_80;
	case HOP_ARCH_AARCH64:
	case HOP_ARCH_S390X:
		return HOP_LD_BINARY128;
	case HOP_ARCH_POWERPC:
		return HOP_LD_IBM128;
	}
	return HOP_LD_NONE;
}

static int has_section(Elf *elf, const char *name)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;
		if (gelf_getshdr(scn, &sh) && sh.sh_type != SHT_NOBITS && (n = elf_strptr(elf, shstrndx, sh.sh_name)) &&
		    strcmp(n, name) == 0)
			return 1;
	}
	return 0;
}

/* ---- entry ------------------------------------------------------------------------ */

static void dx_free(struct dx *x)
{
	for (size_t i = 0; i < x->nvars; i++) {
		free(x->vars[i].plain);
		free(x->vars[i].func);
		free(x->vars[i].file);
		free(x->vars[i].name);
	}
	free(x->vars);
	for (size_t i = 0; i < x->nfuncs; i++) {
		free(x->funcs[i].plain);
		free(x->funcs[i].file);
		free(x->funcs[i].name);
	}
	free(x->funcs);
	for (size_t i = 0; i < x->ntypedef_names; i++)
		free(x->typedef_names[i]);
	free(x->typedef_names);
	free(x->prog_types);
	free(x->pend);
	u64map_free(&x->die_type);
	u64map_free(&x->anon_name);
	strmap_free(&x->type_key);
	strmap_free(&x->defs);
	strmap_free(&x->points);
}

int hop__dwarf_index(const char *path, struct hop_index **out)
{
	struct dx x = { .path = path };
	int fd, rc;

	*out = NULL;
	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hop__sysfail("%s: open", path);
	x.elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!x.elf || elf_kind(x.elf) != ELF_K_ELF) {
		rc = hop__fail(HOP_EFORMAT, "%s: not an ELF file", path);
		goto out;
	}
	x.idx = hop__index_new();
	if (!x.idx) {
		rc = hop__fail(HOP_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	if ((rc = read_target(&x)) < 0)
		goto out;
	if (!has_section(x.elf, ".debug_info")) {
		rc = hop__fail(HOP_EFORMAT, "%s: no DWARF debug info (stripped? build with -g)", path);
		goto out;
	}
	x.dbg = dwarf_begin_elf(x.elf, DWARF_C_READ, NULL);
	if (!x.dbg) {
		rc = hop__fail(HOP_EFORMAT, "%s: cannot read DWARF: %s", path, dwarf_errmsg(-1));
		goto out;
	}
	if ((rc = pass1(&x)) < 0 || (rc = pass2(&x)) < 0)
		goto out;
	if (x.nomem) {
		rc = hop__fail(HOP_ENOMEM, "%s: out of memory reading DWARF", path);
		goto out;
	}
	x.idx->long_double = long_double_format(x.idx->arch, x.long_double_size);
	if ((rc = hop__index_finish(x.idx)) < 0)
		goto out;
	*out = x.idx;
	x.idx = NULL;
	rc = 0;
out:
	if (x.dbg)
		dwarf_end(x.dbg);
	if (x.elf)
		elf_end(x.elf);
	close(fd);
	hop__index_free(x.idx);
	dx_free(&x);
	return rc;
}
