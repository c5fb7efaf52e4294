/* compat.c -- compare the indexes of two versions of a program (compat.h).
 *
 * Structs and unions are matched by name, their members by name or through
 * the new build's HOP_RENAMED hints, globals by name or HOP_GLOBAL_RENAMED,
 * transfer points by name or HOP_POINT_RENAMED. For each matched value the
 * question is the translator's: can every value of the old type be written
 * exactly as a value of the new one (hop__compat_value)? Widening always
 * can, narrowing and sign changes can when the value fits (the translator
 * checks each value), anything else only through an upgrade hook
 * (HOP_UPGRADE) of the struct that holds it.
 *
 * Differences between two builds of the *same* source for two machines
 * (sizes, offsets, byte order) are not differences here: a `long` that is 8
 * bytes on one side and 4 on the other has the same name and is "same" (the
 * translator still checks that each value fits). Only what the source
 * changed is reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "digest.h"
#include "err.h"
#include "hints.h"

/* ---- values ------------------------------------------------------------------------ */
static int is_int_kind(const struct hop_type *t)
{
	return t->kind == HOP_KIND_BASE && (t->enc == HOP_ENC_SIGNED || t->enc == HOP_ENC_UNSIGNED ||
					    t->enc == HOP_ENC_BOOL);
}

static int cv_depth(const struct hop_index *F, uint32_t ft, const struct hop_index *T, uint32_t tt, int depth);

/* Pointers: what they point to must be the same kind of thing; sizes of a
 * pointed-to integer may differ (size_t is "unsigned long" on one machine
 * and "unsigned int" on another). */
static int cv_pointee(const struct hop_index *F, uint32_t ft, const struct hop_index *T, uint32_t tt, int depth)
{
	if (ft >= F->ntypes || tt >= T->ntypes)
		return (ft >= F->ntypes) == (tt >= T->ntypes) ? HOP_CV_SAME : HOP_CV_INCOMPAT; /* void */
	const struct hop_type *a = &F->types[ft], *b = &T->types[tt];
	if (a->kind == HOP_KIND_FUNCTION && b->kind == HOP_KIND_FUNCTION)
		return HOP_CV_SAME; /* function pointers go by the function's name */
	int r = cv_depth(F, ft, T, tt, depth + 1);
	if (r == HOP_CV_INCOMPAT)
		return HOP_CV_INCOMPAT; /* (int * -> unsigned *: the blocks keep their own values) */
	/* a pointer to int is no pointer to long long: the blocks would change type */
	if ((a->kind == HOP_KIND_STRUCT || a->kind == HOP_KIND_UNION) && strcmp(a->name, b->name))
		return HOP_CV_INCOMPAT;
	return HOP_CV_SAME;
}

static int cv_depth(const struct hop_index *F, uint32_t ft, const struct hop_index *T, uint32_t tt, int depth)
{
	if (depth > 32 || ft >= F->ntypes || tt >= T->ntypes)
		return HOP_CV_INCOMPAT;
	const struct hop_type *a = &F->types[ft], *b = &T->types[tt];
	int fsg, ffmt, tsg, tfmt;
	int fsc = hop__scalar(F, ft, &fsg, &ffmt), tsc = hop__scalar(T, tt, &tsg, &tfmt);
	if (fsc != tsc || a->kind != b->kind)
		return HOP_CV_INCOMPAT;
	switch (fsc) {
	case HOP_SC_INT:
		if (a->size > 8 || b->size > 8)
			return a->size == b->size ? HOP_CV_SAME : HOP_CV_INCOMPAT;
		if (!strcmp(a->name, b->name))
			return HOP_CV_SAME;
		if (is_int_kind(a) && is_int_kind(b) && (a->enc == HOP_ENC_BOOL) != (b->enc == HOP_ENC_BOOL))
			return b->enc == HOP_ENC_BOOL ? HOP_CV_NARROWED : HOP_CV_WIDENED;
		if (fsg != tsg) {
			/* unsigned -> wider signed always fits */
			if (!fsg && tsg && b->size > a->size)
				return HOP_CV_WIDENED;
			return HOP_CV_SIGN;
		}
		return b->size > a->size ? HOP_CV_WIDENED : b->size < a->size ? HOP_CV_NARROWED : HOP_CV_SAME;
	case HOP_SC_CHAR:
		return HOP_CV_SAME;
	case HOP_SC_FLOAT:
	case HOP_SC_COMPLEX:
		if (!strcmp(a->name, b->name))
			return HOP_CV_SAME;
		return b->size > a->size ? HOP_CV_WIDENED : b->size < a->size ? HOP_CV_NARROWED : HOP_CV_SAME;
	case HOP_SC_PTR:
		return cv_pointee(F, a->target, T, b->target, depth);
	}
	switch (a->kind) {
	case HOP_KIND_ARRAY: {
		int r = cv_depth(F, a->target, T, b->target, depth + 1);
		if (r == HOP_CV_INCOMPAT)
			return r;
		if (a->count == 0 || b->count == 0)
			return a->count == b->count ? r : HOP_CV_INCOMPAT;
		if (b->count < a->count)
			return HOP_CV_INCOMPAT; /* elements would be lost */
		if (b->count > a->count && r == HOP_CV_SAME)
			return HOP_CV_WIDENED;
		return r;
	}
	case HOP_KIND_STRUCT:
	case HOP_KIND_UNION:
		return strcmp(a->name, b->name) ? HOP_CV_INCOMPAT : HOP_CV_SAME;
	}
	return HOP_CV_INCOMPAT;
}

int hop__compat_value(const struct hop_index *from, uint32_t ft, const struct hop_index *to, uint32_t tt)
{
	return cv_depth(from, ft, to, tt, 0);
}

/* ---- the report ----------------------------------------------------------------------- */
static struct hop_compat_item *add(struct hop_compat *c, int what, unsigned flags, const char *scope,
				   const char *name, const char *oldname)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct hop_compat_item *v = realloc(c->items, sizeof(*v) * cap);
		if (!v)
			return NULL;
		c->items = v;
		c->cap = cap;
	}
	struct hop_compat_item *it = &c->items[c->n++];
	memset(it, 0, sizeof(*it));
	it->what = (uint8_t)what;
	it->flags = (uint16_t)flags;
	it->scope = scope;
	it->name = name;
	it->oldname = oldname;
	if (flags & HOP_CK_REFUSED)
		c->nrefused++;
	return it;
}

static unsigned cv_flags(int cv)
{
	switch (cv) {
	case HOP_CV_WIDENED: return HOP_CK_WIDENED;
	case HOP_CV_NARROWED: return HOP_CK_NARROWED;
	case HOP_CV_SIGN: return HOP_CK_SIGN;
	}
	return 0;
}

static const char *tn(const struct hop_index *idx, uint32_t t)
{
	return t < idx->ntypes ? idx->types[t].name : "void";
}

/* Compare struct/union ft (old) with tt (new), both named `name`. */
static int compare_struct(struct hop_compat *c, const struct hop_index *F, uint32_t ft, const struct hop_index *T,
			  uint32_t tt, const struct hop_hints *h)
{
	const struct hop_type *fty = &F->types[ft], *tty = &T->types[tt];
	const char *hook = hop__hint_upgrade(h, tty->name);
	size_t before = c->n;
	uint8_t *matched = calloc(fty->nmembers + 1, 1);
	uint32_t *rank_f = calloc(fty->nmembers + 1, sizeof(uint32_t)); /* old member -> new position */
	if (!matched || !rank_f) {
		free(matched);
		free(rank_f);
		return hop__fail(HOP_ENOMEM, "compat: out of memory");
	}
	uint32_t ncommon = 0, last_old = 0;
	int out_of_order = 0;
	for (uint32_t k = 0; k < tty->nmembers; k++) {
		const struct hop_member *tm = &T->members[tty->first_member + k];
		const struct hop_member *fm = hop__index_member(F, ft, tm->name);
		const char *old = NULL;
		if (!fm && (old = hop__hint_renamed_old(h, tty->name, tm->name)))
			fm = hop__index_member(F, ft, old);
		struct hop_compat_item *it;
		if (!fm) {
			it = add(c, HOP_CK_MEMBER, HOP_CK_ADDED | (hook ? HOP_CK_HOOK : 0), tty->name, tm->name, NULL);
			if (!it)
				goto nomem;
			snprintf(it->detail, sizeof(it->detail), "%s, starts as 0%s", tn(T, tm->type),
				 hook ? " (then the hook)" : "");
			if (old)
				snprintf(it->detail, sizeof(it->detail), "HOP_RENAMED says it was %s, which the old "
					 "version does not have", old);
			continue;
		}
		uint32_t fi = (uint32_t)(fm - F->members) - fty->first_member;
		matched[fi] = 1;
		if (ncommon++ && fi < last_old)
			out_of_order = 1;
		last_old = fi;
		rank_f[fi] = k;
		unsigned fl = old ? HOP_CK_RENAMED : 0;
		int cv;
		if (fm->bit_size || tm->bit_size) {
			cv = !fm->bit_size || !tm->bit_size ? HOP_CV_INCOMPAT
			     : hop__compat_value(F, fm->type, T, tm->type);
			if (cv != HOP_CV_INCOMPAT && tm->bit_size != fm->bit_size && cv == HOP_CV_SAME)
				cv = tm->bit_size > fm->bit_size ? HOP_CV_WIDENED : HOP_CV_NARROWED;
		} else {
			cv = hop__compat_value(F, fm->type, T, tm->type);
		}
		if (cv == HOP_CV_INCOMPAT)
			fl |= hook ? HOP_CK_CONVERTED | HOP_CK_HOOK : HOP_CK_REFUSED;
		else
			fl |= cv_flags(cv);
		if (!fl)
			continue;
		/* names from the indexes, which outlive the hints */
		if (!(it = add(c, HOP_CK_MEMBER, fl, tty->name, tm->name, old ? fm->name : NULL)))
			goto nomem;
		if (fl & HOP_CK_REFUSED)
			snprintf(it->detail, sizeof(it->detail), "%s -> %s: add HOP_UPGRADE(%s, fn) to convert it",
				 tn(F, fm->type), tn(T, tm->type), tty->name);
		else if (fl & HOP_CK_CONVERTED)
			snprintf(it->detail, sizeof(it->detail), "%s -> %s, left 0 for %s()", tn(F, fm->type),
				 tn(T, tm->type), hook);
		else if (fl & (HOP_CK_WIDENED | HOP_CK_NARROWED | HOP_CK_SIGN))
			snprintf(it->detail, sizeof(it->detail), "%s -> %s%s", tn(F, fm->type), tn(T, tm->type),
				 fl & (HOP_CK_NARROWED | HOP_CK_SIGN) ? ", each value must fit" : "");
	}
	for (uint32_t k = 0; k < fty->nmembers; k++) {
		const struct hop_member *fm = &F->members[fty->first_member + k];
		if (matched[k])
			continue;
		/* a member the hint renamed to a name the new struct lacks is still removed */
		struct hop_compat_item *it = add(c, HOP_CK_MEMBER, HOP_CK_REMOVED | (hook ? HOP_CK_HOOK : 0), tty->name,
						 fm->name, NULL);
		if (!it)
			goto nomem;
		snprintf(it->detail, sizeof(it->detail), "%s, dropped%s", tn(F, fm->type),
			 hook ? " (the hook can read it)" : "");
	}
	if (out_of_order) {
		/* the common members whose neighbours changed: report each common
		 * member that is not where a stable order would put it */
		uint32_t prev_new = 0;
		int first = 1;
		for (uint32_t k = 0; k < fty->nmembers; k++) {
			if (!matched[k])
				continue;
			if (!first && rank_f[k] < prev_new) {
				const struct hop_member *tm = &T->members[tty->first_member + rank_f[k]];
				struct hop_compat_item *it = NULL;
				for (size_t i = before; i < c->n && !it; i++)
					if (c->items[i].what == HOP_CK_MEMBER && !strcmp(c->items[i].name, tm->name) &&
					    !(c->items[i].flags & (HOP_CK_REMOVED | HOP_CK_ADDED)))
						it = &c->items[i];
				if (!it && !(it = add(c, HOP_CK_MEMBER, 0, tty->name, tm->name, NULL)))
					goto nomem;
				it->flags |= HOP_CK_REORDERED;
			}
			first = 0;
			prev_new = rank_f[k];
		}
	}
	if (c->n == before) {
		c->nsame_types++;
	} else if (hook) {
		struct hop_compat_item *it = add(c, HOP_CK_TYPE, HOP_CK_HOOK, NULL, tty->name, NULL);
		if (!it)
			goto nomem;
		snprintf(it->detail, sizeof(it->detail), "%s() runs on every object of this type", hook);
	}
	free(matched);
	free(rank_f);
	return 0;
nomem:
	free(matched);
	free(rank_f);
	return hop__fail(HOP_ENOMEM, "compat: out of memory");
}

/* A struct or union tag reserved to the implementation ("struct _IO_FILE",
 * "struct __pthread_mutex_s"): C forbids programs to declare these, so they
 * are libc's types, whose objects live in libc's memory and never migrate.
 * Their layouts differ between targets (_IO_FILE._unused2 is char[40] on
 * 32-bit, char[20] on 64-bit), which is no upgrade of the program. */
static int reserved_tag(const char *name)
{
	const char *tag = strchr(name, ' ');
	tag = tag ? tag + 1 : name;
	return tag[0] == '_' && (tag[1] == '_' || (tag[1] >= 'A' && tag[1] <= 'Z'));
}

static int is_named_aggregate(const struct hop_type *t)
{
	return (t->kind == HOP_KIND_STRUCT || t->kind == HOP_KIND_UNION) && !(t->flags & HOP_TF_DECLARATION) &&
	       t->size && !reserved_tag(t->name);
}

static int has_point(const struct hop_index *idx, const char *name)
{
	for (uint32_t i = 0; i < idx->npoints; i++)
		if (!strcmp(idx->points[i].name, name))
			return 1;
	return 0;
}

int hop__compat_new(const struct hop_index *F, const struct hop_index *T, struct hop_compat **out)
{
	struct hop_lay *fl = NULL, *tl = NULL;
	struct hop_compat *c = calloc(1, sizeof(*c));
	int rc;
	if (!c)
		return hop__fail(HOP_ENOMEM, "compat: out of memory");
	if ((rc = hop__lay_new(F, &fl)) < 0 || (rc = hop__lay_new(T, &tl)) < 0)
		goto fail;
	const struct hop_hints *h = tl->hints;

	/* structs and unions, by name (one per name: the complete one the lookup picks) */
	for (uint32_t t = 0; t < T->ntypes; t++) {
		const struct hop_type *ty = &T->types[t];
		if (!is_named_aggregate(ty) || hop__lay_type(tl, ty->name) != t)
			continue;
		uint32_t f = hop__lay_type(fl, ty->name);
		if (f == HOP_NONE || !is_named_aggregate(&F->types[f]) || F->types[f].kind != ty->kind) {
			if (!add(c, HOP_CK_TYPE, HOP_CK_ADDED, NULL, ty->name, NULL))
				goto nomem;
			continue;
		}
		if ((rc = compare_struct(c, F, f, T, t, h)) < 0)
			goto fail;
	}
	for (uint32_t f = 0; f < F->ntypes; f++) {
		const struct hop_type *ty = &F->types[f];
		if (!is_named_aggregate(ty) || hop__lay_type(fl, ty->name) != f)
			continue;
		uint32_t t = hop__lay_type(tl, ty->name);
		if (t == HOP_NONE || !is_named_aggregate(&T->types[t])) {
			struct hop_compat_item *it = add(c, HOP_CK_TYPE, HOP_CK_REMOVED, NULL, ty->name, NULL);
			if (!it)
				goto nomem;
			snprintf(it->detail, sizeof(it->detail), "a heap block of this type would be refused");
		}
	}

	/* globals */
	for (uint32_t v = 0; v < T->nvars; v++) {
		const struct hop_var *tv = &T->vars[v];
		if (hop__lay_var(tl, tv->name) != v)
			continue;
		uint32_t fv = hop__lay_var(fl, tv->name);
		const char *old = NULL;
		if (fv == HOP_NONE && (old = hop__hint_global_old(h, tv->name)))
			fv = hop__lay_var(fl, old);
		struct hop_compat_item *it;
		if (fv == HOP_NONE) {
			if (!(it = add(c, HOP_CK_GLOBAL, HOP_CK_ADDED, NULL, tv->name, NULL)))
				goto nomem;
			snprintf(it->detail, sizeof(it->detail), "%s, keeps the new build's initial value",
				 tn(T, tv->type));
			continue;
		}
		int cv = hop__compat_value(F, F->vars[fv].type, T, tv->type);
		unsigned fl_ = (old ? HOP_CK_RENAMED : 0) | (cv == HOP_CV_INCOMPAT ? HOP_CK_REFUSED : cv_flags(cv));
		if (!fl_)
			continue;
		if (!(it = add(c, HOP_CK_GLOBAL, fl_, NULL, tv->name, old ? F->vars[fv].name : NULL)))
			goto nomem;
		if (fl_ != HOP_CK_RENAMED)
			snprintf(it->detail, sizeof(it->detail), "%s -> %s%s", tn(F, F->vars[fv].type), tn(T, tv->type),
			 cv == HOP_CV_INCOMPAT ? ": incompatible type change (a global has no upgrade hook; "
						 "rename the new one to start it afresh)"
			 : cv == HOP_CV_NARROWED || cv == HOP_CV_SIGN ? ", value must fit" : "");
	}
	for (uint32_t v = 0; v < F->nvars; v++) {
		const struct hop_var *fv = &F->vars[v];
		if (hop__lay_var(fl, fv->name) != v || hop__lay_var(tl, fv->name) != HOP_NONE)
			continue;
		const char *nw = hop__hint_global_new(h, fv->name);
		if (nw && hop__lay_var(tl, nw) != HOP_NONE)
			continue; /* reported as renamed */
		struct hop_compat_item *it = add(c, HOP_CK_GLOBAL, HOP_CK_REMOVED, NULL, fv->name, NULL);
		if (!it)
			goto nomem;
		snprintf(it->detail, sizeof(it->detail), "%s, dropped", tn(F, fv->type));
	}

	/* transfer points: every old one must exist in the new build, by name or mapped */
	for (uint32_t i = 0; i < F->npoints; i++) {
		const char *p = F->points[i].name;
		if (has_point(T, p))
			continue;
		const char *nw = hop__hint_point_new(h, p);
		struct hop_compat_item *it;
		for (uint32_t j = 0; nw && j < T->npoints; j++)
			if (!strcmp(T->points[j].name, nw))
				nw = T->points[j].name; /* the index's copy outlives the hints */
		if (nw && has_point(T, nw)) {
			if (!(it = add(c, HOP_CK_POINT, HOP_CK_RENAMED, NULL, nw, p)))
				goto nomem;
			snprintf(it->detail, sizeof(it->detail), "an origin parked at %s resumes after %s", p, nw);
			continue;
		}
		if (!(it = add(c, HOP_CK_POINT, HOP_CK_REMOVED | HOP_CK_REFUSED, NULL, p, NULL)))
			goto nomem;
		snprintf(it->detail, sizeof(it->detail), "the new build has no HOP_POINT(%s): add "
			 "HOP_POINT_RENAMED(<new point>, %s) to the new source", p, p);
	}
	for (uint32_t i = 0; i < T->npoints; i++) {
		const char *p = T->points[i].name;
		const char *old = hop__hint_point_old(h, p);
		if (!has_point(F, p) && !(old && has_point(F, old)) && !add(c, HOP_CK_POINT, HOP_CK_ADDED, NULL, p, NULL))
			goto nomem;
	}
	/* hooks must name a function of the new build */
	for (uint32_t t = 0; t < T->ntypes; t++) {
		const struct hop_type *ty = &T->types[t];
		if (!is_named_aggregate(ty) || hop__lay_type(tl, ty->name) != t)
			continue;
		const char *hook = hop__hint_upgrade(h, ty->name);
		if (hook && !hop__index_func(T, hook)) {
			struct hop_compat_item *it = add(c, HOP_CK_TYPE, HOP_CK_HOOK | HOP_CK_REFUSED, NULL, ty->name, NULL);
			if (!it)
				goto nomem;
			snprintf(it->detail, sizeof(it->detail), "HOP_UPGRADE names %s(), which the new build lacks", hook);
		}
	}
	hop__lay_free(fl);
	hop__lay_free(tl);
	*out = c;
	return 0;
nomem:
	rc = hop__fail(HOP_ENOMEM, "compat: out of memory");
fail:
	hop__lay_free(fl);
	hop__lay_free(tl);
	hop__compat_free(c);
	return rc;
}

void hop__compat_free(struct hop_compat *c)
{
	if (!c)
		return;
	free(c->items);
	free(c);
}

const char *hop__compat_flags_str(unsigned flags, char *buf, size_t len)
{
	static const struct {
		unsigned f;
		const char *s;
	} names[] = {
		{ HOP_CK_REFUSED, "REFUSED" }, { HOP_CK_ADDED, "added" }, { HOP_CK_REMOVED, "removed" },
		{ HOP_CK_RENAMED, "renamed" }, { HOP_CK_REORDERED, "reordered" }, { HOP_CK_WIDENED, "widened" },
		{ HOP_CK_NARROWED, "narrowed" }, { HOP_CK_SIGN, "sign changed" }, { HOP_CK_CONVERTED, "converted" },
	};
	size_t n = 0;
	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].f) {
			int w = snprintf(buf + n, len - n, "%s%s", n ? ", " : "", names[i].s);
			if (w < 0 || (size_t)w >= len - n)
				break;
			n += (size_t)w;
		}
	if (!n && (flags & HOP_CK_HOOK))
		snprintf(buf, len, "hook");
	return buf;
}

int hop__compat_check(const struct hop_index *from, const struct hop_index *to, const char *point,
		      const char **park, size_t *new_globals)
{
	struct hop_compat *c;
	int rc = hop__compat_new(from, to, &c);
	if (rc < 0)
		return rc;
	char msg[900];
	size_t n = 0, shown = 0;
	msg[0] = 0;
	for (size_t i = 0; i < c->n && shown < 4; i++) {
		const struct hop_compat_item *it = &c->items[i];
		if (!(it->flags & HOP_CK_REFUSED))
			continue;
		int w = snprintf(msg + n, sizeof(msg) - n, "%s%s%s%s%s%s (%s)", shown ? "; " : "",
				 it->what == HOP_CK_POINT ? "HOP_POINT(" : it->what == HOP_CK_GLOBAL ? "global " : "",
				 it->scope ? it->scope : "", it->scope ? "." : "", it->name,
				 it->what == HOP_CK_POINT ? ")" : "", it->detail);
		if (w > 0 && (size_t)w < sizeof(msg) - n)
			n += (size_t)w;
		shown++;
	}
	size_t refused = c->nrefused;
	if (new_globals) {
		*new_globals = 0;
		for (size_t i = 0; i < c->n; i++)
			if (c->items[i].what == HOP_CK_GLOBAL && (c->items[i].flags & HOP_CK_ADDED))
				(*new_globals)++;
	}
	hop__compat_free(c);
	if (refused)
		return hop__fail(HOP_EXLATE, "upgrade refused, %zu problem%s (hop check OLD NEW lists all): %s", refused,
				 refused == 1 ? "" : "s", msg);
	if (park)
		*park = point;
	if (!point || has_point(from, point))
		return 0;
	/* the point we wait at must be one the old version can park at: under
	 * its old name when the new build says HOP_POINT_RENAMED(point, old) */
	struct hop_hints *h;
	if ((rc = hop__hints_new(to, &h)) < 0)
		return rc;
	const char *old = hop__hint_point_old(h, point), *found = NULL;
	for (uint32_t i = 0; old && i < from->npoints; i++)
		if (!strcmp(from->points[i].name, old))
			found = from->points[i].name; /* the index's copy outlives the hints */
	hop__hints_free(h);
	if (!found)
		return hop__fail(HOP_EXLATE, "upgrade refused: the destination waits at HOP_POINT(%s), which the "
				 "old version does not have (map it with HOP_POINT_RENAMED(%s, <old point>))",
				 point, point);
	if (park)
		*park = found;
	return 0;
}
