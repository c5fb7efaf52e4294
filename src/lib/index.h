/* index.h -- the index of an executable: hop's "pointer index".
 *
 * The index says, for one build of a program on one machine, where every
 * global lives and how every type is laid out: sizes, member offsets,
 * bit-fields, byte order, pointer size; every function (for function
 * pointers), every transfer point and every hint. The host tool builds it
 * from DWARF (src/tool/dwarf.c) and attaches it to the executable in the
 * binary form described in docs/index-format.md; libhop loads and verifies
 * it at run time without libdw. Both sides use this one in-memory form.
 *
 * All tables are plain arrays; entries refer to each other by array index
 * (uint32_t). Names are NUL-terminated strings owned by the index.
 */
#ifndef HOP_INDEX_H
#define HOP_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define HOP_NONE UINT32_MAX /* "no type": void, or an absent reference */

enum hop_arch {
	HOP_ARCH_UNKNOWN = 0,
	HOP_ARCH_X86_64 = 1,
	HOP_ARCH_I686 = 2,
	HOP_ARCH_AARCH64 = 3,
	HOP_ARCH_S390X = 4,
	HOP_ARCH_POWERPC = 5,
};

/* Format of `long double` on the target. */
enum hop_ldfmt {
	HOP_LD_NONE = 0,      /* unknown */
	HOP_LD_BINARY64 = 1,  /* same as double */
	HOP_LD_X87_80 = 2,    /* x87 extended, 10 bytes used of 12 or 16 */
	HOP_LD_BINARY128 = 3, /* IEEE quad */
	HOP_LD_IBM128 = 4,    /* IBM double-double (powerpc) */
};

enum hop_kind {
	HOP_KIND_BASE = 1,    /* integer, char, _Bool, floating */
	HOP_KIND_ENUM = 2,
	HOP_KIND_POINTER = 3, /* target: pointee type, HOP_NONE for void * */
	HOP_KIND_ARRAY = 4,   /* target: element type; count: elements (0 = flexible) */
	HOP_KIND_STRUCT = 5,
	HOP_KIND_UNION = 6,
	HOP_KIND_FUNCTION = 7, /* a function type; pointers to it are function pointers */
};

/* Encoding of a base type or enum (how to read its bytes as a value). */
enum hop_enc {
	HOP_ENC_NONE = 0,
	HOP_ENC_SIGNED = 1,
	HOP_ENC_UNSIGNED = 2,
	HOP_ENC_BOOL = 3,
	HOP_ENC_SIGNED_CHAR = 4,   /* char, signed char */
	HOP_ENC_UNSIGNED_CHAR = 5, /* unsigned char, and plain char where unsigned */
	HOP_ENC_FLOAT = 6,         /* float, double, long double (by size + ldfmt) */
	HOP_ENC_COMPLEX = 7,       /* _Complex: two floats of size/2 */
};

struct hop_type {
	const char *name; /* as C spells it: "struct node", "unsigned long", "int *" */
	uint8_t kind;     /* enum hop_kind */
	uint8_t enc;      /* enum hop_enc, for BASE and ENUM */
	uint16_t flags;   /* HOP_TF_* */
	uint64_t size;    /* bytes; 0 for function types and incomplete structs */
	uint32_t target;  /* POINTER: pointee; ARRAY: element; ENUM: HOP_NONE */
	uint64_t count;   /* ARRAY: number of elements (0 = flexible/unknown) */
	uint32_t first_member; /* STRUCT/UNION: index into members[] */
	uint32_t nmembers;
};

#define HOP_TF_DECLARATION 0x1 /* incomplete struct/union: no members known */

struct hop_member {
	const char *name;    /* "" never: anonymous members are "__anon0", "__anon1", ... in order */
	uint32_t type;
	uint64_t offset;     /* byte offset in the struct (bit_offset / 8 for bit-fields) */
	uint32_t bit_offset; /* bit-fields: offset in bits from the struct's start, in
	                      * the target's bit order (LSB-first little endian,
	                      * MSB-first big endian); otherwise 0 */
	uint32_t bit_size;   /* bit-fields: width in bits; 0 = not a bit-field */
};

struct hop_var {
	const char *name; /* "g", "func.s" (function static), "file.c:s" (clashing file static) */
	uint32_t type;
	uint64_t size;
	uint64_t address; /* link-time address; add the load bias at run time */
};

struct hop_func {
	const char *name;
	uint64_t address;
	uint64_t size;
};

struct hop_point_entry {
	const char *name;
};

/* Allocated sections the runtime cares about: where read-only data (string
 * literals) and writable data (tracked globals) lie. */
struct hop_section {
	const char *name; /* ".rodata", ".data", ".bss", ".data.rel.ro", ... */
	uint64_t address;
	uint64_t size;
	uint32_t flags; /* HOP_SF_* */
};

#define HOP_SF_WRITE 0x1
#define HOP_SF_EXEC 0x2

struct hop_index {
	uint8_t arch;        /* enum hop_arch */
	uint8_t pointer_size;
	uint8_t big_endian;  /* 1 = big, 0 = little */
	uint8_t long_double; /* enum hop_ldfmt */

	struct hop_type *types;
	uint32_t ntypes;
	struct hop_member *members;
	uint32_t nmembers;
	struct hop_var *vars;
	uint32_t nvars;
	struct hop_func *funcs;  /* sorted by address */
	uint32_t nfuncs;
	struct hop_point_entry *points;
	uint32_t npoints;
	struct hop_section *sections;
	uint32_t nsections;
	const char **hints;      /* raw hint lines, see hop.h HOP__HINT */
	uint32_t nhints;

	/* private: storage of the names and tables */
	void *storage;
};

/* ---- names ---- */
const char *hop__arch_name(int arch);       /* "x86_64", ... or "unknown" */
int hop__arch_by_name(const char *name);    /* HOP_ARCH_*, or 0 */
const char *hop__ldfmt_name(int fmt);       /* "x87-80", "binary128", ... */
const char *hop__kind_name(int kind);       /* "base", "struct", ... */

/* ---- building (tool) ----
 * An index under construction: append entries, then hop__index_finish()
 * sorts functions and makes names permanent. Strings are copied. */
struct hop_index *hop__index_new(void);
uint32_t hop__index_add_type(struct hop_index *idx, const struct hop_type *t);
uint32_t hop__index_add_member(struct hop_index *idx, const struct hop_member *m);
uint32_t hop__index_add_var(struct hop_index *idx, const struct hop_var *v);
uint32_t hop__index_add_func(struct hop_index *idx, const struct hop_func *f);
uint32_t hop__index_add_point(struct hop_index *idx, const char *name);
uint32_t hop__index_add_section(struct hop_index *idx, const struct hop_section *s);
uint32_t hop__index_add_hint(struct hop_index *idx, const char *text);
/* Copy a string into the index's storage; NULL on allocation failure. */
const char *hop__index_strdup(struct hop_index *idx, const char *s);
/* Sort functions by address; verify like a loaded index. 0 or HOP_E*. */
int hop__index_finish(struct hop_index *idx);

/* ---- binary form ----
 * Encode into a malloc'ed buffer (*out, *len). 0 or HOP_E*. */
int hop__index_encode(const struct hop_index *idx, uint8_t **out, size_t *len);
/* Decode and verify; never trusts a length or a reference it has not
 * checked. 0 or HOP_EFORMAT (message names the field) / HOP_ENOMEM. */
int hop__index_decode(const uint8_t *buf, size_t len, struct hop_index **out);
/* Check references, sizes, member ranges and that no type contains itself. */
int hop__index_verify(const struct hop_index *idx);
void hop__index_free(struct hop_index *idx);

/* ---- lookups ---- */
const struct hop_var *hop__index_var(const struct hop_index *idx, const char *name);
const struct hop_func *hop__index_func(const struct hop_index *idx, const char *name);
/* The function whose entry is exactly addr, or NULL. */
const struct hop_func *hop__index_func_at(const struct hop_index *idx, uint64_t addr);
/* A type id by its C name, or HOP_NONE. */
uint32_t hop__index_type(const struct hop_index *idx, const char *name);
/* Member of struct/union type `t` named `name`, or NULL. */
const struct hop_member *hop__index_member(const struct hop_index *idx, uint32_t t, const char *name);
/* Follow typedef-free type to its real size (arrays: count * element). */
uint64_t hop__type_size(const struct hop_index *idx, uint32_t t);

/* The current process's own index (libhop runtime). Loads it once from the
 * ".hop_index" section of /proc/self/exe, or the file named by $HOP_INDEX.
 * 0 or HOP_E* (ENOINDEX, EFORMAT, ETARGET). */
int hop__self_index(const struct hop_index **out, intptr_t *bias);
/* Index of the machine this code was compiled for (arch, sizes, endian). */
void hop__native_target(uint8_t *arch, uint8_t *ptr_size, uint8_t *big_endian, uint8_t *ldfmt);

#endif
