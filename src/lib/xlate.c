/* xlate.c -- the destination's side of translation: origin layout -> ours.
 *
 * For each pair (origin type, destination type) a *plan* is compiled once
 * and cached: a flat list of operations over byte offsets -- copy N bytes
 * when the representation is the same on both sides, byte-swap, widen or
 * narrow an integer (with a range check), convert a float, move a
 * bit-field, translate a pointer, or run a nested plan over the elements of
 * an array. Members are matched by name. Running a plan over a big array of
 * structs is a tight loop over that list, done in chunks op by op so that
 * each op's inner loop is a strided copy.
 *
 * Pointers name what they point to in the origin's address space; we map
 * them through what we have received: a block (by its origin address; the
 * offset re-expressed through the layout, so &a[3].y stays &a[3].y), a
 * global (the same, by variable), a function (by name), a literal (the same
 * bytes in our read-only data). A pointer to something not received yet is
 * parked and written when finish() runs; finish() refuses what is still
 * unknown, naming the path.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "digest.h"
#include "err.h"
#include "heap.h"
#include "ldouble.h"
#include "upgrade.h"
#include "xlate.h"

/* ---- plans ------------------------------------------------------------------------------------ */
enum {
	OP_COPY,    /* n bytes, same representation */
	OP_COPY1, OP_COPY2, OP_COPY4, OP_COPY8,
	OP_SWAP,    /* n bytes reversed */
	OP_INT,     /* integer of ssize -> dsize, range checked */
	OP_FLOAT,   /* sfmt -> dfmt */
	OP_FSWAP,   /* same float format, other byte order (IBM: each half) */
	OP_BITS,    /* bit-field */
	OP_PTR,
	OP_ARRAY,   /* n elements of sub, strides ss/ds */
	OP_TAGGED,  /* union member selected by a tag hint */
};

#define F_SIGNED 0x1
#define F_DSIGN  0x2 /* OP_INT: the destination's signedness differs (an upgrade): check it */

struct plan;

struct xop {
	uint8_t kind, flags;
	uint16_t ssize, dsize;
	uint32_t mid;            /* origin member id (for messages), HOP_NONE */
	uint64_t soff, doff;
	uint64_t n;              /* COPY/SWAP bytes; ARRAY count */
	uint64_t ss, ds;         /* ARRAY strides */
	uint32_t sfmt, dfmt;     /* FLOAT */
	uint64_t sbit, dbit;     /* BITS: absolute bit offsets within the enclosing plan base */
	uint32_t width;
	struct plan *sub;        /* ARRAY */
	uint32_t fst, um_f, um_t;/* TAGGED: origin struct type, union member ids */
	/* PTR: where the last pointer of this op led (object ids), to guess the next
	 * one without a look-up: the same member of the next node of a list leads
	 * to the node after, of a hash entry to the key found after the last key
	 * (as many objects further as the owners are, times a slope), the next
	 * element of an array of pointers to the block after (the step). Only a
	 * guess: checked. */
	uint32_t g_owner, g_target, g_step;
	int32_t g_slope1;        /* slope - 1: a zeroed op guesses slope 1 */
};

struct plan {
	uint32_t ft, tt;
	uint64_t ssize, dsize;
	uint32_t nops;
	struct xop *ops;
	int has_ptr;             /* any OP_PTR / OP_TAGGED inside */
	int flat;                /* only copy/swap/int ops: can run op-major */
	int changed;             /* an upgrade changed the members (added, removed, renamed, left to a
	                          * hook, array grown): our values do not hash like the origin's */
};

/* ---- destination objects ---------------------------------------------------------------------- */
struct xobj {
	/* what translating it and resolving a pointer to it read, together */
	struct hop_obj o;        /* as the origin described it */
	uint8_t *dst;
	uint64_t dsize;
	uint32_t tt;             /* our type of one element; HOP_NONE = raw bytes */
	uint32_t parent;
	uint8_t live, owned, hashed;
	uint8_t in_sum, queued;  /* digest: hash counted in x->sum; on x->stale */
	uint8_t gone;            /* upgrade: a global the new version removed (only its old bytes) */
	uint8_t grave;           /* dropped, its memory kept for a block that comes back at its
	                          * origin address (come_back) */
	uint8_t hookq;           /* queued for its upgrade hook */
	uint32_t nparked;        /* live parks this object owns: only then does a slot need a look-up */
	struct plan *pl;         /* its plan, once compiled (plans live as long as the translator) */
	uint64_t fam_n;          /* flexible array elements */
	uint64_t poff;
	uint64_t hash[2];
	uint8_t *old;            /* upgrade: the origin's bytes, kept for the digest and the hook */
};

struct park {
	uint64_t slot;   /* our address of the pointer */
	uint64_t value;  /* origin pointer */
	uint32_t owner;  /* object holding it */
	uint64_t soff;   /* its origin offset there */
	uint8_t dsize, live;
	uint32_t pt;     /* origin pointee type */
};

struct hop_xlate {
	const struct hop_index *from, *to;
	struct hop_lay *fl, *tl;
	int64_t from_bias, to_bias;
	struct hop_heap_ops heap;
	struct xobj *objs;
	size_t nobjs, cap;
	struct hop_amap byaddr;     /* origin address -> object (blocks, literals) */
	struct hop_amap byend;      /* origin end address -> block, once byend_on (need_byend) */
	int byend_on, byend_oom;
	uint32_t *byvar;            /* origin var id -> object */
	struct hop_amap plans;      /* (ft, tt) -> plan number */
	struct plan **planv;
	size_t nplans, plancap;
	struct park *parks;
	size_t nparks, parkcap, parks_live;
	struct hop_amap parkslot;   /* slot -> park number */
	uint32_t *fnames;           /* open hash: our functions by name */
	uint32_t fnames_cap;
	uint32_t last;              /* last block a pointer resolved into */
	uint32_t lastobj;           /* last object set up: objects often come again in the same order */
	/* blocks come in runs of one type: the last answers, asked again for the next block */
	uint32_t c_ft, c_tt;        /* origin type -> ours (by name) */
	struct plan *c_plan;        /* the last plan get_plan returned */
	uint32_t c_bt, c_pt;        /* hop__end_may_win(from, 1, c_bt, c_pt) = c_emw */
	int c_emw;
	/* our objects sorted by destination address, for the digest (lazy) */
	uint32_t *dsorted;
	size_t ndsorted;
	int dsorted_ok;
	/* the digest, kept up to date object by object (hop__xlate_digest_warm):
	 * the sum of the hashes counted, the objects whose hash is stale, our
	 * block starts (pointer normal form; a dropped block's memory kept in
	 * the "graveyard" stays listed under its dead object), origin addresses
	 * of dropped blocks (a block created again at one of them takes the old
	 * one's memory, or makes every hash suspect: come_back) */
	uint64_t sum[2];
	uint32_t *stale;
	size_t nstale, capstale;
	int stale_all;
	struct hop_amap bydst;
	struct hop_amap dropped;
	uint64_t grave_bytes;       /* memory of dropped blocks kept (bounded by GRAVE_MAX) */
	size_t came_back;           /* blocks that took a dropped one's memory (HOP_TRACE) */
	const char *why_all;        /* what made every hash suspect (HOP_TRACE) */
	/* upgrades: objects waiting for their type's hook (run at finish) */
	uint32_t *hookv;
	size_t nhook, hookcap;
};

/* execution context for messages */
struct ectx {
	uint32_t obj;
	const uint8_t *sbase;
	uint64_t lo, hi;  /* window of object offsets to translate */
	int parked;       /* the object had parked pointers when this translation began: only
	                   * then may a slot still wait for an earlier value (the parks this
	                   * translation makes are at slots it has passed) */
};

static int get_pathobj(void *ctx, uint32_t id, struct hop_pathobj *out)
{
	struct hop_xlate *x = ctx;
	if (id >= x->nobjs)
		return -1;
	const struct xobj *o = &x->objs[id];
	out->name = o->o.kind == HOP_OBJ_GLOBAL && o->o.var < x->from->nvars ? x->from->vars[o->o.var].name : NULL;
	out->addr = o->o.addr;
	out->type = o->o.type;
	out->parent = o->parent;
	out->poff = o->poff;
	return 0;
}

static const char *xpath(struct hop_xlate *x, uint32_t obj, uint64_t off, char *buf, size_t len)
{
	hop__path(x->from, get_pathobj, x, obj, off, buf, len);
	return buf;
}

/* A refusal naming the path of the value at sp; out of line, so that the
 * functions that may refuse keep small frames on their fast path. */
static int __attribute__((noinline, cold, format(printf, 5, 6)))
xfail(struct hop_xlate *x, const struct ectx *e, const uint8_t *sp, int code, const char *fmt, ...)
{
	char pb[512], msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return hop__fail(code, "%s: %s", xpath(x, e->obj, (uint64_t)(sp - e->sbase), pb, sizeof(pb)), msg);
}
#define XFAIL(x, e, sp, code, ...) xfail((x), (e), (sp), (code), __VA_ARGS__)

/* ---- compiling plans -------------------------------------------------------------------------------- */
struct opv {
	struct xop *v;
	uint32_t n, cap;
	int changed; /* plan.changed */
};

static int opv_add(struct opv *ov, const struct xop *op)
{
	if (ov->n == ov->cap) {
		uint32_t cap = ov->cap ? ov->cap * 2 : 8;
		struct xop *v = realloc(ov->v, sizeof(*v) * cap);
		if (!v)
			return hop__fail(HOP_ENOMEM, "translate: out of memory");
		ov->v = v;
		ov->cap = cap;
	}
	ov->v[ov->n++] = *op;
	return 0;
}

static int get_plan(struct hop_xlate *x, uint32_t ft, uint32_t tt, struct plan **out);
static int op_is_copy(const struct xop *o);

static const char *tname(const struct hop_index *idx, uint32_t t)
{
	return t < idx->ntypes ? idx->types[t].name : "void";
}

static int compile_value(struct hop_xlate *x, struct opv *ov, uint32_t ft, uint32_t tt, uint64_t soff,
			 uint64_t doff, uint32_t mid, int depth);

/* The origin's member that our member tm of struct tt receives: the one of
 * the same name, else the one our HOP_RENAMED hint names (upgrades). */
static const struct hop_member *match_member(struct hop_xlate *x, uint32_t ft, uint32_t tt,
					     const struct hop_member *tm)
{
	const struct hop_member *fm = hop__index_member(x->from, ft, tm->name);
	const char *old;
	if (!fm && (old = hop__hint_renamed_old(x->tl->hints, x->to->types[tt].name, tm->name)))
		fm = hop__index_member(x->from, ft, old);
	return fm;
}

static int compile_struct(struct hop_xlate *x, struct opv *ov, uint32_t ft, uint32_t tt, uint64_t soff,
			  uint64_t doff, int depth)
{
	const struct hop_index *F = x->from, *T = x->to;
	const struct hop_type *fty = &F->types[ft], *tty = &T->types[tt];
	int rc;
	/* upgrades (docs/upgrade.md): members matched by name or HOP_RENAMED;
	 * a member whose type changed beyond widening/narrowing is left to the
	 * type's HOP_UPGRADE hook, or refused by name */
	const char *hook = hop__hint_upgrade(x->tl->hints, tty->name);
	uint32_t nmatched = 0;
	if (hook)
		ov->changed = 1;
	for (uint32_t k = 0; k < tty->nmembers; k++) {
		uint32_t tmid = tty->first_member + k;
		const struct hop_member *tm = &T->members[tmid];
		const struct hop_member *fm = match_member(x, ft, tt, tm);
		if (!fm) {
			ov->changed = 1;
			continue; /* new member: stays zero (or the hook sets it) */
		}
		nmatched++;
		if (strcmp(fm->name, tm->name) != 0)
			ov->changed = 1;
		uint32_t fmid = (uint32_t)(fm - F->members);
		const struct hop_type *fmt_ = &F->types[fm->type], *tmt = &T->types[tm->type];
		int cv = fm->bit_size || tm->bit_size ? HOP_CV_SAME : hop__compat_value(F, fm->type, T, tm->type);
		if (cv == HOP_CV_INCOMPAT) {
			if (hook) {
				ov->changed = 1;
				continue;
			}
			return hop__fail(HOP_EXLATE, "%s.%s: its type changed from %s to %s; convert it with "
					 "HOP_UPGRADE(%s, fn) in the new source", tty->name, tm->name, fmt_->name,
					 tmt->name, tty->name);
		}
		if (cv == HOP_CV_SIGN && fmt_->size <= 8 && tmt->size <= 8) {
			/* int <-> unsigned: each value must fit the other signedness */
			int sg, fmt;
			hop__scalar(F, fm->type, &sg, &fmt);
			struct xop op = { .kind = OP_INT, .flags = (uint8_t)((sg ? F_SIGNED : 0) | F_DSIGN), .mid = fmid,
					  .soff = soff + fm->offset, .doff = doff + tm->offset,
					  .ssize = (uint16_t)fmt_->size, .dsize = (uint16_t)tmt->size };
			if ((rc = opv_add(ov, &op)) < 0)
				return rc;
			continue;
		}
		if (fm->bit_size || tm->bit_size) {
			int sg, fmt;
			int sc = hop__scalar(F, fm->type, &sg, &fmt);
			if (!fm->bit_size || !tm->bit_size || (sc != HOP_SC_INT && sc != HOP_SC_CHAR))
				return hop__fail(HOP_EXLATE, "%s.%s: a bit-field on one side only", fty->name, fm->name);
			if (sc == HOP_SC_CHAR)
				sg = fmt_->enc == HOP_ENC_SIGNED_CHAR;
			struct xop op = { .kind = OP_BITS, .flags = (uint8_t)(sg ? F_SIGNED : 0), .mid = fmid,
					  .soff = soff + fm->bit_offset / 8, .doff = doff + tm->bit_offset / 8,
					  .sbit = soff * 8 + fm->bit_offset, .dbit = doff * 8 + tm->bit_offset,
					  .width = fm->bit_size, .n = tm->bit_size,
					  .ssize = (uint16_t)((fm->bit_offset % 8 + fm->bit_size + 7) / 8) };
			if ((rc = opv_add(ov, &op)) < 0)
				return rc;
			continue;
		}
		if (fmt_->kind == HOP_KIND_ARRAY && fmt_->count == 0)
			continue; /* flexible array member: the object does it */
		if (fmt_->kind == HOP_KIND_UNION && tmt->kind == HOP_KIND_UNION &&
		    hop__hint_union(x->fl->hints, fty->name, fm->name)) {
			struct xop op = { .kind = OP_TAGGED, .mid = fmid, .soff = soff, .doff = doff, .fst = ft,
					  .um_f = fmid, .um_t = tmid, .ssize = 0 };
			if ((rc = opv_add(ov, &op)) < 0)
				return rc;
			continue;
		}
		if ((rc = compile_value(x, ov, fm->type, tm->type, soff + fm->offset, doff + tm->offset, fmid,
					depth + 1)) < 0)
			return rc;
	}
	if (nmatched != fty->nmembers)
		ov->changed = 1; /* members removed */
	return 0;
}

static int compile_value(struct hop_xlate *x, struct opv *ov, uint32_t ft, uint32_t tt, uint64_t soff,
			 uint64_t doff, uint32_t mid, int depth)
{
	const struct hop_index *F = x->from, *T = x->to;
	int fsg, ffmt, tsg, tfmt, rc;
	if (depth > 100)
		return hop__fail(HOP_EFORMAT, "translate: types nested too deep");
	if (ft >= F->ntypes || tt >= T->ntypes)
		return hop__fail(HOP_EXLATE, "translate: no type");
	const struct hop_type *fty = &F->types[ft], *tty = &T->types[tt];
	int fsc = hop__scalar(F, ft, &fsg, &ffmt), tsc = hop__scalar(T, tt, &tsg, &tfmt);
	int same_order = F->big_endian == T->big_endian;
	struct xop op = { .mid = mid, .soff = soff, .doff = doff };

	if (fsc != tsc || fty->kind != tty->kind)
		return hop__fail(HOP_EXLATE, "%s is a %s here and %s (a %s) there", fty->name, hop__kind_name(fty->kind),
				 tty->name, hop__kind_name(tty->kind));
	switch (fsc) {
	case HOP_SC_INT:
		op.ssize = (uint16_t)fty->size;
		op.dsize = (uint16_t)tty->size;
		if (fty->size == tty->size && same_order) {
			op.kind = OP_COPY;
			op.n = fty->size;
		} else if (fty->size == tty->size && fty->size > 8) {
			op.kind = OP_SWAP;
			op.n = fty->size;
		} else if (fty->size > 8 || tty->size > 8) {
			return hop__fail(HOP_EXLATE, "%s: integers of %llu and %llu bytes", fty->name,
					 (unsigned long long)fty->size, (unsigned long long)tty->size);
		} else if (fty->size == tty->size) {
			op.kind = OP_SWAP;
			op.n = fty->size;
		} else {
			op.kind = OP_INT;
			op.flags = (uint8_t)(fsg ? F_SIGNED : 0);
		}
		return opv_add(ov, &op);
	case HOP_SC_CHAR:
		op.kind = OP_COPY;
		op.n = 1;
		op.ssize = op.dsize = 1;
		return opv_add(ov, &op);
	case HOP_SC_FLOAT:
	case HOP_SC_COMPLEX: {
		if (!ffmt || !tfmt)
			return hop__fail(HOP_EXLATE, "%s: unknown floating format", fty->name);
		int parts = fsc == HOP_SC_COMPLEX ? 2 : 1;
		for (int i = 0; i < parts; i++) {
			struct xop f = op;
			f.soff = soff + i * fty->size / 2;
			f.doff = doff + i * tty->size / 2;
			f.ssize = (uint16_t)(fty->size / parts);
			f.dsize = (uint16_t)(tty->size / parts);
			f.sfmt = (uint32_t)ffmt;
			f.dfmt = (uint32_t)tfmt;
			if (ffmt == tfmt && same_order) {
				f.kind = OP_COPY;
				f.n = hop__fp_bytes(ffmt);
			} else if (ffmt == tfmt && ffmt != HOP_FP_X87) {
				f.kind = OP_FSWAP;
				f.n = hop__fp_bytes(ffmt);
			} else {
				f.kind = OP_FLOAT;
			}
			if ((rc = opv_add(ov, &f)) < 0)
				return rc;
		}
		return 0;
	}
	case HOP_SC_PTR:
		op.kind = OP_PTR;
		op.fst = fty->target;
		op.ssize = F->pointer_size;
		op.dsize = T->pointer_size;
		return opv_add(ov, &op);
	}
	switch (fty->kind) {
	case HOP_KIND_ARRAY: {
		if (fty->count == 0)
			return 0;
		if (fty->count > tty->count)
			return hop__fail(HOP_EXLATE, "%s has %llu elements here and %llu there", fty->name,
					 (unsigned long long)fty->count, (unsigned long long)tty->count);
		struct plan *sub;
		if ((rc = get_plan(x, fty->target, tty->target, &sub)) < 0)
			return rc;
		if (sub->changed || fty->count != tty->count)
			ov->changed = 1;
		op.ssize = 0;
		if (sub->nops == 1 && op_is_copy(&sub->ops[0]) && sub->ops[0].n == sub->ssize &&
		    sub->ssize == sub->dsize) {
			op.kind = OP_COPY;
			op.n = fty->count * sub->ssize;
			return opv_add(ov, &op);
		}
		op.kind = OP_ARRAY;
		op.n = fty->count;
		op.ss = sub->ssize;
		op.ds = sub->dsize;
		op.sub = sub;
		return opv_add(ov, &op);
	}
	case HOP_KIND_STRUCT:
		return compile_struct(x, ov, ft, tt, soff, doff, depth);
	case HOP_KIND_UNION: {
		if (hop__lay_has_ptr(x->fl, ft))
			return hop__fail(HOP_EHINT, "union %s holds a pointer: add HOP_UNION_TAG and HOP_UNION_CASE "
					 "hints to the struct holding it", fty->name);
		uint32_t fr = hop__lay_union_rep(x->fl, ft), tr = hop__lay_union_rep(x->tl, tt);
		if (fr == HOP_NONE || tr == HOP_NONE)
			return 0;
		if (strcmp(F->members[fr].name, T->members[tr].name) != 0)
			return hop__fail(HOP_EHINT, "union %s: its largest member is %s here and %s there; say which "
					 "member is live with HOP_UNION_TAG / HOP_UNION_CASE", fty->name,
					 F->members[fr].name, T->members[tr].name);
		return compile_value(x, ov, F->members[fr].type, T->members[tr].type, soff + F->members[fr].offset,
				     doff + T->members[tr].offset, fr, depth + 1);
	}
	}
	return hop__fail(HOP_EXLATE, "%s: values of this kind (%s) cannot be translated", fty->name,
			 hop__kind_name(fty->kind));
}

static int op_is_copy(const struct xop *o)
{
	return o->kind == OP_COPY || o->kind == OP_COPY1 || o->kind == OP_COPY2 || o->kind == OP_COPY4 ||
	       o->kind == OP_COPY8;
}

static int get_plan(struct hop_xlate *x, uint32_t ft, uint32_t tt, struct plan **out)
{
	uint64_t key = (uint64_t)ft << 32 | tt;
	if (x->c_plan && x->c_plan->ft == ft && x->c_plan->tt == tt) {
		*out = x->c_plan;
		return 0;
	}
	uint32_t k = hop__amap_get(&x->plans, key);
	int rc;
	if (k != HOP_NONE) {
		*out = x->c_plan = x->planv[k];
		return 0;
	}
	struct opv ov = { 0 };
	if ((rc = compile_value(x, &ov, ft, tt, 0, 0, HOP_NONE, 0)) < 0) {
		free(ov.v);
		return rc;
	}
	/* merge copies that continue each other */
	uint32_t n = 0;
	for (uint32_t i = 0; i < ov.n; i++) {
		struct xop *p = n ? &ov.v[n - 1] : NULL, *c = &ov.v[i];
		if (p && op_is_copy(p) && op_is_copy(c) && p->soff + p->n == c->soff && p->doff + p->n == c->doff) {
			p->n += c->n;
			p->kind = OP_COPY;
			continue;
		}
		ov.v[n++] = *c;
	}
	struct plan *pl = calloc(1, sizeof(*pl));
	if (!pl) {
		free(ov.v);
		return hop__fail(HOP_ENOMEM, "translate: out of memory");
	}
	pl->ft = ft;
	pl->tt = tt;
	pl->ssize = x->from->types[ft].size;
	pl->dsize = x->to->types[tt].size;
	pl->changed = ov.changed;
	/* same layout all through (only copies at equal offsets): copy padding too, one op
	 * (not when an upgrade changed the members: a removed member's bytes are no new one's) */
	int ident = pl->ssize == pl->dsize && n > 0 && !pl->changed;
	for (uint32_t i = 0; i < n && ident; i++)
		ident = op_is_copy(&ov.v[i]) && ov.v[i].soff == ov.v[i].doff;
	if (ident) {
		n = 1;
		ov.v[0] = (struct xop){ .kind = OP_COPY, .mid = HOP_NONE, .n = pl->ssize };
	}
	pl->flat = 1;
	for (uint32_t i = 0; i < n; i++) {
		struct xop *o = &ov.v[i];
		if (o->kind == OP_COPY && (o->n == 1 || o->n == 2 || o->n == 4 || o->n == 8))
			o->kind = o->n == 1 ? OP_COPY1 : o->n == 2 ? OP_COPY2 : o->n == 4 ? OP_COPY4 : OP_COPY8;
		if (o->kind == OP_PTR || o->kind == OP_TAGGED || (o->kind == OP_ARRAY && o->sub->has_ptr))
			pl->has_ptr = 1;
		if (o->kind == OP_ARRAY || o->kind == OP_PTR || o->kind == OP_TAGGED || o->kind == OP_BITS ||
		    o->kind == OP_FLOAT)
			pl->flat = 0;
		if (o->kind == OP_COPY || o->kind == OP_SWAP || o->kind == OP_FSWAP || o->kind == OP_COPY1 ||
		    o->kind == OP_COPY2 || o->kind == OP_COPY4 || o->kind == OP_COPY8)
			o->ssize = (uint16_t)(o->n < 0xffff ? o->n : 0xffff);
	}
	pl->ops = ov.v;
	pl->nops = n;
	if (x->nplans == x->plancap) {
		size_t cap = x->plancap ? x->plancap * 2 : 32;
		struct plan **v = realloc(x->planv, sizeof(*v) * cap);
		if (!v) {
			free(pl->ops);
			free(pl);
			return hop__fail(HOP_ENOMEM, "translate: out of memory");
		}
		x->planv = v;
		x->plancap = cap;
	}
	x->planv[x->nplans] = pl;
	if ((rc = hop__amap_put(&x->plans, key, (uint32_t)x->nplans)) < 0)
		return rc;
	x->nplans++;
	*out = x->c_plan = pl;
	return 0;
}

/* ---- offsets through the layout ----------------------------------------------------------------------- */
/* Map byte off inside a value of origin type ft to our type tt. 0 or HOP_EXLATE. */
static int map_inner(struct hop_xlate *x, uint32_t ft, uint32_t tt, uint64_t off, uint64_t *doff)
{
	const struct hop_index *F = x->from, *T = x->to;
	uint64_t acc = 0;
	for (int depth = 0; depth < 100; depth++) {
		if (off == 0) {
			*doff = acc;
			return 0;
		}
		if (ft >= F->ntypes || tt >= T->ntypes)
			break;
		const struct hop_type *fty = &F->types[ft], *tty = &T->types[tt];
		if (fty->kind == HOP_KIND_ARRAY && tty->kind == HOP_KIND_ARRAY) {
			uint64_t fes = F->types[fty->target].size, tes = T->types[tty->target].size;
			if (!fes)
				break;
			acc += off / fes * tes;
			off %= fes;
			ft = fty->target;
			tt = tty->target;
			continue;
		}
		if ((fty->kind == HOP_KIND_STRUCT || fty->kind == HOP_KIND_UNION) && fty->kind == tty->kind) {
			const struct hop_member *hit = NULL;
			for (uint32_t k = 0; k < fty->nmembers && !hit; k++) {
				const struct hop_member *m = &F->members[fty->first_member + k];
				const struct hop_type *mt = &F->types[m->type];
				int fam = mt->kind == HOP_KIND_ARRAY && mt->count == 0;
				if (!m->bit_size && off >= m->offset && (fam || off - m->offset < mt->size))
					hit = m;
			}
			if (!hit)
				break;
			const struct hop_member *tm = hop__index_member(T, tt, hit->name);
			const char *nw;
			if (!tm && (nw = hop__hint_renamed_new(x->tl->hints, tty->name, hit->name))) /* upgrades */
				tm = hop__index_member(T, tt, nw);
			if (!tm)
				break;
			acc += tm->offset;
			off -= hit->offset;
			ft = hit->type;
			tt = tm->type;
			continue;
		}
		/* inside a scalar: only where its bytes are the same on both sides */
		if (fty->size == tty->size && F->big_endian == T->big_endian && off < fty->size) {
			*doff = acc + off;
			return 0;
		}
		break;
	}
	return -1;
}

/* off within `count` elements of ft (one past the end allowed) -> ours */
static int map_off(struct hop_xlate *x, uint32_t ft, uint32_t tt, uint64_t count, uint64_t fam_n, uint64_t off,
		   uint64_t *doff)
{
	const struct hop_index *F = x->from, *T = x->to;
	if (ft >= F->ntypes || tt >= T->ntypes) { /* raw bytes */
		*doff = off;
		return 0;
	}
	uint64_t fes = F->types[ft].size, tes = T->types[tt].size;
	if (!fes)
		return -1;
	const struct hop_member *ffam = fam_n ? hop__lay_fam(x->fl, ft) : NULL;
	if (ffam && off >= ffam->offset) {
		const struct hop_member *tfam = hop__lay_fam(x->tl, tt);
		if (!tfam)
			return -1;
		uint64_t fe = F->types[F->types[ffam->type].target].size, te = T->types[T->types[tfam->type].target].size;
		uint64_t r = off - ffam->offset, i = r / fe, d;
		if (i > fam_n || map_inner(x, F->types[ffam->type].target, T->types[tfam->type].target, r % fe, &d) < 0)
			return -1;
		*doff = tfam->offset + i * te + d;
		return 0;
	}
	uint64_t i = off / fes, r = off % fes, d;
	if (i > count || (i == count && r))
		return -1;
	if (map_inner(x, ft, tt, r, &d) < 0)
		return -1;
	*doff = i * tes + d;
	return 0;
}

/* ---- pointers ---------------------------------------------------------------------------------------- */
/* hop__get_uint / hop__put_uint for the sizes of pointers and most integers
 * without their byte loop: one load and at most one byte swap. */
#define HOST_BE (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
static inline uint64_t ld_uint(const uint8_t *p, unsigned size, int big_endian)
{
	if (size == 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		return !big_endian == !HOST_BE ? v : __builtin_bswap64(v);
	}
	if (size == 4) {
		uint32_t v;
		memcpy(&v, p, 4);
		return !big_endian == !HOST_BE ? v : __builtin_bswap32(v);
	}
	return hop__get_uint(p, size, big_endian);
}

static inline void st_uint(uint8_t *p, unsigned size, int big_endian, uint64_t v)
{
	if (size == 8) {
		uint64_t w = !big_endian == !HOST_BE ? v : __builtin_bswap64(v);
		memcpy(p, &w, 8);
	} else if (size == 4) {
		uint32_t w = !big_endian == !HOST_BE ? (uint32_t)v : __builtin_bswap32((uint32_t)v);
		memcpy(p, &w, 4);
	} else {
		hop__put_uint(p, size, big_endian, v);
	}
}

/* Park pk now waits, owned by object owner (counted per owner, so that
 * translating an object without parks never looks its slots up). */
static void park_live(struct hop_xlate *x, struct park *pk, uint32_t owner)
{
	if (pk->live)
		x->objs[pk->owner].nparked--;
	else
		x->parks_live++;
	pk->live = 1;
	pk->owner = owner;
	x->objs[owner].nparked++;
}

static void park_kill(struct hop_xlate *x, struct park *pk)
{
	if (!pk->live)
		return;
	pk->live = 0;
	x->parks_live--;
	x->objs[pk->owner].nparked--;
}

static int park(struct hop_xlate *x, uint8_t *slot, uint64_t value, uint32_t pt, struct ectx *e, const uint8_t *sp,
		unsigned dsize)
{
	/* a slot of an object that had no parks holds none: a record left at it
	 * (dead, or owned by a dropped block whose memory this is now) is
	 * replaced in parkslot by the new one, and settle() forgets it */
	uint32_t k = e->parked ? hop__amap_get(&x->parkslot, (uint64_t)(uintptr_t)slot) : HOP_NONE;
	if (k != HOP_NONE) {
		x->parks[k].value = value;
		x->parks[k].soff = (uint64_t)(sp - e->sbase);
		x->parks[k].pt = pt;
		park_live(x, &x->parks[k], e->obj);
		return 0;
	}
	if (x->nparks == x->parkcap) {
		size_t cap = x->parkcap ? x->parkcap * 2 : 256;
		struct park *p = realloc(x->parks, sizeof(*p) * cap);
		if (!p)
			return hop__fail(HOP_ENOMEM, "translate: out of memory");
		x->parks = p;
		x->parkcap = cap;
	}
	x->parks[x->nparks] = (struct park){ (uint64_t)(uintptr_t)slot, value, e->obj, (uint64_t)(sp - e->sbase),
					     (uint8_t)dsize, 0, pt };
	int rc = hop__amap_put(&x->parkslot, (uint64_t)(uintptr_t)slot, (uint32_t)x->nparks);
	if (rc < 0)
		return rc;
	park_live(x, &x->parks[x->nparks++], e->obj);
	memset(slot, 0, dsize);
	return 0;
}

static uint32_t our_func(struct hop_xlate *x, const char *name);

/* Our global for the origin's global `name`: same name, or the one our
 * HOP_GLOBAL_RENAMED hint says was called so (upgrades). */
static uint32_t our_var(struct hop_xlate *x, const char *name)
{
	uint32_t v = hop__lay_var(x->tl, name);
	const char *nw;
	if (v == HOP_NONE && (nw = hop__hint_global_new(x->tl->hints, name)))
		v = hop__lay_var(x->tl, nw);
	return v;
}

static void set_parent(struct hop_xlate *x, uint32_t id, struct ectx *e, const uint8_t *sp)
{
	struct xobj *b = &x->objs[id];
	if (b->parent == HOP_NONE && id != e->obj) {
		b->parent = e->obj;
		b->poff = (uint64_t)(sp - e->sbase);
	}
}

/* byend answers whether a pointer to a block's start means the end of the
 * block before it. Few pointers can (hop__end_may_win: not a char pointer,
 * not one to a block whose type starts with the pointee), so the map is
 * built the first time one may, from every live block, and kept from then
 * on: until then no block pays a put for it. 0, or -1 out of memory (then
 * finish() refuses: such a pointer may have been taken for the wrong block). */
static int need_byend(struct hop_xlate *x)
{
	if (x->byend_on)
		return 0;
	hop__amap_free(&x->byend);
	for (size_t i = 0; i < x->nobjs; i++) {
		const struct xobj *b = &x->objs[i];
		if (b->live && b->o.kind == HOP_OBJ_BLOCK && hop__amap_put(&x->byend, b->o.addr + b->o.size, (uint32_t)i) < 0) {
			hop__amap_free(&x->byend);
			x->byend_oom = 1;
			return -1;
		}
	}
	x->byend_on = 1;
	return 0;
}

/* The block ending at origin address p, once byend is on, else HOP_NONE. */
static uint32_t block_ending_at(struct hop_xlate *x, uint64_t p)
{
	return need_byend(x) < 0 ? HOP_NONE : hop__amap_get(&x->byend, p);
}

/* hop__end_may_win(from, 1, bt, pt), asked again with the same types for
 * the pointers of one member in a run of blocks of one type */
static int end_may_win(struct hop_xlate *x, uint32_t bt, uint32_t pt)
{
	if (bt != x->c_bt || pt != x->c_pt) {
		x->c_emw = hop__end_may_win(x->from, 1, bt, pt);
		x->c_bt = bt;
		x->c_pt = pt;
	}
	return x->c_emw;
}

/* Pointer p to the start of object id (a block or literal we have). */
static inline uint64_t to_start(struct hop_xlate *x, uint32_t id, uint64_t p, uint32_t pt, struct ectx *e, const uint8_t *sp)
{
	struct xobj *b = &x->objs[id];
	uint32_t a = b->o.kind == HOP_OBJ_BLOCK && end_may_win(x, b->o.type, pt) ? block_ending_at(x, p) : HOP_NONE;
	if (a != HOP_NONE && a != id && x->objs[a].live &&
	    hop__prefer_end(x->from, x->objs[a].o.type, 1, b->o.type, pt))
		return (uint64_t)(uintptr_t)x->objs[a].dst + x->objs[a].dsize;
	if (e)
		set_parent(x, id, e, sp);
	if (b->o.kind == HOP_OBJ_BLOCK)
		x->last = id;
	return (uint64_t)(uintptr_t)b->dst;
}

/* Resolve origin pointer p to our address; 1 resolved, 0 unknown (yet), <0 error. */
static int resolve(struct hop_xlate *x, uint64_t p, uint32_t pt, uint64_t *out, struct ectx *e, const uint8_t *sp,
		   uint32_t *hit)
{
	uint32_t id;
	uint64_t off, d;
	if (p == 0) {
		*out = 0;
		return 1;
	}
	id = hop__amap_get(&x->byaddr, p);
	if (id != HOP_NONE) {
		*out = to_start(x, id, p, pt, e, sp);
		if (hit)
			*hit = id;
		return 1;
	}
	/* interior pointer into the block we resolved last (arrays of linked elements);
	 * strictly inside it: one past its end may also be the start of a block not
	 * arrived yet, which finish() weighs against it */
	if (x->last < x->nobjs) {
		struct xobj *b = &x->objs[x->last];
		if (b->live && p > b->o.addr && p - b->o.addr < b->o.size) {
			if (map_off(x, b->o.type, b->tt, b->o.count, b->fam_n, p - b->o.addr, &d) < 0)
				return e ? XFAIL(x, e, sp, HOP_EXLATE, "points to byte %llu of block 0x%llx (%s), which "
						 "has no counterpart in our layout",
						 (unsigned long long)(p - b->o.addr), (unsigned long long)b->o.addr,
						 tname(x->from, b->o.type))
					 : HOP_EXLATE;
			*out = (uint64_t)(uintptr_t)b->dst + d;
			return 1;
		}
	}
	uint64_t a = p - (uint64_t)x->from_bias;
	if (hop__lay_var_at(x->fl, a, &id, &off)) {
		const struct hop_var *fv = &x->from->vars[id];
		uint32_t tv = our_var(x, fv->name);
		if (tv == HOP_NONE)
			return e ? XFAIL(x, e, sp, HOP_EXLATE, "points to global %s, which this program lacks", fv->name)
				 : HOP_EXLATE;
		const struct hop_var *v = &x->to->vars[tv];
		if (map_off(x, fv->type, v->type, 1, 0, off, &d) < 0)
			return e ? XFAIL(x, e, sp, HOP_EXLATE, "points to byte %llu of global %s, which has no "
					 "counterpart in our layout", (unsigned long long)off, fv->name)
				 : HOP_EXLATE;
		*out = v->address + (uint64_t)x->to_bias + d;
		return 1;
	}
	const struct hop_func *f = hop__index_func_at(x->from, a);
	if (f) {
		uint32_t k = our_func(x, f->name);
		if (k == HOP_NONE)
			return e ? XFAIL(x, e, sp, HOP_EXLATE, "points to function %s, which this program lacks", f->name)
				 : HOP_EXLATE;
		*out = x->to->funcs[k].address + (uint64_t)x->to_bias;
		return 1;
	}
	return 0;
}

/* Interior pointer into a block received in any order: binary search at finish(). */
static int find_block(struct hop_xlate *x, uint64_t p, uint32_t *id);

static int do_ptr(struct hop_xlate *x, const struct xop *cop, const uint8_t *sp, uint8_t *dp, struct ectx *e)
{
	const struct hop_index *F = x->from, *T = x->to;
	struct xop *op = (struct xop *)cop; /* the guess below is the only thing running a plan changes */
	uint64_t p = ld_uint(sp, F->pointer_size, F->big_endian), q = 0;
	uint32_t g = op->g_owner == e->obj ? op->g_target + op->g_step
					   : op->g_target + (uint32_t)(op->g_slope1 + 1) * (e->obj - op->g_owner);
	uint32_t hit = HOP_NONE;
	int r;
	if (p && g < x->nobjs && x->objs[g].o.addr == p && x->objs[g].live &&
	    (x->objs[g].o.kind == HOP_OBJ_BLOCK || x->objs[g].o.kind == HOP_OBJ_LITERAL)) {
		/* the object byaddr holds for p: one live block or literal starts at an address */
		q = to_start(x, g, p, op->fst, e, sp);
		hit = g;
		r = 1;
	} else {
		r = resolve(x, p, op->fst, &q, e, sp, &hit);
		if (r < 0)
			return r;
	}
	if (hit != HOP_NONE) {
		if (op->g_owner == e->obj) {
			op->g_step = hit - op->g_target;
		} else {
			op->g_step = 1;
			if (hit != g) { /* learn the slope again (a division: not while guesses hit) */
				int64_t dobj = (int32_t)(e->obj - op->g_owner), dt = (int32_t)(hit - op->g_target);
				if (dt % dobj == 0 && dt / dobj > -1000 && dt / dobj < 1000)
					op->g_slope1 = (int32_t)(dt / dobj) - 1;
			}
		}
		op->g_owner = e->obj;
		op->g_target = hit;
	}
	if (e->parked && x->objs[e->obj].nparked) { /* this slot may wait for an earlier value: not any more */
		uint32_t k = hop__amap_get(&x->parkslot, (uint64_t)(uintptr_t)dp);
		if (k != HOP_NONE)
			park_kill(x, &x->parks[k]);
	}
	if (r == 0)
		return park(x, dp, p, op->fst, e, sp, T->pointer_size);
	if (T->pointer_size < 8 && q >> 32)
		return XFAIL(x, e, sp, HOP_ERANGE, "address 0x%llx does not fit a %u-byte pointer",
			     (unsigned long long)q, T->pointer_size);
	st_uint(dp, T->pointer_size, T->big_endian, q);
	return 0;
}

/* ---- running plans ---------------------------------------------------------------------------------------- */
static int run(struct hop_xlate *x, const struct plan *pl, const uint8_t *src, uint8_t *dst, struct ectx *e);

static int do_int(struct hop_xlate *x, const struct xop *op, const uint8_t *sp, uint8_t *dp, struct ectx *e)
{
	const struct hop_index *F = x->from, *T = x->to;
	uint64_t u = ld_uint(sp, op->ssize, F->big_endian);
	unsigned sb = op->ssize * 8u, db = op->dsize * 8u;
	if (op->flags & F_DSIGN) { /* upgrade: signedness changes */
		if (op->flags & F_SIGNED) {
			if (sb < 64 && (u >> (sb - 1) & 1))
				u |= ~0ull << sb;
			if ((int64_t)u < 0 || (db < 64 && u >> db))
				return XFAIL(x, e, sp, HOP_ERANGE, "value %lld does not fit an unsigned %u-bit integer here",
					     (long long)u, db);
		} else if (u >> (db - 1)) {
			return XFAIL(x, e, sp, HOP_ERANGE, "value %llu does not fit a signed %u-bit integer here",
				     (unsigned long long)u, db);
		}
		st_uint(dp, op->dsize, T->big_endian, u);
		return 0;
	}
	if (op->flags & F_SIGNED) {
		if (sb < 64 && (u >> (sb - 1) & 1))
			u |= ~0ull << sb;
		int64_t v = (int64_t)u;
		if (db < 64 && (v < -(int64_t)(1ull << (db - 1)) || v > (int64_t)((1ull << (db - 1)) - 1)))
			return XFAIL(x, e, sp, HOP_ERANGE, "value %lld does not fit %u bits here", (long long)v, db);
	} else if (db < 64 && u >> db) {
		return XFAIL(x, e, sp, HOP_ERANGE, "value %llu does not fit %u bits here", (unsigned long long)u, db);
	}
	st_uint(dp, op->dsize, T->big_endian, u);
	return 0;
}

static int do_float(struct hop_xlate *x, const struct xop *op, const uint8_t *sp, uint8_t *dp, struct ectx *e)
{
	struct hop_fp v;
	if (hop__fp_decode((int)op->sfmt, sp, x->from->big_endian, &v) < 0)
		return XFAIL(x, e, sp, HOP_EXLATE, "not a valid %u-byte floating value (or an IBM pair spanning more "
			     "than 128 bits)", op->ssize);
	uint8_t tmp[16] = { 0 };
	if (hop__fp_encode((int)op->dfmt, &v, tmp, x->to->big_endian) < 0) {
		char vb[80];
		hop__fp_format_str(&v, vb, sizeof(vb));
		return XFAIL(x, e, sp, HOP_ERANGE, "%s is not exactly representable in this %u-byte floating type "
			     "(hop refuses to round)", vb, op->dsize);
	}
	memcpy(dp, tmp, op->dsize < 16 ? op->dsize : 16);
	return 0;
}

static void swap_bytes(uint8_t *d, const uint8_t *s, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		d[i] = s[n - 1 - i];
}

static int do_bits(struct hop_xlate *x, const struct xop *op, const uint8_t *base_s, uint8_t *base_d, struct ectx *e)
{
	const struct hop_index *F = x->from, *T = x->to;
	uint64_t u = hop__bits_get(base_s, op->sbit, op->width, F->big_endian);
	unsigned dw = (unsigned)op->n;
	if (op->flags & F_SIGNED) {
		if (op->width < 64 && (u >> (op->width - 1) & 1))
			u |= ~0ull << op->width;
		int64_t v = (int64_t)u;
		if (dw < 64 && (v < -(int64_t)(1ull << (dw - 1)) || v > (int64_t)((1ull << (dw - 1)) - 1)))
			return XFAIL(x, e, base_s + op->soff, HOP_ERANGE, "value %lld does not fit %u bits here",
				     (long long)v, dw);
	} else if (dw < 64 && u >> dw) {
		return XFAIL(x, e, base_s + op->soff, HOP_ERANGE, "value %llu does not fit %u bits here",
			     (unsigned long long)u, dw);
	}
	hop__bits_put(base_d, op->dbit, dw, T->big_endian, u);
	return 0;
}

static int do_tagged(struct hop_xlate *x, const struct xop *op, const uint8_t *src, uint8_t *dst, struct ectx *e)
{
	const struct hop_index *F = x->from, *T = x->to;
	const struct hop_member *fum = &F->members[op->um_f], *tum = &T->members[op->um_t];
	uint32_t live;
	int has, rc;
	if ((rc = hop__union_live(x->fl, op->fst, fum, src, &live, &has)) < 0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", hop_last_error());
		return XFAIL(x, e, src + fum->offset, rc, "%s", msg);
	}
	const struct hop_member *flm = &F->members[live];
	const struct hop_member *tlm = hop__index_member(T, tum->type, flm->name);
	if (!tlm)
		return XFAIL(x, e, src + fum->offset, HOP_EXLATE, "union member %s does not exist here", flm->name);
	struct plan *pl;
	if ((rc = get_plan(x, flm->type, tlm->type, &pl)) < 0)
		return rc;
	memset(dst + tum->offset, 0, T->types[tum->type].size);
	return run(x, pl, src + fum->offset + flm->offset, dst + tum->offset + tlm->offset, e);
}

/* Does [a, a + n) (object offsets) lie in the window? 1 all, 0 none, -1 partly. */
static int in_window(const struct ectx *e, const uint8_t *sp, uint64_t n)
{
	uint64_t a = (uint64_t)(sp - e->sbase);
	if (a >= e->hi || a + n <= e->lo)
		return 0;
	return a >= e->lo && a + n <= e->hi ? 1 : -1;
}

static int run_op(struct hop_xlate *x, const struct xop *op, const uint8_t *src, uint8_t *dst, struct ectx *e)
{
	const uint8_t *sp = src + op->soff;
	uint8_t *dp = dst + op->doff;
	switch (op->kind) {
	case OP_COPY1: *dp = *sp; return 0;
	case OP_COPY2: memcpy(dp, sp, 2); return 0;
	case OP_COPY4: memcpy(dp, sp, 4); return 0;
	case OP_COPY8: memcpy(dp, sp, 8); return 0;
	case OP_COPY: memcpy(dp, sp, op->n); return 0;
	case OP_SWAP: swap_bytes(dp, sp, op->n); return 0;
	case OP_FSWAP:
		if (op->sfmt == HOP_FP_IBM128) {
			swap_bytes(dp, sp, 8);
			swap_bytes(dp + 8, sp + 8, 8);
		} else {
			swap_bytes(dp, sp, op->n);
		}
		return 0;
	case OP_INT: return do_int(x, op, sp, dp, e);
	case OP_FLOAT: return do_float(x, op, sp, dp, e);
	case OP_BITS: return do_bits(x, op, src, dst, e);
	case OP_PTR: return do_ptr(x, op, sp, dp, e);
	case OP_TAGGED: return do_tagged(x, op, src, dst, e);
	case OP_ARRAY: {
		const struct plan *sub = op->sub;
		if (sub->flat && !e->lo && e->hi == UINT64_MAX) {
			/* op-major in chunks: each op's loop is a strided copy. 16 elements:
			 * measured best on x86_64 (bench/xlate_bench.sh (a): 64 was ~25% slower,
			 * the stores of a chunk stay close together) */
			enum { CHUNK = 16 };
			for (uint64_t c = 0; c < op->n; c += CHUNK) {
				uint64_t m = op->n - c < CHUNK ? op->n - c : CHUNK;
				const uint8_t *s0 = sp + c * op->ss;
				uint8_t *d0 = dp + c * op->ds;
				for (uint32_t k = 0; k < sub->nops; k++) {
					const struct xop *o = &sub->ops[k];
					const uint8_t *s1 = s0 + o->soff;
					uint8_t *d1 = d0 + o->doff;
					uint64_t ss = op->ss, ds = op->ds;
					int rc;
					switch (o->kind) {
					case OP_COPY8:
						for (uint64_t i = 0; i < m; i++)
							memcpy(d1 + i * ds, s1 + i * ss, 8);
						break;
					case OP_COPY4:
						for (uint64_t i = 0; i < m; i++)
							memcpy(d1 + i * ds, s1 + i * ss, 4);
						break;
					case OP_COPY2:
						for (uint64_t i = 0; i < m; i++)
							memcpy(d1 + i * ds, s1 + i * ss, 2);
						break;
					case OP_COPY1:
						for (uint64_t i = 0; i < m; i++)
							d1[i * ds] = s1[i * ss];
						break;
					case OP_COPY:
						if (o->n % 8 == 0 && o->n <= 64) {
							for (uint64_t i = 0; i < m; i++)
								for (uint64_t w = 0; w < o->n; w += 8)
									memcpy(d1 + i * ds + w, s1 + i * ss + w, 8);
							break;
						}
						for (uint64_t i = 0; i < m; i++)
							memcpy(d1 + i * ds, s1 + i * ss, o->n);
						break;
					default:
						for (uint64_t i = 0; i < m; i++)
							if ((rc = run_op(x, o, s0 + i * ss, d0 + i * ds, e)) < 0)
								return rc;
					}
				}
			}
			return 0;
		}
		uint64_t i0 = 0, i1 = op->n;
		if (e->lo || e->hi != UINT64_MAX) {
			uint64_t a = (uint64_t)(sp - e->sbase);
			if (in_window(e, sp, op->n * op->ss) == 0)
				return 0;
			if (op->ss) {
				i0 = e->lo > a ? (e->lo - a) / op->ss : 0;
				if (e->hi < a + op->n * op->ss)
					i1 = (e->hi - a + op->ss - 1) / op->ss;
			}
		}
		for (uint64_t i = i0; i < i1; i++) {
			int rc = run(x, sub, sp + i * op->ss, dp + i * op->ds, e);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	}
	return hop__fail(HOP_EFORMAT, "translate: bad op %u", op->kind);
}

static int run(struct hop_xlate *x, const struct plan *pl, const uint8_t *src, uint8_t *dst, struct ectx *e)
{
	if (!pl->nops)
		return 0; /* nothing to move (a struct of only a flexible array member): no ops array either */
	int windowed = e->lo || e->hi != UINT64_MAX;
	if (!windowed) { /* the whole element: the common ops without a call */
		for (const struct xop *op = pl->ops, *end = op + pl->nops; op < end; op++) {
			int rc;
			switch (op->kind) {
			case OP_COPY8: memcpy(dst + op->doff, src + op->soff, 8); continue;
			case OP_COPY4: memcpy(dst + op->doff, src + op->soff, 4); continue;
			case OP_PTR: rc = do_ptr(x, op, src + op->soff, dst + op->doff, e); break;
			default: rc = run_op(x, op, src, dst, e);
			}
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	for (uint32_t i = 0; i < pl->nops; i++) {
		const struct xop *op = &pl->ops[i];
		if (op->kind != OP_ARRAY && op->kind != OP_TAGGED) {
			uint64_t n = op->kind == OP_COPY || op->kind == OP_SWAP || op->kind == OP_FSWAP ? op->n
				     : op->kind == OP_FLOAT || op->kind == OP_INT ? op->ssize
				     : op->kind == OP_PTR ? x->from->pointer_size : op->ssize ? op->ssize : 1;
			int w = in_window(e, src + op->soff, n);
			if (w == 0)
				continue;
			if (w < 0 && op->kind == OP_COPY) {
				/* same representation: copy the part in the window */
				uint64_t a = (uint64_t)(src + op->soff - e->sbase);
				uint64_t lo = e->lo > a ? e->lo - a : 0, hi = e->hi - a < op->n ? e->hi - a : op->n;
				memcpy(dst + op->doff + lo, src + op->soff + lo, hi - lo);
				continue;
			}
			if (w < 0)
				return XFAIL(x, e, src + op->soff, HOP_EINVAL, "the changed range splits this value");
		}
		int rc = run_op(x, op, src, dst, e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- objects ------------------------------------------------------------------------------------------------ */
static int find_block(struct hop_xlate *x, uint64_t p, uint32_t *id)
{
	if (!x->dsorted_ok)
		return 0;
	size_t lo = 0, hi = x->ndsorted;
	while (lo < hi) { /* first block starting above p */
		size_t mid = lo + (hi - lo) / 2;
		if (x->objs[x->dsorted[mid]].o.addr <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	const struct xobj *b = &x->objs[x->dsorted[lo - 1]];
	if (p - b->o.addr > b->o.size)
		return 0;
	*id = x->dsorted[lo - 1];
	return 1;
}

static uint32_t our_func(struct hop_xlate *x, const char *name)
{
	uint32_t h = 2166136261u;
	for (const char *s = name; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	for (uint32_t m = x->fnames_cap - 1, i = h & m;; i = (i + 1) & m) {
		uint32_t f = x->fnames[i];
		if (f == HOP_NONE || !strcmp(x->to->funcs[f].name, name))
			return f;
	}
}

int hop__xlate_new(const struct hop_index *from, int64_t from_bias, const struct hop_index *to, int64_t to_bias,
		   const struct hop_heap_ops *heap, struct hop_xlate **out)
{
	struct hop_xlate *x = calloc(1, sizeof(*x));
	int rc;
	if (!x)
		return hop__fail(HOP_ENOMEM, "translate: out of memory");
	x->from = from;
	x->to = to;
	x->from_bias = from_bias;
	x->to_bias = to_bias;
	x->heap = heap ? *heap : hop__real_heap;
	x->last = HOP_NONE;
	x->c_ft = x->c_bt = x->c_pt = HOP_NONE;
	x->byaddr.local = x->byend.local = 1; /* origin block addresses, looked up in the order of the blocks */
	x->bydst.local = 1; /* ours, allocated in the order the blocks came: the digest looks them up so */
	if ((rc = hop__lay_new(from, &x->fl)) < 0 || (rc = hop__lay_new(to, &x->tl)) < 0) {
		hop__xlate_free(x);
		return rc;
	}
	x->byvar = malloc(sizeof(uint32_t) * (from->nvars + 1));
	x->fnames_cap = 16;
	while (x->fnames_cap < to->nfuncs * 2 + 2)
		x->fnames_cap <<= 1;
	x->fnames = malloc(sizeof(uint32_t) * x->fnames_cap);
	if (!x->byvar || !x->fnames) {
		hop__xlate_free(x);
		return hop__fail(HOP_ENOMEM, "translate: out of memory");
	}
	memset(x->byvar, 0xff, sizeof(uint32_t) * (from->nvars + 1));
	memset(x->fnames, 0xff, sizeof(uint32_t) * x->fnames_cap);
	for (uint32_t f = 0; f < to->nfuncs; f++) {
		uint32_t h = 2166136261u;
		for (const char *s = to->funcs[f].name; *s; s++)
			h = (h ^ (uint8_t)*s) * 16777619u;
		for (uint32_t m = x->fnames_cap - 1, i = h & m;; i = (i + 1) & m) {
			if (x->fnames[i] == HOP_NONE) {
				x->fnames[i] = f;
				break;
			}
			if (!strcmp(to->funcs[x->fnames[i]].name, to->funcs[f].name))
				break;
		}
	}
	*out = x;
	return 0;
}

void hop__xlate_free(struct hop_xlate *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->nplans; i++) {
		free(x->planv[i]->ops);
		free(x->planv[i]);
	}
	free(x->planv);
	for (size_t i = 0; i < x->nobjs; i++) {
		free(x->objs[i].old);
		if (x->objs[i].grave)
			x->heap.release(x->heap.ctx, x->objs[i].dst);
	}
	free(x->hookv);
	free(x->objs);
	free(x->byvar);
	free(x->fnames);
	free(x->parks);
	free(x->dsorted);
	hop__amap_free(&x->byaddr);
	hop__amap_free(&x->byend);
	hop__amap_free(&x->bydst);
	hop__amap_free(&x->dropped);
	free(x->stale);
	hop__amap_free(&x->plans);
	hop__amap_free(&x->parkslot);
	hop__lay_free(x->fl);
	hop__lay_free(x->tl);
	free(x);
}

/* Object id's values changed: its hash is computed again at the next digest. */
static void mark_stale(struct hop_xlate *x, uint32_t id)
{
	struct xobj *o = &x->objs[id];
	if (o->queued && !o->hashed) /* nothing to change: no store (a full pass stays read-only here) */
		return;
	o->hashed = 0;
	if (o->queued)
		return;
	if (x->nstale == x->capstale) {
		size_t cap = x->capstale ? x->capstale * 2 : 256;
		uint32_t *v = realloc(x->stale, sizeof(*v) * cap);
		if (!v) {
			x->stale_all = 1;
			x->why_all = "out of memory for the stale list";
			return;
		}
		x->stale = v;
		x->capstale = cap;
	}
	x->stale[x->nstale++] = id;
	o->queued = 1;
}

/* Room for cap objects, and for as many on the stale list. */
static int grow_objs(struct hop_xlate *x, size_t cap)
{
	if (cap >= HOP_NONE)
		return hop__fail(HOP_ENOMEM, "translate: too many objects");
	if (cap > x->cap) {
		struct xobj *n = realloc(x->objs, sizeof(*n) * cap);
		if (!n)
			return hop__fail(HOP_ENOMEM, "translate: out of memory");
		hop__mem_huge(n + x->cap, sizeof(*n) * (cap - x->cap));
		x->objs = n;
		x->cap = cap;
	}
	if (cap > x->capstale) {
		uint32_t *v = realloc(x->stale, sizeof(*v) * cap);
		if (!v)
			return hop__fail(HOP_ENOMEM, "translate: out of memory");
		x->stale = v;
		x->capstale = cap;
	}
	return 0;
}

int hop__xlate_reserve(struct hop_xlate *x, uint32_t n)
{
	int rc;
	if ((rc = hop__amap_reserve(&x->byaddr, n)) < 0 || (x->byend_on && (rc = hop__amap_reserve(&x->byend, n)) < 0) ||
	    (rc = hop__amap_reserve(&x->bydst, n)) < 0 || (rc = grow_objs(x, x->nobjs + (size_t)n)) < 0)
		return rc;
	return 0;
}

static int new_xobj(struct hop_xlate *x, uint32_t *id)
{
	int rc;
	if ((x->nobjs == x->cap || x->nstale == x->capstale) &&
	    (rc = grow_objs(x, x->nobjs == x->cap ? (x->cap ? x->cap * 2 : 256) : x->cap)) < 0)
		return rc;
	*id = (uint32_t)x->nobjs++;
	memset(&x->objs[*id], 0, sizeof(x->objs[*id]));
	x->stale[x->nstale++] = *id;
	x->objs[*id].queued = 1;
	x->objs[*id].parent = HOP_NONE;
	x->objs[*id].tt = HOP_NONE;
	x->dsorted_ok = 0;
	return 0;
}

/* Find a literal's bytes in our read-only sections. */
static uint8_t *find_literal(struct hop_xlate *x, const uint8_t *bytes, uint64_t n)
{
	const struct hop_index *T = x->to;
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < T->nsections; i++) {
			const struct hop_section *s = &T->sections[i];
			if (s->flags & (HOP_SF_WRITE | HOP_SF_EXEC) || !s->size)
				continue;
			if ((strncmp(s->name, ".rodata", 7) == 0) != (pass == 0))
				continue;
			const uint8_t *base = (const uint8_t *)(uintptr_t)(s->address + (uint64_t)x->to_bias);
			const uint8_t *hit = memmem(base, s->size, bytes, n);
			if (hit)
				return (uint8_t *)hit;
		}
	return NULL;
}

/* Upgrades: is our global v a constant of the build (.rodata, or
 * .data.rel.ro, read-only once relocated)? The new build's value is then
 * the right one, whatever the old build held. */
static int const_var(const struct hop_index *T, const struct hop_var *v)
{
	for (uint32_t i = 0; i < T->nsections; i++) {
		const struct hop_section *s = &T->sections[i];
		if (v->address >= s->address && v->address - s->address < s->size)
			return !strncmp(s->name, ".rodata", 7) || !strncmp(s->name, ".data.rel.ro", 12);
	}
	return 0;
}

/* ---- blocks that come back ---------------------------------------------------------------------- */
#define GRAVE_MAX ((uint64_t)64 << 20) /* bytes of dropped blocks kept for one that comes back */

/* Give back the memory kept for dropped object id. */
static void grave_release(struct hop_xlate *x, uint32_t id)
{
	struct xobj *d = &x->objs[id];
	if (!d->grave)
		return;
	if (hop__amap_get(&x->bydst, (uint64_t)(uintptr_t)d->dst) == id)
		hop__amap_del(&x->bydst, (uint64_t)(uintptr_t)d->dst);
	x->heap.release(x->heap.ctx, d->dst);
	x->grave_bytes -= d->dsize;
	d->grave = 0;
	d->dst = NULL;
}

/* A block created at an origin address where an older block was dropped
 * (the origin freed it and its allocator handed the address out again, or
 * resized it in place). An object the origin did not send again may still
 * hold a pointer into the old block: on the origin that pointer now leads
 * into the new block, here into the old one's memory, and its object's kept
 * hash (which names the origin address) would hide that. So the dropped
 * block's memory was kept (hop__xlate_drop), and the new block takes it
 * when it has the same type and is no smaller (grown in place if need be):
 * such a pointer then leads exactly where a fresh translation would put it
 * (same type, same offsets) and every kept hash stays right -- the cost is
 * that of the block, not of the state. Otherwise (another type, smaller,
 * cannot grow in place, memory not kept) every kept hash is suspect
 * (stale_all): the next digest hashes the whole state, and such a pointer,
 * leading into freed memory here, makes the digests differ. The memory to
 * use for the new block (zeroed), or NULL to allocate. */
static void *come_back(struct hop_xlate *x, const struct hop_obj *o, uint32_t tt, uint64_t dsize)
{
	uint32_t g = x->dropped.n ? hop__amap_get(&x->dropped, o->addr) : HOP_NONE;
	if (g == HOP_NONE)
		return NULL;
	hop__amap_del(&x->dropped, o->addr);
	struct xobj *d = &x->objs[g];
	if (d->grave && d->o.type == o->type && d->tt == tt && o->size >= d->o.size) {
		uint8_t *mem = d->dst;
		if (dsize > d->dsize) {
			void *n = x->heap.resize ? x->heap.resize(x->heap.ctx, mem, (size_t)dsize) : NULL;
			if (n != mem) {
				if (n) { /* moved: the old memory is freed, pointers into it dangle */
					x->grave_bytes -= d->dsize;
					if (hop__amap_get(&x->bydst, (uint64_t)(uintptr_t)mem) == g)
						hop__amap_del(&x->bydst, (uint64_t)(uintptr_t)mem);
					d->grave = 0;
					d->dst = NULL;
					x->stale_all = 1;
					x->why_all = "a block came back larger where one was dropped, and moved";
					memset(n, 0, (size_t)dsize);
					return n;
				}
				goto suspect;
			}
		}
		x->grave_bytes -= d->dsize;
		d->grave = 0;
		d->dst = NULL;
		memset(mem, 0, (size_t)dsize);
		x->came_back++;
		return mem; /* the caller lists it in bydst under the new object */
	}
suspect:
	grave_release(x, g);
	x->stale_all = 1;
	x->why_all = "a block came back where one was dropped, of another type, smaller, or not kept";
	return NULL;
}

/* Set up (first time) the object for o: our type, our memory. */
static int setup(struct hop_xlate *x, const struct hop_obj *o, const void *bytes, uint32_t *idp)
{
	const struct hop_index *F = x->from, *T = x->to;
	uint32_t id;
	int rc;

	switch (o->kind) {
	case HOP_OBJ_GLOBAL: {
		if (o->var >= F->nvars)
			return hop__fail(HOP_EFORMAT, "object names origin variable %u of %u", o->var, F->nvars);
		const struct hop_var *fv = &F->vars[o->var];
		if (o->size != fv->size || o->type != fv->type || o->count != 1)
			return hop__fail(HOP_EFORMAT, "global %s: object says %llu bytes of type %u, the index %llu of %u",
					 fv->name, (unsigned long long)o->size, o->type, (unsigned long long)fv->size,
					 fv->type);
		id = x->byvar[o->var];
		if (id != HOP_NONE)
			break;
		uint32_t tv = our_var(x, fv->name);
		if (tv != HOP_NONE && const_var(T, &T->vars[tv]))
			tv = HOP_NONE; /* a constant of our build (an upgrade may have changed it): ours stands */
		if (tv == HOP_NONE) {
			/* upgrades: the new version removed this global (hop check reports it); its
			 * old bytes are kept only for the digest, which the origin computed with it */
			if ((rc = new_xobj(x, &id)) < 0)
				return rc;
			struct xobj *g = &x->objs[id];
			g->o = *o;
			g->gone = g->live = 1;
			x->byvar[o->var] = id;
			break;
		}
		if ((rc = new_xobj(x, &id)) < 0)
			return rc;
		struct xobj *xo = &x->objs[id];
		xo->o = *o;
		xo->tt = T->vars[tv].type;
		xo->dst = (uint8_t *)(uintptr_t)(T->vars[tv].address + (uint64_t)x->to_bias);
		xo->dsize = T->vars[tv].size;
		xo->live = 1;
		x->byvar[o->var] = id;
		break;
	}
	case HOP_OBJ_BLOCK: {
		/* sent again in the same order as before: the object after the last one */
		id = x->lastobj + 1;
		if (id >= x->nobjs || !x->objs[id].live || x->objs[id].o.kind != HOP_OBJ_BLOCK ||
		    x->objs[id].o.addr != o->addr)
			id = hop__amap_get(&x->byaddr, o->addr);
		if (id != HOP_NONE) {
			struct xobj *xo = &x->objs[id];
			if (xo->o.kind == HOP_OBJ_BLOCK && xo->o.size == o->size && xo->o.type == o->type &&
			    xo->o.count == o->count)
				break;
			/* the origin reused the address for another block: start again */
			if ((rc = hop__xlate_drop(x, o->addr)) < 0)
				return rc;
		}
		uint64_t fam_n = 0, dsize;
		uint32_t tt = HOP_NONE;
		if (o->type != HOP_NONE) {
			if (o->type >= F->ntypes || !F->types[o->type].size)
				return hop__fail(HOP_EFORMAT, "block 0x%llx: bad type %u", (unsigned long long)o->addr, o->type);
			uint64_t es = F->types[o->type].size;
			if (o->count > o->size / es)
				return hop__fail(HOP_EFORMAT, "block 0x%llx: %llu elements of %llu bytes exceed %llu bytes",
						 (unsigned long long)o->addr, (unsigned long long)o->count,
						 (unsigned long long)es, (unsigned long long)o->size);
			if (o->type != x->c_ft) {
				x->c_tt = hop__lay_type(x->tl, F->types[o->type].name);
				x->c_ft = o->type;
			}
			tt = x->c_tt;
			if (tt == HOP_NONE || !T->types[tt].size)
				return hop__fail(HOP_EXLATE, "block 0x%llx: this program has no type %s",
						 (unsigned long long)o->addr, F->types[o->type].name);
			uint64_t tes = T->types[tt].size;
			if (o->count > (UINT64_MAX / 2) / tes)
				return hop__fail(HOP_EFORMAT, "block 0x%llx too large", (unsigned long long)o->addr);
			dsize = o->count * tes;
			const struct hop_member *ffam = hop__lay_fam(x->fl, o->type);
			if (ffam && o->count == 1 && o->size > ffam->offset) {
				const struct hop_member *tfam = hop__lay_fam(x->tl, tt);
				if (!tfam)
					return hop__fail(HOP_EXLATE, "block 0x%llx: %s has no flexible array member here",
							 (unsigned long long)o->addr, T->types[tt].name);
				uint64_t fe = F->types[F->types[ffam->type].target].size;
				uint64_t te = T->types[T->types[tfam->type].target].size;
				fam_n = (o->size - ffam->offset) / fe;
				if (fam_n > (UINT64_MAX / 4) / (te ? te : 1))
					return hop__fail(HOP_EFORMAT, "block 0x%llx too large", (unsigned long long)o->addr);
				if (tfam->offset + fam_n * te > dsize)
					dsize = tfam->offset + fam_n * te;
			}
		} else {
			dsize = o->size;
		}
		if (dsize > ((uint64_t)1 << 40) || dsize != (size_t)dsize)
			return hop__fail(HOP_ENOMEM, "block 0x%llx: %llu bytes is too large", (unsigned long long)o->addr,
					 (unsigned long long)dsize);
		void *mem = come_back(x, o, tt, dsize);
		if (!mem)
			mem = x->heap.alloc(x->heap.ctx, (size_t)dsize);
		if (!mem)
			return hop__fail(HOP_ENOMEM, "block 0x%llx: cannot allocate %llu bytes", (unsigned long long)o->addr,
					 (unsigned long long)dsize);
		if ((rc = new_xobj(x, &id)) < 0) {
			x->heap.release(x->heap.ctx, mem);
			return rc;
		}
		struct xobj *xo = &x->objs[id];
		xo->o = *o;
		xo->tt = tt;
		xo->fam_n = fam_n;
		xo->dst = mem;
		xo->dsize = dsize;
		xo->live = xo->owned = 1;
		if ((rc = hop__amap_put(&x->byaddr, o->addr, id)) < 0 ||
		    (x->byend_on && (rc = hop__amap_put(&x->byend, o->addr + o->size, id)) < 0) ||
		    (rc = hop__amap_put(&x->bydst, (uint64_t)(uintptr_t)mem, id)) < 0)
			return rc;
		break;
	}
	case HOP_OBJ_LITERAL: {
		id = hop__amap_get(&x->byaddr, o->addr);
		if (id != HOP_NONE && x->objs[id].o.kind == HOP_OBJ_LITERAL)
			break;
		const uint8_t *b = bytes;
		if (!o->size || b[o->size - 1] != 0)
			return hop__fail(HOP_EFORMAT, "literal 0x%llx is not NUL-terminated", (unsigned long long)o->addr);
		uint8_t *hit = find_literal(x, b, o->size);
		if (!hit)
			return hop__fail(HOP_EXLATE, "string literal \"%.40s%s\" (origin 0x%llx) is not in this program's "
					 "read-only data", (const char *)b, o->size > 41 ? "..." : "",
					 (unsigned long long)o->addr);
		if (id != HOP_NONE && (rc = hop__xlate_drop(x, o->addr)) < 0)
			return rc;
		if ((rc = new_xobj(x, &id)) < 0)
			return rc;
		struct xobj *xo = &x->objs[id];
		xo->o = *o;
		xo->dst = hit;
		xo->dsize = o->size;
		xo->live = 1;
		if ((rc = hop__amap_put(&x->byaddr, o->addr, id)) < 0)
			return rc;
		break;
	}
	default:
		return hop__fail(HOP_EFORMAT, "object of unknown kind %u", o->kind);
	}
	*idp = x->lastobj = id;
	return 0;
}

/* Upgrades: keep the origin's bytes [lo, hi) of an object whose type the
 * upgrade changed. The digest hashes them as the origin did (our values
 * lack removed members and hold added ones), and the type's hook reads them. */
static int keep_old(struct hop_xlate *x, struct xobj *xo, const uint8_t *bytes, uint64_t lo, uint64_t hi)
{
	uint64_t b = hi < xo->o.size ? hi : xo->o.size;
	if (!xo->old) {
		if (lo != 0)
			return hop__fail(HOP_EINVAL, "upgrade: a range of object 0x%llx before the object",
					 (unsigned long long)xo->o.addr);
		if (!(xo->old = malloc(xo->o.size ? xo->o.size : 1)))
			return hop__fail(HOP_ENOMEM, "upgrade: out of memory for the old bytes of 0x%llx",
					 (unsigned long long)xo->o.addr);
	}
	if (lo < b)
		memcpy(xo->old + lo, bytes + lo, b - lo);
	return 0;
}

/* Upgrades: the HOP_UPGRADE function of our type tt (or of its elements), or NULL. */
static const char *hook_of(struct hop_xlate *x, uint32_t tt)
{
	const struct hop_index *T = x->to;
	if (tt >= T->ntypes || !T->nhints)
		return NULL;
	if (T->types[tt].kind == HOP_KIND_ARRAY && T->types[tt].target < T->ntypes)
		tt = T->types[tt].target;
	return hop__hint_upgrade(x->tl->hints, T->types[tt].name);
}

static int queue_hook(struct hop_xlate *x, uint32_t id)
{
	if (x->objs[id].hookq)
		return 0;
	if (x->nhook == x->hookcap) {
		size_t cap = x->hookcap ? x->hookcap * 2 : 64;
		uint32_t *v = realloc(x->hookv, sizeof(*v) * cap);
		if (!v)
			return hop__fail(HOP_ENOMEM, "translate: out of memory");
		x->hookv = v;
		x->hookcap = cap;
	}
	x->hookv[x->nhook++] = id;
	x->objs[id].hookq = 1;
	return 0;
}

static int translate(struct hop_xlate *x, uint32_t id, const uint8_t *bytes, uint64_t lo, uint64_t hi)
{
	struct xobj *xo = &x->objs[id];
	const struct hop_index *F = x->from, *T = x->to;
	struct ectx e = { id, bytes, lo, hi, xo->nparked != 0 };
	int rc;
	mark_stale(x, id);
	if (xo->o.kind == HOP_OBJ_LITERAL)
		return 0;
	if (xo->gone) /* upgrades: a removed global */
		return keep_old(x, xo, bytes, lo, hi);
	if (xo->tt == HOP_NONE) { /* raw bytes */
		uint64_t a = lo, b = hi < xo->o.size ? hi : xo->o.size;
		if (a < b)
			memcpy(xo->dst + a, bytes + a, b - a);
		return 0;
	}
	struct plan *pl = xo->pl;
	if (!pl && (rc = get_plan(x, xo->o.type, xo->tt, &pl)) < 0) {
		char msg[512], pb[512];
		snprintf(msg, sizeof(msg), "%s", hop_last_error());
		return hop__fail(rc, "%s: %s", xpath(x, id, 0, pb, sizeof(pb)), msg);
	}
	if (!xo->pl)
		xo->pl = pl;
	int upgraded = pl->changed;
	if (!upgraded && xo->fam_n) {
		const struct hop_member *ffam = hop__lay_fam(x->fl, xo->o.type), *tfam = hop__lay_fam(x->tl, xo->tt);
		struct plan *fp;
		if ((rc = get_plan(x, F->types[ffam->type].target, T->types[tfam->type].target, &fp)) < 0)
			return rc;
		upgraded = fp->changed;
	}
	if (upgraded) {
		if ((rc = keep_old(x, xo, bytes, lo, hi)) < 0)
			return rc;
		if (hook_of(x, xo->tt) && (rc = queue_hook(x, id)) < 0)
			return rc;
	}
	uint64_t es = pl->ssize, n = xo->o.count, f0 = 0, f1 = n;
	int part = lo != 0 || hi != UINT64_MAX; /* a range, not the whole object */
	/* elements wholly inside the window run unwindowed (op-major when flat);
	 * at most one partial element at each end runs windowed */
	if (part && es) {
		f0 = (lo + es - 1) / es;
		f1 = hi / es < n ? hi / es : n;
		if (f0 > f1)
			f0 = f1;
		if (lo % es && lo / es < n &&
		    (rc = run(x, pl, bytes + lo / es * es, xo->dst + lo / es * pl->dsize, &e)) < 0)
			return rc;
	}
	struct ectx whole = { id, bytes, 0, UINT64_MAX, e.parked };
	if (pl->flat && f1 - f0 > 1) {
		struct xop arr = { .kind = OP_ARRAY, .n = f1 - f0, .ss = pl->ssize, .ds = pl->dsize, .sub = pl };
		if ((rc = run_op(x, &arr, bytes + f0 * es, xo->dst + f0 * pl->dsize, &whole)) < 0)
			return rc;
	} else {
		for (uint64_t i = f0; i < f1; i++)
			if ((rc = run(x, pl, bytes + i * es, xo->dst + i * pl->dsize, &whole)) < 0)
				return rc;
	}
	if (part && es && f1 < n && f1 * es < hi && f1 * es >= lo && (lo / es != f1 || !(lo % es)) &&
	    (rc = run(x, pl, bytes + f1 * es, xo->dst + f1 * pl->dsize, &e)) < 0)
		return rc;
	if (xo->fam_n) {
		const struct hop_member *ffam = hop__lay_fam(x->fl, xo->o.type), *tfam = hop__lay_fam(x->tl, xo->tt);
		uint32_t fet = F->types[ffam->type].target, tet = T->types[tfam->type].target;
		struct plan *ep;
		if ((rc = get_plan(x, fet, tet, &ep)) < 0)
			return rc;
		for (uint64_t i = 0; i < xo->fam_n; i++)
			if ((rc = run(x, ep, bytes + ffam->offset + i * ep->ssize, xo->dst + tfam->offset + i * ep->dsize,
				      &e)) < 0)
				return rc;
	}
	return 0;
}

int hop__xlate_object(struct hop_xlate *x, const struct hop_obj *o, const void *bytes)
{
	/* sent again, in the order of last time: the block after the last one, one
	 * element, its plan compiled and unchanged by an upgrade -- what setup()
	 * and translate() come to, without their cases */
	uint32_t id = x->lastobj + 1;
	if (o->kind == HOP_OBJ_BLOCK && o->count == 1 && id < x->nobjs) {
		struct xobj *xo = &x->objs[id];
		if (xo->o.addr == o->addr && xo->live && xo->o.kind == HOP_OBJ_BLOCK && xo->o.size == o->size &&
		    xo->o.type == o->type && xo->o.count == 1 && xo->pl && !xo->pl->changed && !xo->fam_n) {
			struct ectx e = { id, bytes, 0, UINT64_MAX, xo->nparked != 0 };
			x->lastobj = id;
			mark_stale(x, id);
			return run(x, xo->pl, bytes, xo->dst, &e);
		}
	}
	id = HOP_NONE;
	int rc = setup(x, o, bytes, &id);
	if (rc < 0)
		return rc;
	return translate(x, id, bytes, 0, UINT64_MAX);
}

int hop__xlate_range(struct hop_xlate *x, const struct hop_obj *o, uint64_t off, const void *bytes, uint64_t len)
{
	uint32_t id = HOP_NONE;
	if (o->kind == HOP_OBJ_GLOBAL && o->var < x->from->nvars)
		id = x->byvar[o->var];
	else if (o->kind == HOP_OBJ_BLOCK)
		id = hop__amap_get(&x->byaddr, o->addr);
	if (id == HOP_NONE || !x->objs[id].live)
		return hop__fail(HOP_ENOENT, "range of an object not translated before (origin 0x%llx)",
				 (unsigned long long)o->addr);
	if (off > x->objs[id].o.size || len > x->objs[id].o.size - off)
		return hop__fail(HOP_EINVAL, "range %llu+%llu beyond the object's %llu bytes", (unsigned long long)off,
				 (unsigned long long)len, (unsigned long long)x->objs[id].o.size);
	if (!len)
		return 0;
	/* the plan reads only the window; bytes outside it are never touched */
	return translate(x, id, (const uint8_t *)bytes - off, off, off + len);
}

void hop__xlate_prefetch(const struct hop_xlate *x, uint64_t origin_addr)
{
	hop__amap_prefetch(&x->byaddr, origin_addr);
}

int hop__xlate_drop(struct hop_xlate *x, uint64_t origin_addr)
{
	uint32_t id = hop__amap_get(&x->byaddr, origin_addr);
	if (id == HOP_NONE)
		return hop__fail(HOP_ENOENT, "drop: no object at origin 0x%llx", (unsigned long long)origin_addr);
	struct xobj *xo = &x->objs[id];
	if (xo->in_sum)
		hop__digest_sub(x->sum, xo->hash);
	xo->in_sum = 0;
	/* a block's memory is kept for one that may come back at its origin
	 * address (come_back), within a bound; it stays listed in bydst, so a
	 * pointer into it hashes as a pointer into the dropped block did */
	if (xo->o.kind == HOP_OBJ_BLOCK && xo->owned && xo->dst && x->grave_bytes + xo->dsize <= GRAVE_MAX &&
	    hop__amap_put(&x->dropped, origin_addr, id) == 0) {
		xo->grave = 1;
		x->grave_bytes += xo->dsize;
	} else {
		if (xo->o.kind == HOP_OBJ_BLOCK) {
			if (xo->dst && hop__amap_get(&x->bydst, (uint64_t)(uintptr_t)xo->dst) == id)
				hop__amap_del(&x->bydst, (uint64_t)(uintptr_t)xo->dst);
			if (hop__amap_put(&x->dropped, origin_addr, id) < 0) {
				x->stale_all = 1; /* cannot remember it: trust no cached hash */
				x->why_all = "out of memory for the dropped blocks";
			}
		}
		if (xo->owned && xo->dst)
			x->heap.release(x->heap.ctx, xo->dst);
		xo->dst = NULL;
	}
	xo->live = 0;
	free(xo->old);
	xo->old = NULL;
	hop__amap_del(&x->byaddr, origin_addr);
	if (xo->o.kind == HOP_OBJ_BLOCK && x->byend_on && hop__amap_get(&x->byend, origin_addr + xo->o.size) == id)
		hop__amap_del(&x->byend, origin_addr + xo->o.size);
	x->dsorted_ok = 0;
	if (x->last == id)
		x->last = HOP_NONE;
	return 0;
}

static struct hop_xlate *sort_x; /* qsort has no context argument in C11 */
static int cmp_origin(const void *a, const void *b)
{
	uint64_t x = sort_x->objs[*(const uint32_t *)a].o.addr, y = sort_x->objs[*(const uint32_t *)b].o.addr;
	return x < y ? -1 : x > y;
}

static int sort_blocks(struct hop_xlate *x)
{
	uint32_t *v = realloc(x->dsorted, sizeof(uint32_t) * (x->nobjs + 1));
	if (!v)
		return hop__fail(HOP_ENOMEM, "translate: out of memory");
	x->dsorted = v;
	x->ndsorted = 0;
	for (size_t i = 0; i < x->nobjs; i++)
		if (x->objs[i].live && x->objs[i].o.kind == HOP_OBJ_BLOCK)
			v[x->ndsorted++] = (uint32_t)i;
	sort_x = x;
	qsort(v, x->ndsorted, sizeof(uint32_t), cmp_origin);
	x->dsorted_ok = 1;
	return 0;
}

static int run_hooks(struct hop_xlate *x);

int hop__xlate_settle(struct hop_xlate *x)
{
	for (size_t k = 0; k < x->nparks && x->parks_live; k++) {
		struct park *pk = &x->parks[k];
		uint64_t q;
		if (!pk->live)
			continue;
		if (!x->objs[pk->owner].live) {
			park_kill(x, pk);
			continue;
		}
		if (resolve(x, pk->value, pk->pt, &q, NULL, NULL, NULL) != 1 || (x->to->pointer_size < 8 && q >> 32))
			continue; /* not arrived yet (or refused: finish() says so with the path) */
		hop__put_uint((uint8_t *)(uintptr_t)pk->slot, pk->dsize, x->to->big_endian, q);
		mark_stale(x, pk->owner);
		park_kill(x, pk);
	}
	if (x->nparks > 2 * x->parks_live + 1024) { /* mostly settled: keep only the live ones */
		size_t n = 0;
		hop__amap_free(&x->parkslot);
		for (size_t k = 0; k < x->nparks; k++) {
			if (!x->parks[k].live)
				continue;
			x->parks[n] = x->parks[k];
			int rc = hop__amap_put(&x->parkslot, x->parks[n].slot, (uint32_t)n);
			if (rc < 0)
				return rc;
			n++;
		}
		x->nparks = n;
	}
	return 0;
}

static int finish_parks(struct hop_xlate *x)
{
	int rc;
	if ((rc = hop__xlate_settle(x)) < 0) /* what resolves directly needs no sorted blocks */
		return rc;
	if (!x->parks_live) {
		x->nparks = 0;
		hop__amap_free(&x->parkslot);
		return 0;
	}
	if ((rc = sort_blocks(x)) < 0)
		return rc;
	for (size_t k = 0; k < x->nparks; k++) {
		struct park *pk = &x->parks[k];
		if (!pk->live)
			continue;
		struct xobj *owner = &x->objs[pk->owner];
		if (!owner->live) {
			park_kill(x, pk);
			continue;
		}
		uint32_t id;
		uint64_t q, d;
		char pb[512];
		if (resolve(x, pk->value, pk->pt, &q, NULL, NULL, NULL) == 1) { /* a literal or block that arrived later */
			hop__put_uint((uint8_t *)(uintptr_t)pk->slot, pk->dsize, x->to->big_endian, q);
			mark_stale(x, pk->owner);
			park_kill(x, pk);
			continue;
		}
		if (!find_block(x, pk->value, &id))
			return hop__fail(HOP_EXLATE, "%s: points to 0x%llx, which is no global, block, function or "
					 "literal that arrived", xpath(x, pk->owner, pk->soff, pb, sizeof(pb)),
					 (unsigned long long)pk->value);
		struct xobj *b = &x->objs[id];
		if (map_off(x, b->o.type, b->tt, b->o.count, b->fam_n, pk->value - b->o.addr, &d) < 0)
			return hop__fail(HOP_EXLATE, "%s: points to byte %llu of block 0x%llx (%s), which has no "
					 "counterpart in our layout", xpath(x, pk->owner, pk->soff, pb, sizeof(pb)),
					 (unsigned long long)(pk->value - b->o.addr), (unsigned long long)b->o.addr,
					 tname(x->from, b->o.type));
		if (b->parent == HOP_NONE && id != pk->owner) {
			b->parent = pk->owner;
			b->poff = pk->soff;
		}
		q = (uint64_t)(uintptr_t)b->dst + d;
		hop__put_uint((uint8_t *)(uintptr_t)pk->slot, pk->dsize, x->to->big_endian, q);
		mark_stale(x, pk->owner);
		park_kill(x, pk);
	}
	x->nparks = 0;
	hop__amap_free(&x->parkslot);
	return 0;
}

int hop__xlate_finish(struct hop_xlate *x)
{
	if (x->byend_oom)
		return hop__fail(HOP_ENOMEM, "translate: out of memory for the map of block ends");
	int rc = finish_parks(x);
	if (rc < 0)
		return rc;
	return run_hooks(x);
}

/* ---- upgrade hooks ------------------------------------------------------------------------------------------------- */
typedef int (*hop_upgrade_fn)(void *new_obj, const struct hop_old *old);

/* Call the HOP_UPGRADE function of each queued object's type once per
 * element, now that its pointers are resolved, with the origin's bytes. An
 * object changed again later is queued again, so the hook sees the last
 * values. The hook is the program's code: what it allocates is the
 * program's, not the runtime's. */
static int run_hooks(struct hop_xlate *x)
{
	const struct hop_index *F = x->from, *T = x->to;
	for (size_t k = 0; k < x->nhook; k++) {
		uint32_t id = x->hookv[k];
		struct xobj *xo = &x->objs[id];
		xo->hookq = 0;
		if (!xo->live || xo->gone || !xo->old || !xo->dst)
			continue;
		const char *name = hook_of(x, xo->tt);
		uint32_t f = name ? our_func(x, name) : HOP_NONE;
		if (f == HOP_NONE) {
			char pb[512];
			x->nhook = 0;
			return hop__fail(HOP_EHINT, "%s: HOP_UPGRADE(%s, %s) names no function of this program",
					 xpath(x, id, 0, pb, sizeof(pb)), tname(T, xo->tt), name ? name : "?");
		}
		hop_upgrade_fn fn = (hop_upgrade_fn)(uintptr_t)(T->funcs[f].address + (uint64_t)x->to_bias);
		/* elements: a block of count elements, or a global array of them */
		uint32_t ft = xo->o.type, tt = xo->tt;
		uint64_t n = xo->o.kind == HOP_OBJ_BLOCK ? xo->o.count : 1;
		if (T->types[tt].kind == HOP_KIND_ARRAY && ft < F->ntypes && F->types[ft].kind == HOP_KIND_ARRAY) {
			n *= F->types[ft].count;
			ft = F->types[ft].target;
			tt = T->types[tt].target;
		}
		uint64_t fes = F->types[ft].size, tes = T->types[tt].size;
		for (uint64_t i = 0; i < n; i++) {
			struct hop_old old = { F, ft, xo->old + i * fes, xo->o.size - i * fes };
			int prev = hop__heap_runtime_thread(0);
			int r = fn(xo->dst + i * tes, &old);
			hop__heap_runtime_thread(prev);
			if (r < 0) {
				char pb[512];
				x->nhook = 0;
				return hop__fail(HOP_EXLATE, "%s: the upgrade hook %s() refused this object (returned %d)",
						 xpath(x, id, i * fes, pb, sizeof(pb)), name, r);
			}
		}
	}
	x->nhook = 0;
	return 0;
}

/* ---- digest of our state -------------------------------------------------------------------------------------------- */
static int cmp_dst(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)sort_x->objs[*(const uint32_t *)a].dst;
	uintptr_t y = (uintptr_t)sort_x->objs[*(const uint32_t *)b].dst;
	return x < y ? -1 : x > y;
}

struct dctx {
	struct hop_xlate *x;
	uint32_t *byd; /* live blocks sorted by our address */
	size_t n;
};

/* Upgrades: our global v was the origin's global of another name (a
 * HOP_GLOBAL_RENAMED hint); the digest names it as the origin does. */
static const char *renamed_global(void *ctx, uint32_t v)
{
	struct hop_xlate *x = ctx;
	const char *name = x->to->vars[v].name;
	return hop__lay_var(x->fl, name) == HOP_NONE ? hop__hint_global_old(x->tl->hints, name) : NULL;
}

static void norm_ptr(void *ctx, uint64_t q, uint32_t pt, struct hop_hash *h)
{
	struct dctx *c = ctx;
	struct hop_xlate *x = c->x;
	const struct hop_index *T = x->to;
	if (q == 0) {
		hop__ptr_null(h);
		return;
	}
	if (!c->byd) { /* our own heap says which block: O(1) */
		uint64_t st, sz, bs, bz;
		uint32_t bid = HOP_NONE, aid = HOP_NONE;
		if (x->heap.find(x->heap.ctx, q, &st, &sz) && (bid = hop__amap_get(&x->bydst, st)) != HOP_NONE &&
		    (st + sz == q && st != q)) { /* the block ending at q: is another starting there? */
			aid = bid;
			bid = HOP_NONE;
		}
		/* q is also the end of the block before: looked up only when that block could
		 * win (hop__prefer_end), which a pointer to the start of its own type's block
		 * rules out without it */
		if (bid != HOP_NONE && st == q && hop__end_may_win(T, 1, x->objs[bid].tt, pt) &&
		    x->heap.find(x->heap.ctx, q - 1, &bs, &bz) && bs + bz == q)
			aid = hop__amap_get(&x->bydst, bs);
		else if (bid == HOP_NONE && aid == HOP_NONE && x->heap.find(x->heap.ctx, q - 1, &bs, &bz) && bs + bz == q)
			aid = hop__amap_get(&x->bydst, bs);
		const struct xobj *o = bid != HOP_NONE ? &x->objs[bid] : NULL, *a = aid != HOP_NONE ? &x->objs[aid] : NULL;
		if (o && a && (uint64_t)(uintptr_t)a->dst + a->dsize == q && hop__prefer_end(T, a->tt, 1, o->tt, pt))
			o = a;
		else if (!o && a && (uint64_t)(uintptr_t)a->dst + a->dsize == q)
			o = a;
		if (o && q - (uint64_t)(uintptr_t)o->dst <= o->dsize) {
			hop__ptr_block(h, T, o->o.addr, o->tt, o->o.count, q - (uint64_t)(uintptr_t)o->dst);
			return;
		}
		goto not_block;
	}
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((uint64_t)(uintptr_t)x->objs[c->byd[mid]].dst <= q)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo) {
		const struct xobj *o = &x->objs[c->byd[lo - 1]];
		uint64_t base = (uint64_t)(uintptr_t)o->dst;
		if (q == base && lo >= 2) { /* also the end of the block before? */
			const struct xobj *a = &x->objs[c->byd[lo - 2]];
			if ((uint64_t)(uintptr_t)a->dst + a->dsize == q && hop__prefer_end(T, a->tt, 1, o->tt, pt)) {
				o = a;
				base = (uint64_t)(uintptr_t)a->dst;
			}
		}
		if (q - base <= o->dsize) {
			hop__ptr_block(h, T, o->o.addr, o->tt, o->o.count, q - base);
			return;
		}
	}
not_block:;
	uint64_t a = q - (uint64_t)x->to_bias;
	if (hop__ptr_static(h, x->tl, a, T->nhints ? renamed_global : NULL, x))
		return;
	for (uint32_t i = 0; i < T->nsections; i++) {
		const struct hop_section *s = &T->sections[i];
		if (s->flags & (HOP_SF_WRITE | HOP_SF_EXEC) || a < s->address || a - s->address >= s->size)
			continue;
		const char *p = (const char *)(uintptr_t)q;
		const char *nul = memchr(p, 0, s->address + s->size - a);
		if (!nul)
			break;
		hop__ptr_string(h, p, (size_t)(nul - p) + 1);
		return;
	}
	hop__ptr_unknown(h, q);
}

/* Upgrades: a pointer inside an object's kept origin bytes, normalised as
 * the origin's scan does (scan.c norm_ptr), through what we received. */
static void norm_old(void *ctx, uint64_t p, uint32_t pt, struct hop_hash *h)
{
	struct hop_xlate *x = ((struct dctx *)ctx)->x;
	const struct hop_index *F = x->from;
	uint32_t id;
	if (p == 0) {
		hop__ptr_null(h);
		return;
	}
	id = hop__amap_get(&x->byaddr, p);
	if (id != HOP_NONE && x->objs[id].o.kind == HOP_OBJ_LITERAL) {
		hop__ptr_string(h, x->objs[id].dst, x->objs[id].o.size);
		return;
	}
	if (id != HOP_NONE) {
		uint32_t a = block_ending_at(x, p);
		if (a != HOP_NONE && a != id && x->objs[a].live &&
		    hop__prefer_end(F, x->objs[a].o.type, 1, x->objs[id].o.type, pt))
			id = a;
	}
	if (id != HOP_NONE || find_block(x, p, &id)) {
		const struct xobj *o = &x->objs[id];
		hop__ptr_block(h, F, o->o.addr, o->o.type, o->o.count, p - o->o.addr);
		return;
	}
	if (hop__ptr_static(h, x->fl, p - (uint64_t)x->from_bias, NULL, NULL))
		return;
	hop__ptr_unknown(h, p);
}

/* The hash of one object into o->hash. */
static int hash_obj(struct hop_xlate *x, struct xobj *o, struct dctx *c)
{
	struct hop_hash h;
	int rc;
	hop__hash_init(&h);
	if (o->old) {
		/* upgrades: this object's type changed, so our values cannot hash like the
		 * origin's; hash the origin's bytes we kept, as the origin did */
		if (!x->dsorted_ok && (rc = sort_blocks(x)) < 0)
			return rc;
		if (o->o.kind == HOP_OBJ_GLOBAL)
			hop__digest_ident_global(&h, x->from->vars[o->o.var].name);
		else
			hop__digest_ident_block(&h, o->o.addr, o->o.count, o->fam_n, tname(x->from, o->o.type));
		rc = hop__digest_values(x->fl, o->o.type, o->o.count, o->fam_n, o->old, norm_old, c, &h);
	} else {
		if (o->o.kind == HOP_OBJ_GLOBAL)
			hop__digest_ident_global(&h, x->from->vars[o->o.var].name);
		else
			hop__digest_ident_block(&h, o->o.addr, o->o.count, o->fam_n,
						o->tt != HOP_NONE ? x->to->types[o->tt].name : "");
		rc = hop__digest_values(x->tl, o->tt, o->tt == HOP_NONE ? o->o.size : o->o.count, o->fam_n, o->dst,
					norm_ptr, c, &h);
	}
	hop__hash_final(&h, o->hash);
	return rc;
}

/* Bring the kept digest up to date: hash the objects changed since the last
 * call (all of them when the kept hashes cannot be trusted, stale_all).
 * Cheap when little changed, so the destination runs it after each round
 * and the final pause only hashes the final delta. A hash depends on where
 * pointers lead, i.e. on other objects: those are kept apart by the origin
 * addresses a pointer's normal form names, which only a block created again
 * at an old address can make ambiguous; come_back keeps that case in
 * proportion to the block, and sets stale_all when it cannot. */
int hop__xlate_digest_warm(struct hop_xlate *x)
{
	struct dctx c = { x, NULL, 0 };
	size_t nh = 0;
	int rc = 0, all = x->stale_all;
	if (x->heap.find != hop__real_heap.find) { /* not our own heap (tests): by sorted addresses */
		if (!(c.byd = malloc(sizeof(uint32_t) * (x->nobjs + 1))))
			return hop__fail(HOP_ENOMEM, "digest: out of memory");
		for (size_t i = 0; i < x->nobjs; i++)
			if ((x->objs[i].live || x->objs[i].grave) && x->objs[i].o.kind == HOP_OBJ_BLOCK)
				c.byd[c.n++] = (uint32_t)i;
		sort_x = x;
		qsort(c.byd, c.n, sizeof(uint32_t), cmp_dst);
	}
	if (x->stale_all) {
		memset(x->sum, 0, sizeof(x->sum));
		for (size_t i = 0; i < x->nobjs; i++) {
			x->objs[i].in_sum = 0;
			x->objs[i].queued = 0;
		}
		x->nstale = 0;
		x->stale_all = 0;
		/* every hash is fresh now: a block coming back where one was dropped
		 * before can change none, except where the dropped block's memory
		 * is kept (the pointers into it hashed as pointers into it) */
		hop__amap_free(&x->dropped);
		for (size_t i = 0; i < x->nobjs && rc == 0; i++) {
			struct xobj *o = &x->objs[i];
			if (o->grave && o->o.kind == HOP_OBJ_BLOCK && hop__amap_put(&x->dropped, o->o.addr, (uint32_t)i) < 0)
				grave_release(x, (uint32_t)i);
			if (!o->live || o->o.kind == HOP_OBJ_LITERAL)
				continue;
			if ((rc = hash_obj(x, o, &c)) == 0) {
				nh++;
				hop__digest_add(x->sum, o->hash);
				o->in_sum = o->hashed = 1;
			}
		}
		if (rc < 0)
			x->stale_all = 1; /* start over next time */
	} else {
		for (size_t k = 0; k < x->nstale && rc == 0; k++) {
			struct xobj *o = &x->objs[x->stale[k]];
			o->queued = 0;
			if (!o->live || o->o.kind == HOP_OBJ_LITERAL || o->hashed)
				continue;
			if (o->in_sum)
				hop__digest_sub(x->sum, o->hash);
			o->in_sum = 0;
			if ((rc = hash_obj(x, o, &c)) == 0) {
				nh++;
				hop__digest_add(x->sum, o->hash);
				o->in_sum = o->hashed = 1;
			}
		}
		if (rc < 0) { /* the rest stays queued */
			size_t n = 0;
			for (size_t k = 0; k < x->nstale; k++)
				if (!x->objs[x->stale[k]].hashed && x->objs[x->stale[k]].live)
					x->stale[n++] = x->stale[k], x->objs[x->stale[k]].queued = 1;
			x->nstale = n;
		} else {
			x->nstale = 0;
		}
	}
	free(c.byd);
	if (getenv("HOP_TRACE")) /* tests count what the rounds hash (tests/digest/t_comeback.sh) */
		fprintf(stderr, "hop: [destination] digest: %zu of %zu objects hashed, %zu blocks came back%s%s%s\n", nh,
			x->nobjs, x->came_back, all ? " (all: " : "", all && x->why_all ? x->why_all : "", all ? ")" : "");
	x->came_back = 0;
	return rc;
}

void hop__xlate_digest_reset(struct hop_xlate *x)
{
	x->stale_all = 1;
	x->why_all = "reset";
}

size_t hop__xlate_digest_pending(const struct hop_xlate *x)
{
	return x->stale_all ? x->nobjs : x->nstale;
}

int hop__xlate_digest(struct hop_xlate *x, uint8_t digest[HOP_DIGEST_LEN])
{
	int rc = hop__xlate_digest_warm(x);
	if (rc < 0)
		return rc;
	hop__digest_out(x->sum, digest);
	return 0;
}

/* ---- objects on the wire ------------------------------------------------------------------------------------------- */
void hop__obj_encode(const struct hop_obj *o, uint8_t out[HOP_OBJ_HEADER])
{
	out[0] = o->kind;
	hop__put_uint(out + 1, 4, 1, o->var);
	hop__put_uint(out + 5, 8, 1, o->addr);
	hop__put_uint(out + 13, 8, 1, o->size);
	hop__put_uint(out + 21, 4, 1, o->type);
	hop__put_uint(out + 25, 8, 1, o->count);
}

#define OBJ_MAX_SIZE ((uint64_t)1 << 40)

int hop__obj_decode(const uint8_t in[HOP_OBJ_HEADER], struct hop_obj *o)
{
	o->kind = in[0];
	o->var = (uint32_t)hop__get_uint(in + 1, 4, 1);
	o->addr = hop__get_uint(in + 5, 8, 1);
	o->size = hop__get_uint(in + 13, 8, 1);
	o->type = (uint32_t)hop__get_uint(in + 21, 4, 1);
	o->count = hop__get_uint(in + 25, 8, 1);
	if (o->kind < HOP_OBJ_GLOBAL || o->kind > HOP_OBJ_LITERAL)
		return hop__fail(HOP_EFORMAT, "object record: kind %u", o->kind);
	if (o->size > OBJ_MAX_SIZE || o->count > OBJ_MAX_SIZE)
		return hop__fail(HOP_EFORMAT, "object record: %llu bytes / %llu elements is beyond the limit",
				 (unsigned long long)o->size, (unsigned long long)o->count);
	return 0;
}
