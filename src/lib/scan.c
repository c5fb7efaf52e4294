/* scan.c -- the origin's side of translation: find the reachable state.
 *
 * Starting from the globals, follow every typed pointer: into a global, a
 * function, a string literal of the executable, or a heap block (found with
 * the heap's block table). A heap block's type is what the pointers reaching
 * it say: the largest type of which every other reach is a subobject (so a
 * `struct base *` to the head of a `struct derived` block types it as the
 * derived struct), an array when the block holds several elements, raw bytes
 * when only char pointers reach it. A block reached only through void *, or
 * as two types neither of which contains the other, is refused with the hint
 * that would settle it. Anything else a pointer may hold (the stack, libc's
 * memory, freed memory) stops the scan with the pointer's path.
 *
 * Incremental: hop__scan_changed() re-reads only the part of each object that
 * lies in the changed ranges (a page map finds the objects), so a delta pass
 * costs what the delta costs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "err.h"
#include "heap.h"
#include "xlate.h"

#define LITERAL_MAX 65536 /* longest string literal we follow */
#define PAGE_SHIFT 12

/* ---- the runtime's own heap -------------------------------------------------------- */
static int real_find(void *ctx, uint64_t addr, uint64_t *start, uint64_t *size)
{
	uintptr_t s;
	size_t n;
	if ((uintptr_t)addr != addr || !hop__heap_find((uintptr_t)addr, &s, &n))
		return 0;
	*start = s;
	*size = n;
	return 1;
}

static void *real_alloc(void *ctx, size_t size)
{
	void *p = hop__malloc(size ? size : 1);
	if (p)
		memset(p, 0, size);
	return p;
}

static void real_release(void *ctx, void *p)
{
	hop__free(p);
}

static void *real_resize(void *ctx, void *p, size_t size)
{
	return hop__realloc(p, size ? size : 1);
}

const struct hop_heap_ops hop__real_heap = { real_find, real_alloc, real_release, NULL, real_resize };

/* ---- objects ------------------------------------------------------------------------- */
enum { ST_UNTYPED = 0, ST_RAW = 1, ST_TYPED = 2 };

/* A typed pointer that gave a block its type: pointee type, offset in the
 * block, and the slot it was read from (object, offset), so that a reach read
 * from memory the program has changed since can be recognised and dropped. */
struct reach {
	uint32_t type, from;
	uint64_t off, foff;
};

struct sobj {
	struct hop_obj o;
	uint32_t parent;      /* first pointer that reached it: object and offset */
	uint64_t poff;
	uint32_t vparent;     /* first void * that reached it (for the hint message) */
	uint64_t vpoff;
	uint8_t state, queued, changed, dead, hashed;
	uint8_t in_sum, squeued; /* digest: hash counted in s->sum; on s->stale */
	struct reach *reaches;
	uint32_t nreach;
	uint64_t hash[2];
};

/* A block found at an address the scan knew with another size: the new
 * object, and the old one's type, state and size. */
struct was {
	uint32_t id, type;
	uint8_t state;
	uint64_t size;
};

struct deferred {
	uint32_t from, pt;
	uint64_t foff, p;
};

struct pagelink {
	uint32_t obj, next;
};

struct hop_scan {
	const struct hop_index *idx;
	struct hop_lay *lay;
	intptr_t bias;
	struct hop_heap_ops heap;
	struct sobj *objs;
	size_t nobjs, cap;
	struct hop_amap byaddr;  /* block start / literal address -> object */
	uint32_t *queue;
	size_t qhead, qlen, qcap;
	size_t *changed;
	size_t nchanged, chcap;
	uint32_t *mpt;           /* per member: pointee from a hint (HOP_NONE-1 = not looked up) */
	uint32_t *touched;       /* blocks typed or retyped in this pass (checked at its end) */
	size_t ntouched, tcap;
	struct hop_amap pages;   /* page -> first pagelink */
	struct pagelink *links;
	size_t nlinks, lcap;
	struct deferred *def;    /* pointers to a block start that may be an end (adjacent blocks) */
	size_t ndef, defcap;
	int all_stale;           /* a retype happened: every cached object hash is stale */
	uint64_t sum[2];         /* the digest: sum of the hashes counted */
	uint32_t *stale;         /* objects whose hash must be computed again */
	size_t nstale, capstale;
	uint64_t *replaced;      /* blocks found resized in place or reused (hop__scan_take_replaced) */
	size_t nreplaced, capreplaced;
	struct was *was;         /* what those blocks were, checked at the pass's end (check_touched) */
	size_t nwas, capwas;
	int scanned;
};

static int get_pathobj(void *ctx, uint32_t id, struct hop_pathobj *out)
{
	struct hop_scan *s = ctx;
	if (id >= s->nobjs)
		return -1;
	const struct sobj *o = &s->objs[id];
	out->name = o->o.kind == HOP_OBJ_GLOBAL ? s->idx->vars[o->o.var].name : NULL;
	out->addr = o->o.addr;
	out->type = o->o.type;
	out->parent = o->parent;
	out->poff = o->poff;
	return 0;
}

static const char *path(struct hop_scan *s, uint32_t obj, uint64_t off, char *buf, size_t len)
{
	hop__path(s->idx, get_pathobj, s, obj, off, buf, len);
	return buf;
}

static int push(struct hop_scan *s, uint32_t id)
{
	if (s->objs[id].queued)
		return 0;
	if (s->qlen == s->qcap) {
		size_t cap = s->qcap ? s->qcap * 2 : 256;
		uint32_t *q = malloc(sizeof(uint32_t) * cap);
		if (!q)
			return hop__fail(HOP_ENOMEM, "scan: out of memory");
		for (size_t i = 0; i < s->qlen; i++)
			q[i] = s->queue[(s->qhead + i) % s->qcap];
		free(s->queue);
		s->queue = q;
		s->qcap = cap;
		s->qhead = 0;
	}
	s->queue[(s->qhead + s->qlen++) % s->qcap] = id;
	s->objs[id].queued = 1;
	return 0;
}

/* Object id's values or type changed: hash it again at the next digest. */
static void unhash(struct hop_scan *s, uint32_t id)
{
	struct sobj *o = &s->objs[id];
	o->hashed = 0;
	if (o->squeued)
		return;
	if (s->nstale == s->capstale) {
		size_t cap = s->capstale ? s->capstale * 2 : 256;
		uint32_t *v = realloc(s->stale, sizeof(*v) * cap);
		if (!v) {
			s->all_stale = 1;
			return;
		}
		s->stale = v;
		s->capstale = cap;
	}
	s->stale[s->nstale++] = id;
	o->squeued = 1;
}

/* Object id is gone: its hash leaves the sum. */
static void kill_obj(struct hop_scan *s, uint32_t id)
{
	struct sobj *o = &s->objs[id];
	o->dead = 1;
	if (o->in_sum)
		hop__digest_sub(s->sum, o->hash);
	o->in_sum = 0;
}

static void mark_changed(struct hop_scan *s, uint32_t id)
{
	struct sobj *o = &s->objs[id];
	unhash(s, id);
	if (o->changed)
		return;
	if (s->nchanged == s->chcap) {
		size_t cap = s->chcap ? s->chcap * 2 : 256;
		size_t *c = realloc(s->changed, sizeof(size_t) * cap);
		if (!c)
			return; /* the object stays unmarked; hash invalidated anyway */
		s->changed = c;
		s->chcap = cap;
	}
	s->changed[s->nchanged++] = id;
	o->changed = 1;
}

static int add_pages(struct hop_scan *s, uint32_t id)
{
	const struct hop_obj *o = &s->objs[id].o;
	uint64_t first = o->addr >> PAGE_SHIFT, last = (o->addr + (o->size ? o->size - 1 : 0)) >> PAGE_SHIFT;
	for (uint64_t p = first; p <= last; p++) {
		if (s->nlinks == s->lcap) {
			size_t cap = s->lcap ? s->lcap * 2 : 1024;
			struct pagelink *l = realloc(s->links, sizeof(*l) * cap);
			if (!l)
				return hop__fail(HOP_ENOMEM, "scan: out of memory");
			s->links = l;
			s->lcap = cap;
		}
		uint32_t head = hop__amap_get(&s->pages, p);
		s->links[s->nlinks] = (struct pagelink){ id, head };
		int rc = hop__amap_put(&s->pages, p, (uint32_t)s->nlinks);
		if (rc < 0)
			return rc;
		s->nlinks++;
	}
	return 0;
}

static int touch(struct hop_scan *s, uint32_t id)
{
	if (s->ntouched == s->tcap) {
		size_t cap = s->tcap ? s->tcap * 2 : 256;
		uint32_t *t = realloc(s->touched, sizeof(uint32_t) * cap);
		if (!t)
			return hop__fail(HOP_ENOMEM, "scan: out of memory");
		s->touched = t;
		s->tcap = cap;
	}
	s->touched[s->ntouched++] = id;
	return 0;
}

static int new_obj(struct hop_scan *s, const struct hop_obj *o, uint32_t parent, uint64_t poff, uint32_t *id)
{
	if (s->nobjs == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		if (cap >= HOP_NONE)
			return hop__fail(HOP_ENOMEM, "scan: too many objects");
		struct sobj *n = realloc(s->objs, sizeof(*n) * cap);
		if (!n)
			return hop__fail(HOP_ENOMEM, "scan: out of memory");
		hop__mem_huge(n + s->cap, sizeof(*n) * (cap - s->cap));
		s->objs = n;
		s->cap = cap;
	}
	struct sobj *so = &s->objs[s->nobjs];
	memset(so, 0, sizeof(*so));
	so->o = *o;
	so->parent = parent;
	so->poff = poff;
	so->vparent = HOP_NONE;
	*id = (uint32_t)s->nobjs++;
	int rc = 0;
	if (o->kind != HOP_OBJ_GLOBAL)
		rc = hop__amap_put(&s->byaddr, o->addr, *id);
	if (rc == 0 && o->kind != HOP_OBJ_LITERAL)
		rc = add_pages(s, *id);
	if (rc == 0 && o->kind == HOP_OBJ_BLOCK)
		rc = touch(s, *id); /* untyped until a reach types it: checked at the pass's end */
	if (rc == 0)
		mark_changed(s, *id);
	return rc;
}

/* ---- typing a block ------------------------------------------------------------------------ */
static int char_like(const struct hop_index *idx, uint32_t t)
{
	int sg, fmt;
	return hop__scalar(idx, t, &sg, &fmt) == HOP_SC_CHAR;
}

/* The complete type behind t (a declaration elsewhere complete), or HOP_NONE. */
static uint32_t complete(struct hop_scan *s, uint32_t t)
{
	const struct hop_index *idx = s->idx;
	if (t >= idx->ntypes)
		return HOP_NONE;
	if (idx->types[t].kind == HOP_KIND_FUNCTION)
		return HOP_NONE;
	if (idx->types[t].size)
		return t;
	uint32_t c = hop__lay_type(s->lay, idx->types[t].name);
	return c != HOP_NONE && idx->types[c].size ? c : HOP_NONE;
}

static int add_reach(struct hop_scan *s, uint32_t b, uint32_t pt, uint64_t off, uint32_t from, uint64_t foff);

/* Does the slot a reach was read from still hold that pointer? Not when its
 * object is gone or the slot now holds another value: the reach was read
 * while the program changed that memory (or before it freed and reused the
 * block), and must not type the block any more. */
static int reach_holds(struct hop_scan *s, const struct sobj *o, const struct reach *r)
{
	const struct hop_index *idx = s->idx;
	if (r->from >= s->nobjs)
		return 1; /* not from a slot (cannot be re-read): keep */
	const struct sobj *src = &s->objs[r->from];
	if (src->dead || r->foff > src->o.size || src->o.size - r->foff < idx->pointer_size)
		return 0;
	uint64_t p = hop__get_uint((const uint8_t *)(uintptr_t)(src->o.addr + r->foff), idx->pointer_size,
				   idx->big_endian);
	return p == o->o.addr + r->off;
}

/* Block b is reached as a type incompatible with its reaches: drop the
 * reaches whose slots no longer hold them and type the block again from the
 * rest. 1 if any was dropped (the caller tries again), 0 if all hold. */
static int prune_reaches(struct hop_scan *s, uint32_t b, int *rc)
{
	struct sobj *o = &s->objs[b];
	uint32_t keep = 0, n = o->nreach;
	*rc = 0;
	for (uint32_t i = 0; i < n; i++)
		if (reach_holds(s, o, &o->reaches[i]))
			o->reaches[keep++] = o->reaches[i];
	if (keep == n)
		return 0;
	struct reach *old = o->reaches;
	o->reaches = NULL;
	o->nreach = 0;
	o->state = ST_UNTYPED;
	o->o.type = HOP_NONE;
	o->o.count = 0;
	s->all_stale = 1; /* pointers into it get other logical paths */
	*rc = touch(s, b); /* untyped until a reach types it: checked at the pass's end */
	for (uint32_t i = 0; i < keep && *rc == 0; i++)
		*rc = add_reach(s, b, old[i].type, old[i].off, old[i].from, old[i].foff);
	free(old);
	mark_changed(s, b); /* sent again whole: its type changed */
	return 1;
}

static int add_reach(struct hop_scan *s, uint32_t b, uint32_t pt, uint64_t off, uint32_t from, uint64_t foff)
{
	const struct hop_index *idx = s->idx;
	struct sobj *o = &s->objs[b];
	char p1[512], p2[512];

	pt = complete(s, pt);
	if (pt == HOP_NONE) {
		if (o->vparent == HOP_NONE) {
			o->vparent = from;
			o->vpoff = foff;
		}
		return 0;
	}
	if (char_like(idx, pt)) {
		if (o->state == ST_UNTYPED) {
			o->state = ST_RAW;
			o->o.type = pt;
			o->o.count = o->o.size;
			o->parent = from;
			o->poff = foff;
			unhash(s, b);
			return touch(s, b);
		}
		return 0;
	}
	uint64_t ps = idx->types[pt].size;
	if (o->state == ST_TYPED) {
		uint32_t cur = o->o.type;
		uint64_t cs = idx->types[cur].size;
		if (hop__is_sub(idx, cur, off % cs, pt) || (off == o->o.size && off % cs == 0 && off % ps == 0))
			return 0;
		/* does pt contain everything seen so far? then it is the better type */
		int ok = off % ps == 0 || hop__is_sub(idx, pt, off % ps, pt);
		for (uint32_t i = 0; i < o->nreach && ok; i++)
			ok = hop__is_sub(idx, pt, o->reaches[i].off % ps, o->reaches[i].type);
		int rc;
		if (!ok && prune_reaches(s, b, &rc))
			return rc < 0 ? rc : add_reach(s, b, pt, off, from, foff);
		if (!ok) {
			path(s, o->parent, o->poff, p1, sizeof(p1));
			path(s, from, foff, p2, sizeof(p2));
			return hop__fail(HOP_EHINT,
					 "%s: heap block 0x%llx (%llu bytes) is reached as %s here and as %s by %s; "
					 "the types are incompatible: make the pointers agree, or state the type with "
					 "HOP_POINTS_TO on a void * member",
					 p2, (unsigned long long)o->o.addr, (unsigned long long)o->o.size,
					 idx->types[pt].name, idx->types[cur].name, p1);
		}
	}
	/* the path through the pointer that gave the block its (new) type reads best */
	o->parent = from;
	o->poff = foff;
	struct reach *r = realloc(o->reaches, sizeof(*r) * (o->nreach + 1));
	if (!r)
		return hop__fail(HOP_ENOMEM, "scan: out of memory");
	o->reaches = r;
	r[o->nreach++] = (struct reach){ pt, from, off, foff };
	if (o->state == ST_TYPED)
		s->all_stale = 1; /* pointers into it now have other logical paths */
	o->state = ST_TYPED;
	o->o.type = pt;
	o->o.count = hop__lay_fam(s->lay, pt) ? 1 : o->o.size / ps;
	unhash(s, b);
	int rc = touch(s, b);
	return rc < 0 ? rc : push(s, b);
}

/* ---- following one pointer -------------------------------------------------------------------- */
static const struct hop_section *rodata_at(const struct hop_index *idx, uint64_t a)
{
	for (uint32_t i = 0; i < idx->nsections; i++) {
		const struct hop_section *sec = &idx->sections[i];
		if (!(sec->flags & (HOP_SF_WRITE | HOP_SF_EXEC)) && a >= sec->address && a - sec->address < sec->size)
			return sec;
	}
	return NULL;
}

/* A pointer to the start of a block that directly follows another block
 * (the slab allocator packs them) may be a one-past-the-end pointer of the
 * first. Decided after the pass, when types are known: see hop__prefer_end. */
static uint32_t adjacent_prev(struct hop_scan *s, uint64_t p)
{
	uint64_t as, az;
	if (p == 0 || !s->heap.find(s->heap.ctx, p - 1, &as, &az) || as + az != p)
		return HOP_NONE;
	return hop__amap_get(&s->byaddr, as);
}

/* B, the object at p, first: when it rules every A out (hop__end_may_win),
 * A is not looked up. *bp = B (HOP_NONE if none), for a caller that needs it. */
static uint32_t end_of(struct hop_scan *s, uint64_t p, uint32_t pt, uint32_t *bp)
{
	uint32_t b = hop__amap_get(&s->byaddr, p);
	int bex = b != HOP_NONE && s->objs[b].state != ST_UNTYPED;
	uint32_t bt = bex ? s->objs[b].o.type : HOP_NONE;
	if (bp)
		*bp = b;
	if (b != HOP_NONE && !hop__end_may_win(s->idx, bex, bt, complete(s, pt)))
		return HOP_NONE;
	uint32_t a = adjacent_prev(s, p);
	if (a == HOP_NONE || s->objs[a].state != ST_TYPED)
		return HOP_NONE;
	if (b == HOP_NONE) /* the scan left B out: the pointer meant A's end */
		return hop__is_sub(s->idx, s->objs[a].o.type, 0, complete(s, pt)) ? a : HOP_NONE;
	return hop__prefer_end(s->idx, s->objs[a].o.type, bex, bt, complete(s, pt)) ? a : HOP_NONE;
}

/* hop__end_may_win(idx, 1, any, pt) is 0: a pointer of this pointee type
 * to a block's start never means the end of the block before. */
static int pointee_rules_out_end(struct hop_scan *s, uint32_t pt)
{
	uint32_t c = complete(s, pt);
	return c == HOP_NONE || char_like(s->idx, c);
}

static int defer(struct hop_scan *s, uint32_t from, uint64_t foff, uint64_t p, uint32_t pt)
{
	if (s->ndef == s->defcap) {
		size_t cap = s->defcap ? s->defcap * 2 : 64;
		struct deferred *d = realloc(s->def, sizeof(*d) * cap);
		if (!d)
			return hop__fail(HOP_ENOMEM, "scan: out of memory");
		s->def = d;
		s->defcap = cap;
	}
	s->def[s->ndef++] = (struct deferred){ from, pt, foff, p };
	return 0;
}

static int visit_block(struct hop_scan *s, uint32_t from, uint64_t foff, uint64_t p, uint32_t pt, uint64_t start,
		       uint64_t size);

static int visit(struct hop_scan *s, uint32_t from, uint64_t foff, uint64_t p, uint32_t pt)
{
	const struct hop_index *idx = s->idx;
	uint64_t start, size, a = p - (uint64_t)s->bias, off;
	uint32_t id;
	char pb[512];

	if (p == 0)
		return 0;
	if (s->heap.find && s->heap.find(s->heap.ctx, p, &start, &size)) {
		/* the end of the block before? never for a char or void pointer
		 * (hop__prefer_end): no look-up of that block for them */
		if (p == start && !pointee_rules_out_end(s, pt)) {
			uint32_t prev = adjacent_prev(s, p);
			if (prev != HOP_NONE && s->objs[prev].state == ST_TYPED &&
			    hop__prefer_end(idx, s->objs[prev].o.type, 1, HOP_NONE, complete(s, pt)))
				return defer(s, from, foff, p, pt);
		}
		return visit_block(s, from, foff, p, pt, start, size);
	}
	if (hop__lay_var_at(s->lay, a, &id, &off))
		return 0;
	if (hop__index_func_at(idx, a))
		return 0;
	const struct hop_section *sec = rodata_at(idx, a);
	if (sec) {
		if (hop__amap_get(&s->byaddr, p) != HOP_NONE)
			return 0;
		uint64_t max = sec->address + sec->size - a;
		if (max > LITERAL_MAX)
			max = LITERAL_MAX;
		const char *str = (const char *)(uintptr_t)p;
		const char *nul = memchr(str, 0, (size_t)max);
		if (!nul)
			return hop__fail(HOP_EXLATE, "%s: points into read-only data (%s+0x%llx) that is not a "
					 "NUL-terminated string of at most %d bytes",
					 path(s, from, foff, pb, sizeof(pb)), sec->name,
					 (unsigned long long)(a - sec->address), LITERAL_MAX);
		struct hop_obj o = { HOP_OBJ_LITERAL, HOP_NONE, p, (uint64_t)(nul - str) + 1, HOP_NONE, 0 };
		o.count = o.size;
		return new_obj(s, &o, from, foff, &id);
	}
	return hop__fail(HOP_EXLATE, "%s: points to 0x%llx which is not a global, heap block, function or "
			 "literal (the stack, libc's memory or freed memory?)",
			 path(s, from, foff, pb, sizeof(pb)), (unsigned long long)p);
}

static int visit_block(struct hop_scan *s, uint32_t from, uint64_t foff, uint64_t p, uint32_t pt, uint64_t start,
		       uint64_t size)
{
	char pb[512];
	uint32_t id = hop__amap_get(&s->byaddr, start);
	if (id != HOP_NONE && s->objs[id].o.kind == HOP_OBJ_BLOCK && s->objs[id].o.size != size) {
		/* resized in place (realloc) or freed and reused without our hearing of
		 * it: a new block, and the destination must drop the old one before it
		 * translates anything that points here, or such a pointer would
		 * resolve to the old block's memory (hop__scan_take_replaced) */
		if (s->nreplaced == s->capreplaced) {
			size_t cap = s->capreplaced ? s->capreplaced * 2 : 64;
			uint64_t *r = realloc(s->replaced, sizeof(*r) * cap);
			if (!r)
				return hop__fail(HOP_ENOMEM, "scan: out of memory");
			s->replaced = r;
			s->capreplaced = cap;
		}
		s->replaced[s->nreplaced++] = start;
		if (s->nwas == s->capwas) {
			size_t cap = s->capwas ? s->capwas * 2 : 64;
			struct was *w = realloc(s->was, sizeof(*w) * cap);
			if (!w)
				return hop__fail(HOP_ENOMEM, "scan: out of memory");
			s->was = w;
			s->capwas = cap;
		}
		struct sobj *old = &s->objs[id];
		s->was[s->nwas] = (struct was){ HOP_NONE, old->o.type, old->state, old->o.size };
		kill_obj(s, id);
		hop__amap_del(&s->byaddr, start);
		struct hop_obj o = { HOP_OBJ_BLOCK, HOP_NONE, start, size, HOP_NONE, 0 };
		int rc = new_obj(s, &o, from, foff, &id);
		if (rc < 0)
			return rc;
		s->was[s->nwas++].id = id;
	} else if (id == HOP_NONE) {
		struct hop_obj o = { HOP_OBJ_BLOCK, HOP_NONE, start, size, HOP_NONE, 0 };
		int rc = new_obj(s, &o, from, foff, &id);
		if (rc < 0)
			return rc;
	} else if (s->objs[id].o.kind != HOP_OBJ_BLOCK) {
		return hop__fail(HOP_EXLATE, "%s: heap block 0x%llx clashes with another object",
				 path(s, from, foff, pb, sizeof(pb)), (unsigned long long)start);
	}
	return add_reach(s, id, pt, p - start, from, foff);
}

/* ---- walking an object's pointers -------------------------------------------------------------- */
struct swalk {
	struct hop_scan *s;
	uint32_t obj;
	const uint8_t *base; /* the object's first byte */
	uint64_t lo, hi;     /* window in object offsets */
	int depth;
};

/* Pointee of a pointer member, a hint overriding void. */
static uint32_t member_pointee(struct hop_scan *s, uint32_t st, uint32_t mid)
{
	const struct hop_index *idx = s->idx;
	uint32_t pt = idx->types[idx->members[mid].type].target;
	if (pt != HOP_NONE)
		return pt;
	if (s->mpt[mid] == HOP_NONE - 1) {
		const char *h = hop__hint_points_to(s->lay->hints, idx->types[st].name, idx->members[mid].name);
		s->mpt[mid] = h ? hop__lay_type(s->lay, h) : HOP_NONE;
	}
	return s->mpt[mid];
}

static int swalk_value(struct swalk *w, uint32_t t, uint64_t off, uint32_t pointee);

static int swalk_struct(struct swalk *w, uint32_t t, uint64_t off)
{
	struct hop_scan *s = w->s;
	const struct hop_index *idx = s->idx;
	const struct hop_type *ty = &idx->types[t];
	int rc;
	char pb[512];
	for (uint32_t k = 0; k < ty->nmembers; k++) {
		uint32_t mid = ty->first_member + k;
		const struct hop_member *m = &idx->members[mid];
		const struct hop_type *mt = &idx->types[m->type];
		if (m->bit_size || !hop__lay_has_ptr(s->lay, m->type))
			continue;
		uint64_t mo = off + m->offset;
		if (mt->kind == HOP_KIND_ARRAY && mt->count == 0)
			continue; /* flexible array member: done by the object walk */
		if (mo >= w->hi || mo + mt->size <= w->lo)
			continue;
		if (mt->kind == HOP_KIND_UNION) {
			uint32_t live;
			int has;
			if ((rc = hop__union_live(s->lay, t, m, w->base + off, &live, &has)) < 0) {
				char msg[512];
				snprintf(msg, sizeof(msg), "%s", hop_last_error());
				return hop__fail(rc, "%s: %s", path(s, w->obj, mo, pb, sizeof(pb)), msg);
			}
			if (!has)
				return hop__fail(HOP_EHINT, "%s: union %s holds a pointer; say which member is live with "
						 "HOP_UNION_TAG(%s, %s, <tag member>) and HOP_UNION_CASE(%s, %s, <value>, "
						 "<member>)", path(s, w->obj, mo, pb, sizeof(pb)), mt->name, ty->name,
						 m->name, ty->name, m->name);
			const struct hop_member *lm = &idx->members[live];
			if ((rc = swalk_value(w, lm->type, mo + lm->offset, HOP_NONE)) < 0)
				return rc;
			continue;
		}
		uint32_t pt = mt->kind == HOP_KIND_POINTER ? member_pointee(s, t, mid) : HOP_NONE;
		if ((rc = swalk_value(w, m->type, mo, pt)) < 0)
			return rc;
	}
	return 0;
}

static int swalk_value(struct swalk *w, uint32_t t, uint64_t off, uint32_t pointee)
{
	struct hop_scan *s = w->s;
	const struct hop_index *idx = s->idx;
	const struct hop_type *ty = &idx->types[t];
	char pb[512];
	int rc = 0;

	if (ty->kind == HOP_KIND_POINTER) {
		if (off < w->lo || off + ty->size > w->hi)
			return 0;
		uint64_t p = hop__get_uint(w->base + off, idx->pointer_size, idx->big_endian);
		return visit(s, w->obj, off, p, pointee != HOP_NONE ? pointee : ty->target);
	}
	if (!hop__lay_has_ptr(s->lay, t))
		return 0;
	if (++w->depth > 200) {
		w->depth--;
		return hop__fail(HOP_EFORMAT, "scan: types nested too deep");
	}
	if (ty->kind == HOP_KIND_ARRAY) {
		uint64_t es = idx->types[ty->target].size, i0 = 0, i1 = ty->count;
		if (es) {
			if (w->lo > off)
				i0 = (w->lo - off) / es;
			if (w->hi < off + ty->count * es)
				i1 = (w->hi - off + es - 1) / es;
		}
		for (uint64_t i = i0; i < i1 && rc == 0; i++)
			rc = swalk_value(w, ty->target, off + i * es, HOP_NONE);
	} else if (ty->kind == HOP_KIND_STRUCT) {
		rc = swalk_struct(w, t, off);
	} else if (ty->kind == HOP_KIND_UNION) {
		rc = hop__fail(HOP_EHINT, "%s: union %s holds a pointer and is not a struct member a tag could "
			       "select; wrap it in a struct with a tag and use HOP_UNION_TAG / HOP_UNION_CASE",
			       path(s, w->obj, off, pb, sizeof(pb)), ty->name);
	}
	w->depth--;
	return rc;
}

/* Walk the pointers of object id that lie in [lo, hi) (object offsets). */
static int walk_obj(struct hop_scan *s, uint32_t id, uint64_t lo, uint64_t hi)
{
	const struct hop_index *idx = s->idx;
	struct sobj *so = &s->objs[id];
	if (so->o.kind == HOP_OBJ_LITERAL || so->state == ST_RAW || so->o.type >= idx->ntypes)
		return 0;
	uint32_t t = so->o.type;
	struct swalk w = { s, id, (const uint8_t *)(uintptr_t)so->o.addr, lo, hi, 0 };
	uint64_t es = idx->types[t].size;
	int rc = 0;

	if (so->o.kind == HOP_OBJ_GLOBAL && idx->types[t].kind == HOP_KIND_POINTER &&
	    idx->types[t].target == HOP_NONE) {
		const char *h = hop__hint_global(s->lay->hints, idx->vars[so->o.var].name);
		uint32_t ht = h ? hop__lay_type(s->lay, h) : HOP_NONE;
		return swalk_value(&w, t, 0, ht);
	}
	if (!hop__lay_has_ptr(s->lay, t))
		return 0;
	uint64_t i0 = es ? lo / es : 0, i1 = so->o.count;
	if (es && hi / es + 1 < i1)
		i1 = hi / es + 1;
	for (uint64_t i = i0; i < i1 && rc == 0; i++)
		rc = swalk_value(&w, t, i * es, HOP_NONE);
	const struct hop_member *fam = hop__lay_fam(s->lay, t);
	if (rc == 0 && fam && so->o.size > fam->offset) {
		uint32_t et = idx->types[fam->type].target;
		uint64_t fes = idx->types[et].size, n = (so->o.size - fam->offset) / fes;
		if (hop__lay_has_ptr(s->lay, et))
			for (uint64_t i = 0; i < n && rc == 0; i++)
				rc = swalk_value(&w, et, fam->offset + i * fes, HOP_NONE);
	}
	return rc;
}

static int drain_queue(struct hop_scan *s);

/* Empty the queue; then settle deferred pointers (which may queue more). */
static int drain(struct hop_scan *s)
{
	int rc;
	for (;;) {
		if ((rc = drain_queue(s)) < 0)
			return rc;
		if (!s->ndef)
			return 0;
		size_t n = s->ndef;
		struct deferred *d = malloc(sizeof(*d) * n);
		if (!d)
			return hop__fail(HOP_ENOMEM, "scan: out of memory");
		memcpy(d, s->def, sizeof(*d) * n);
		s->ndef = 0;
		for (size_t i = 0; i < n && rc == 0; i++) {
			uint64_t start, size;
			uint32_t a = adjacent_prev(s, d[i].p);
			if (a != HOP_NONE && hop__amap_get(&s->byaddr, d[i].p) == HOP_NONE &&
			    s->heap.find(s->heap.ctx, d[i].p, &start, &size)) {
				/* B is reached by nothing else: it is meant if its size fits the pointee */
				uint32_t pt = complete(s, d[i].pt);
				uint64_t ps = pt != HOP_NONE ? s->idx->types[pt].size : 0;
				const struct hop_member *fam = pt != HOP_NONE ? hop__lay_fam(s->lay, pt) : NULL;
				int fits = ps && (fam ? size >= fam->offset : size % ps == 0);
				if (!fits)
					rc = add_reach(s, a, d[i].pt, s->objs[a].o.size, d[i].from, d[i].foff);
				else
					rc = visit_block(s, d[i].from, d[i].foff, d[i].p, d[i].pt, start, size);
				continue;
			}
			a = end_of(s, d[i].p, d[i].pt, NULL);
			if (a != HOP_NONE)
				rc = add_reach(s, a, d[i].pt, s->objs[a].o.size, d[i].from, d[i].foff);
			else if (s->heap.find(s->heap.ctx, d[i].p, &start, &size))
				rc = visit_block(s, d[i].from, d[i].foff, d[i].p, d[i].pt, start, size);
		}
		free(d);
		if (rc < 0)
			return rc;
	}
}

/* Start loading the first bytes of object id (its walk or hash comes soon:
 * the objects of a scan lie all over the heap, each a cache miss). */
static void prefetch_obj(const struct hop_scan *s, uint32_t id)
{
	if (id < s->nobjs)
		__builtin_prefetch((const void *)(uintptr_t)s->objs[id].o.addr);
}

#define PREFETCH_AHEAD 6

static int drain_queue(struct hop_scan *s)
{
	while (s->qlen) {
		if (s->qlen > PREFETCH_AHEAD)
			prefetch_obj(s, s->queue[(s->qhead + PREFETCH_AHEAD) % s->qcap]);
		uint32_t id = s->queue[s->qhead];
		s->qhead = (s->qhead + 1) % s->qcap;
		s->qlen--;
		s->objs[id].queued = 0;
		int rc = walk_obj(s, id, 0, UINT64_MAX);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Suggest the hint for a block only void * reached. */
static int refuse_untyped(struct hop_scan *s, uint32_t id)
{
	const struct hop_index *idx = s->idx;
	struct sobj *o = &s->objs[id];
	char pb[512], hint[512];
	uint32_t from = o->vparent;
	uint64_t foff = o->vpoff;
	snprintf(hint, sizeof(hint), "a hint");
	if (from < s->nobjs) {
		const struct sobj *f = &s->objs[from];
		uint32_t t = f->o.type;
		if (f->o.kind == HOP_OBJ_GLOBAL && t < idx->ntypes && idx->types[t].kind == HOP_KIND_POINTER) {
			snprintf(hint, sizeof(hint), "HOP_GLOBAL_POINTS_TO(%s, <type>)", idx->vars[f->o.var].name);
		} else if (t < idx->ntypes && idx->types[t].size) {
			/* innermost struct holding the pointer */
			uint64_t r = foff % idx->types[t].size;
			for (int d = 0; d < 64 && t < idx->ntypes; d++) {
				const struct hop_type *ty = &idx->types[t];
				if (ty->kind == HOP_KIND_ARRAY && idx->types[ty->target].size) {
					r %= idx->types[ty->target].size;
					t = ty->target;
					continue;
				}
				if (ty->kind != HOP_KIND_STRUCT)
					break;
				const struct hop_member *hit = NULL;
				for (uint32_t k = 0; k < ty->nmembers && !hit; k++) {
					const struct hop_member *m = &idx->members[ty->first_member + k];
					if (!m->bit_size && r >= m->offset && r - m->offset < idx->types[m->type].size)
						hit = m;
				}
				if (!hit)
					break;
				if (idx->types[hit->type].kind == HOP_KIND_POINTER) {
					snprintf(hint, sizeof(hint), "HOP_POINTS_TO(%s, %s, <type>)", ty->name, hit->name);
					break;
				}
				r -= hit->offset;
				t = hit->type;
			}
		}
	}
	return hop__fail(HOP_EHINT, "%s: heap block 0x%llx (%llu bytes) is reached only through void *, so its "
			 "type is unknown: add %s to the source",
			 path(s, from, foff, pb, sizeof(pb)), (unsigned long long)o->o.addr,
			 (unsigned long long)o->o.size, hint);
}

/* End of a pass: every block typed and of a size its type explains. */
static int check_touched(struct hop_scan *s)
{
	const struct hop_index *idx = s->idx;
	char pb[512];
	/* a block can be untyped only if created or re-typed since the last
	 * check, and those are all touched: no walk over every object (a delta
	 * pass costs what the delta costs); the lowest id is named, as before */
	uint32_t untyped = HOP_NONE;
	for (size_t i = 0; i < s->ntouched; i++) {
		struct sobj *o = &s->objs[s->touched[i]];
		if (o->o.kind == HOP_OBJ_BLOCK && o->state == ST_UNTYPED && !o->dead && s->touched[i] < untyped)
			untyped = s->touched[i];
	}
	if (untyped != HOP_NONE)
		return refuse_untyped(s, untyped);
	for (size_t i = 0; i < s->ntouched; i++) {
		struct sobj *o = &s->objs[s->touched[i]];
		if (o->state != ST_TYPED || o->dead)
			continue;
		uint64_t es = idx->types[o->o.type].size;
		const struct hop_member *fam = hop__lay_fam(s->lay, o->o.type);
		if (fam ? o->o.size < fam->offset : o->o.size % es != 0)
			return hop__fail(HOP_EXLATE, "%s: heap block 0x%llx of %llu bytes is not a whole number of %s "
					 "(%llu bytes each), and %s has no flexible array member",
					 path(s, o->parent, o->poff, pb, sizeof(pb)), (unsigned long long)o->o.addr,
					 (unsigned long long)o->o.size, idx->types[o->o.type].name,
					 (unsigned long long)es, idx->types[o->o.type].name);
	}
	s->ntouched = 0;
	/* a block resized in place (or reused unheard of) as the same type and
	 * no smaller: a pointer into it keeps its logical path, so the hashes
	 * kept for objects not scanned again stay right (the destination gives
	 * it the old block's memory, xlate.c come_back); another type or a
	 * smaller block changes what such a pointer means: hash everything again */
	for (size_t i = 0; i < s->nwas; i++) {
		const struct sobj *o = &s->objs[s->was[i].id];
		if (!o->dead && (o->state != s->was[i].state || o->o.type != s->was[i].type || o->o.size < s->was[i].size))
			s->all_stale = 1;
	}
	s->nwas = 0;
	return 0;
}

/* ---- API -------------------------------------------------------------------------------------------- */
int hop__scan_new(const struct hop_index *idx, intptr_t bias, const struct hop_heap_ops *heap, struct hop_scan **out)
{
	struct hop_scan *s = calloc(1, sizeof(*s));
	int rc;
	if (!s)
		return hop__fail(HOP_ENOMEM, "scan: out of memory");
	s->idx = idx;
	s->bias = bias;
	s->heap = heap ? *heap : hop__real_heap;
	s->byaddr.local = 1; /* block addresses, looked up by neighbouring pointers (hop_amap) */
	if ((rc = hop__lay_new(idx, &s->lay)) < 0) {
		free(s);
		return rc;
	}
	s->mpt = malloc(sizeof(uint32_t) * (idx->nmembers + 1));
	if (!s->mpt) {
		hop__scan_free(s);
		return hop__fail(HOP_ENOMEM, "scan: out of memory");
	}
	for (uint32_t i = 0; i <= idx->nmembers; i++)
		s->mpt[i] = HOP_NONE - 1;
	*out = s;
	return 0;
}

void hop__scan_free(struct hop_scan *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nobjs; i++)
		free(s->objs[i].reaches);
	free(s->objs);
	free(s->queue);
	free(s->changed);
	free(s->mpt);
	free(s->touched);
	free(s->links);
	free(s->def);
	free(s->stale);
	free(s->replaced);
	free(s->was);
	hop__amap_free(&s->byaddr);
	hop__amap_free(&s->pages);
	hop__lay_free(s->lay);
	free(s);
}

/* Is the global at index address a in read-only memory: a section without
 * write permission (.rodata: `static const` tables and strings), or
 * .data.rel.ro (writable in the file, read-only once relocated)? Such a
 * global is the same in both builds and is never sent: writing it on the
 * destination would fault. Pointers into it still translate (var + offset). */
static int readonly_global(const struct hop_index *idx, uint64_t a)
{
	for (uint32_t i = 0; i < idx->nsections; i++) {
		const struct hop_section *sec = &idx->sections[i];
		if (a < sec->address || a - sec->address >= sec->size || !strncmp(sec->name, ".tdata", 6) ||
		    !strncmp(sec->name, ".tbss", 5))
			continue; /* thread-local templates overlap other sections' addresses */
		return !(sec->flags & HOP_SF_WRITE) || !strcmp(sec->name, ".data.rel.ro");
	}
	return 0;
}

int hop__scan_all(struct hop_scan *s)
{
	const struct hop_index *idx = s->idx;
	int rc;
	if (s->scanned)
		return hop__fail(HOP_EINVAL, "scan: hop__scan_all called twice; use hop__scan_changed");
	s->scanned = 1;
	for (uint32_t v = 0; v < idx->nvars; v++) {
		const struct hop_var *var = &idx->vars[v];
		if (!var->size || !idx->types[var->type].size)
			continue; /* a declaration without storage here */
		if (readonly_global(idx, var->address))
			continue;
		struct hop_obj o = { HOP_OBJ_GLOBAL, v, var->address + (uint64_t)s->bias, var->size, var->type, 1 };
		uint32_t id;
		if ((rc = new_obj(s, &o, HOP_NONE, 0, &id)) < 0 || (rc = push(s, id)) < 0)
			return rc;
		s->objs[id].state = ST_TYPED;
	}
	if ((rc = drain(s)) < 0)
		return rc;
	return check_touched(s);
}

int hop__scan_changed(struct hop_scan *s, const uint64_t (*ranges)[2], size_t n)
{
	int rc;
	for (size_t r = 0; r < n; r++) {
		uint64_t lo = ranges[r][0], hi = ranges[r][1];
		if (hi <= lo)
			continue;
		for (uint64_t pg = lo >> PAGE_SHIFT; pg <= (hi - 1) >> PAGE_SHIFT; pg++) {
			for (uint32_t l = hop__amap_get(&s->pages, pg); l != HOP_NONE; l = s->links[l].next) {
				uint32_t id = s->links[l].obj;
				struct sobj *o = &s->objs[id];
				if (o->dead || o->o.addr >= hi || o->o.addr + o->o.size <= lo)
					continue;
				/* visit each object once per range: only from its first page in the range */
				uint64_t first = (o->o.addr > lo ? o->o.addr : lo) >> PAGE_SHIFT;
				if (first != pg)
					continue;
				mark_changed(s, id);
				uint64_t wlo = lo > o->o.addr ? lo - o->o.addr : 0;
				uint64_t whi = hi - o->o.addr < o->o.size ? hi - o->o.addr : o->o.size;
				if ((rc = walk_obj(s, id, wlo, whi)) < 0)
					return rc;
			}
		}
	}
	if ((rc = drain(s)) < 0)
		return rc;
	return check_touched(s);
}

int hop__scan_drop(struct hop_scan *s, uint64_t addr)
{
	uint32_t id = hop__amap_get(&s->byaddr, addr);
	if (id == HOP_NONE || s->objs[id].o.kind != HOP_OBJ_BLOCK)
		return hop__fail(HOP_ENOENT, "scan: no block at 0x%llx", (unsigned long long)addr);
	kill_obj(s, id);
	hop__amap_del(&s->byaddr, addr);
	return 0;
}

size_t hop__scan_take_replaced(struct hop_scan *s, const uint64_t **addrs)
{
	size_t n = s->nreplaced;
	*addrs = s->replaced;
	s->nreplaced = 0;
	return n;
}

size_t hop__scan_count(const struct hop_scan *s)
{
	return s->nobjs;
}

const struct hop_obj *hop__scan_obj(const struct hop_scan *s, size_t i)
{
	return i < s->nobjs && !s->objs[i].dead ? &s->objs[i].o : NULL;
}

long hop__scan_find(const struct hop_scan *s, uint64_t addr)
{
	uint32_t id = hop__amap_get(&s->byaddr, addr);
	if (id != HOP_NONE && !s->objs[id].dead)
		return id;
	for (size_t i = 0; i < s->nobjs; i++) /* globals are few, and this is rare */
		if (s->objs[i].o.kind == HOP_OBJ_GLOBAL && s->objs[i].o.addr == addr)
			return (long)i;
	return -1;
}

void hop__scan_mark(struct hop_scan *s, size_t id)
{
	if (id < s->nobjs && !s->objs[id].dead)
		mark_changed(s, (uint32_t)id);
}

size_t hop__scan_take_changed(struct hop_scan *s, size_t **ids)
{
	size_t n = s->nchanged;
	*ids = s->changed;
	for (size_t i = 0; i < n; i++)
		s->objs[s->changed[i]].changed = 0;
	s->nchanged = 0;
	return n;
}

/* ---- digest ---------------------------------------------------------------------------------------- */
static void norm_ptr(void *ctx, uint64_t p, uint32_t pt, struct hop_hash *h)
{
	struct hop_scan *s = ctx;
	uint64_t start, size;
	uint32_t id;

	if (p == 0) {
		hop__ptr_null(h);
		return;
	}
	/* one heap look-up and one map look-up for a pointer to a block's start
	 * (end_of answers which object is there) */
	if (s->heap.find && s->heap.find(s->heap.ctx, p, &start, &size)) {
		uint32_t prev = HOP_NONE;
		if (p == start && (prev = end_of(s, p, pt, &id)) != HOP_NONE) {
			start = s->objs[prev].o.addr;
			id = prev;
		} else if (p != start) {
			id = hop__amap_get(&s->byaddr, start);
		}
	} else {
		id = HOP_NONE;
	}
	if (id != HOP_NONE && s->objs[id].o.kind == HOP_OBJ_BLOCK) {
		const struct sobj *o = &s->objs[id];
		hop__ptr_block(h, s->idx, start, o->state != ST_UNTYPED ? o->o.type : HOP_NONE, o->o.count, p - start);
		return;
	}
	if (hop__ptr_static(h, s->lay, p - (uint64_t)s->bias, NULL, NULL))
		return;
	id = hop__amap_get(&s->byaddr, p);
	if (id != HOP_NONE && s->objs[id].o.kind == HOP_OBJ_LITERAL) {
		hop__ptr_string(h, (const void *)(uintptr_t)p, s->objs[id].o.size);
		return;
	}
	hop__ptr_unknown(h, p);
}

static int hash_obj(struct hop_scan *s, struct sobj *o)
{
	const struct hop_index *idx = s->idx;
	struct hop_hash h;
	uint64_t fam_n = 0;
	hop__hash_init(&h);
	const struct hop_member *fam = hop__lay_fam(s->lay, o->o.type);
	if (fam && o->o.size > fam->offset)
		fam_n = (o->o.size - fam->offset) / idx->types[idx->types[fam->type].target].size;
	if (o->o.kind == HOP_OBJ_GLOBAL)
		hop__digest_ident_global(&h, idx->vars[o->o.var].name);
	else
		hop__digest_ident_block(&h, o->o.addr, o->o.count, fam_n,
					o->o.type < idx->ntypes ? idx->types[o->o.type].name : "");
	int rc = hop__digest_values(s->lay, o->o.type, o->o.count, fam_n, (const uint8_t *)(uintptr_t)o->o.addr,
				    norm_ptr, s, &h);
	if (rc == 0)
		hop__hash_final(&h, o->hash);
	return rc;
}

int hop__scan_digest_step(struct hop_scan *s, size_t max)
{
	if (s->all_stale)
		return 0; /* hop__scan_digest starts over */
	while (max && s->nstale) {
		if (s->nstale > PREFETCH_AHEAD)
			prefetch_obj(s, s->stale[s->nstale - 1 - PREFETCH_AHEAD]);
		struct sobj *o = &s->objs[s->stale[s->nstale - 1]];
		if (o->dead || o->o.kind == HOP_OBJ_LITERAL || o->hashed) {
			o->squeued = 0;
			s->nstale--;
			continue;
		}
		if (o->in_sum)
			hop__digest_sub(s->sum, o->hash);
		o->in_sum = 0;
		if (hash_obj(s, o) < 0)
			return 0; /* stays listed: hop__scan_digest tries again and reports */
		o->squeued = 0;
		s->nstale--;
		hop__digest_add(s->sum, o->hash);
		o->in_sum = o->hashed = 1;
		max--;
	}
	return s->nstale > 0;
}

/* The digest is kept as a running sum of per-object hashes: only objects
 * changed since the last call (the stale list) are hashed again, so the
 * digest at the freeze costs what the final delta costs. A retype (pointers
 * into the block get other logical paths) rehashes everything. */
int hop__scan_digest(struct hop_scan *s, uint8_t digest[HOP_DIGEST_LEN])
{
	size_t nh = 0;
	int rc = 0, all = s->all_stale;
	if (s->all_stale) {
		memset(s->sum, 0, sizeof(s->sum));
		s->nstale = 0;
		for (size_t i = 0; i < s->nobjs; i++) {
			struct sobj *o = &s->objs[i];
			o->in_sum = o->squeued = 0;
			o->hashed = 0;
			if (o->dead || o->o.kind == HOP_OBJ_LITERAL)
				continue;
			if ((rc = hash_obj(s, o)) < 0)
				return rc; /* all_stale stays: next time starts over */
			nh++;
			hop__digest_add(s->sum, o->hash);
			o->in_sum = o->hashed = 1;
		}
		s->all_stale = 0;
	} else {
		size_t k;
		for (k = 0; k < s->nstale; k++) {
			struct sobj *o = &s->objs[s->stale[k]];
			if (o->dead || o->o.kind == HOP_OBJ_LITERAL || o->hashed) {
				o->squeued = 0;
				continue;
			}
			if (o->in_sum) /* its old hash leaves the sum first */
				hop__digest_sub(s->sum, o->hash);
			o->in_sum = 0;
			if ((rc = hash_obj(s, o)) < 0)
				break;
			o->squeued = 0;
			nh++;
			hop__digest_add(s->sum, o->hash);
			o->in_sum = o->hashed = 1;
		}
		/* a failure (a value torn while the program runs): the rest stays listed */
		memmove(s->stale, s->stale + k, (s->nstale - k) * sizeof(*s->stale));
		s->nstale -= k;
		if (rc < 0)
			return rc;
	}
	if (getenv("HOP_TRACE"))
		fprintf(stderr, "hop: digest: %zu of %zu objects hashed%s\n", nh, s->nobjs, all ? " (all stale)" : "");
	hop__digest_out(s->sum, digest);
	return 0;
}
