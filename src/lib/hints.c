/* hints.c -- parse the hint lines of an index ("kind|field|field...").
 *
 * The lines come from hop.h's macros via the "hop_hints" section, so their
 * fields are what the C preprocessor made of the macro arguments: type names
 * as written ("struct node"), member names, and (for union cases) an integer
 * literal. Lookups are linear: they happen when a plan is compiled, once per
 * type, not per value.
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hints.h"

struct pt_hint {
	const char *stype, *member, *ptype; /* stype NULL: global hint, member = var */
};

/* upgrade hints (hop.h HOP_RENAMED, HOP_UPGRADE, ...): three fields each */
struct up_hint {
	int kind; /* UP_* */
	const char *a, *b, *c;
};
enum { UP_RENAMED, UP_GLOBAL_RENAMED, UP_POINT_RENAMED, UP_UPGRADE };

struct hop_hints {
	struct pt_hint *pts;
	uint32_t npts;
	struct up_hint *ups;
	uint32_t nups;
	struct hop_union_hint *unions;
	uint32_t nunions;
	char **lines; /* owned copies that the fields point into */
	uint32_t nlines;
};

/* Split s at '|' into at most max fields (in place); returns the count. */
static int split(char *s, char **f, int max)
{
	int n = 0;
	f[n++] = s;
	for (char *p = s; *p; p++) {
		if (*p == '|') {
			*p = 0;
			if (n == max)
				return max + 1;
			f[n++] = p + 1;
		}
	}
	return n;
}

/* Trim the spaces the preprocessor may leave and a trailing newline. */
static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '\t'))
		s[--n] = 0;
	return s;
}

static int parse_int(const char *s, int64_t *v)
{
	char *end;
	if (!*s)
		return -1;
	if (s[0] == '\'' && s[1] && s[2] == '\'' && !s[3]) { /* 'c' */
		*v = (unsigned char)s[1];
		return 0;
	}
	long long x = strtoll(s, &end, 0);
	while (*end == 'u' || *end == 'U' || *end == 'l' || *end == 'L')
		end++;
	if (*end)
		return -1;
	*v = x;
	return 0;
}

static struct hop_union_hint *find_union(struct hop_hints *h, const char *stype, const char *um)
{
	for (uint32_t i = 0; i < h->nunions; i++)
		if (!strcmp(h->unions[i].stype, stype) && !strcmp(h->unions[i].umember, um))
			return &h->unions[i];
	return NULL;
}

static struct hop_union_hint *add_union(struct hop_hints *h, const char *stype, const char *um)
{
	struct hop_union_hint *u = find_union(h, stype, um);
	if (u)
		return u;
	void *n = realloc(h->unions, sizeof(*h->unions) * (h->nunions + 1));
	if (!n)
		return NULL;
	h->unions = n;
	u = &h->unions[h->nunions++];
	memset(u, 0, sizeof(*u));
	u->stype = stype;
	u->umember = um;
	return u;
}

static int parse_line(struct hop_hints *h, char *line, const char *orig)
{
	char *f[6];
	int n = split(line, f, 5);
	for (int i = 0; i < n && i < 5; i++)
		f[i] = trim(f[i]);
	if (n == 4 && !strcmp(f[0], "points_to")) {
		h->pts[h->npts++] = (struct pt_hint){ f[1], f[2], f[3] };
		return 0;
	}
	if (n == 3 && !strcmp(f[0], "global_points_to")) {
		h->pts[h->npts++] = (struct pt_hint){ NULL, f[1], f[2] };
		return 0;
	}
	if (n == 4 && !strcmp(f[0], "union_tag")) {
		struct hop_union_hint *u = add_union(h, f[1], f[2]);
		if (!u)
			return hop__fail(HOP_ENOMEM, "hints: out of memory");
		u->tag = f[3];
		return 0;
	}
	if (n == 5 && !strcmp(f[0], "union_case")) {
		int64_t v;
		if (parse_int(f[3], &v) < 0)
			return hop__fail(HOP_EFORMAT, "hint \"%s\": case value \"%s\" is not an integer literal "
				       "(write the number, not an enumerator name)", orig, f[3]);
		struct hop_union_hint *u = add_union(h, f[1], f[2]);
		if (!u)
			return hop__fail(HOP_ENOMEM, "hints: out of memory");
		void *c = realloc(u->cases, sizeof(*u->cases) * (u->ncases + 1));
		if (!c)
			return hop__fail(HOP_ENOMEM, "hints: out of memory");
		u->cases = c;
		u->cases[u->ncases++] = (struct hop_union_case){ v, f[4] };
		return 0;
	}
	if (n == 4 && !strcmp(f[0], "renamed")) {
		h->ups[h->nups++] = (struct up_hint){ UP_RENAMED, f[1], f[2], f[3] };
		return 0;
	}
	if (n == 3 && !strcmp(f[0], "global_renamed")) {
		h->ups[h->nups++] = (struct up_hint){ UP_GLOBAL_RENAMED, f[1], f[2], NULL };
		return 0;
	}
	if (n == 3 && !strcmp(f[0], "point_renamed")) {
		h->ups[h->nups++] = (struct up_hint){ UP_POINT_RENAMED, f[1], f[2], NULL };
		return 0;
	}
	if (n == 3 && !strcmp(f[0], "upgrade")) {
		h->ups[h->nups++] = (struct up_hint){ UP_UPGRADE, f[1], f[2], NULL };
		return 0;
	}
	return hop__fail(HOP_EFORMAT, "hint \"%s\" is not understood", orig);
}

int hop__hints_new(const struct hop_index *idx, struct hop_hints **out)
{
	struct hop_hints *h = calloc(1, sizeof(*h));
	int rc = 0;
	if (!h)
		return hop__fail(HOP_ENOMEM, "hints: out of memory");
	h->pts = calloc(idx->nhints + 1, sizeof(*h->pts));
	h->lines = calloc(idx->nhints + 1, sizeof(char *));
	h->ups = calloc(idx->nhints + 1, sizeof(*h->ups));
	if (!h->pts || !h->lines || !h->ups) {
		hop__hints_free(h);
		return hop__fail(HOP_ENOMEM, "hints: out of memory");
	}
	for (uint32_t i = 0; i < idx->nhints && rc == 0; i++) {
		const char *orig = idx->hints[i] ? idx->hints[i] : "";
		char *line = strdup(orig);
		if (!line) {
			rc = hop__fail(HOP_ENOMEM, "hints: out of memory");
			break;
		}
		h->lines[h->nlines++] = line;
		if (*trim(line) == 0)
			continue;
		rc = parse_line(h, trim(line), orig);
	}
	for (uint32_t i = 0; i < h->nunions && rc == 0; i++)
		if (!h->unions[i].tag)
			rc = hop__fail(HOP_EFORMAT, "hints: HOP_UNION_CASE(%s, %s, ...) without HOP_UNION_TAG",
				       h->unions[i].stype, h->unions[i].umember);
	if (rc < 0) {
		hop__hints_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

void hop__hints_free(struct hop_hints *h)
{
	if (!h)
		return;
	for (uint32_t i = 0; i < h->nunions; i++)
		free(h->unions[i].cases);
	for (uint32_t i = 0; i < h->nlines; i++)
		free(h->lines[i]);
	free(h->unions);
	free(h->lines);
	free(h->pts);
	free(h->ups);
	free(h);
}

const char *hop__hint_points_to(const struct hop_hints *h, const char *stype, const char *member)
{
	for (uint32_t i = 0; h && i < h->npts; i++)
		if (h->pts[i].stype && !strcmp(h->pts[i].stype, stype) && !strcmp(h->pts[i].member, member))
			return h->pts[i].ptype;
	return NULL;
}

const char *hop__hint_global(const struct hop_hints *h, const char *var)
{
	for (uint32_t i = 0; h && i < h->npts; i++)
		if (!h->pts[i].stype && !strcmp(h->pts[i].member, var))
			return h->pts[i].ptype;
	return NULL;
}

const struct hop_union_hint *hop__hint_union(const struct hop_hints *h, const char *stype, const char *umember)
{
	return h ? find_union((struct hop_hints *)h, stype, umember) : NULL;
}

/* ---- upgrade hints ---- */
static const struct up_hint *find_up(const struct hop_hints *h, int kind, const char *a, const char *b,
				     const char *c)
{
	for (uint32_t i = 0; h && i < h->nups; i++) {
		const struct up_hint *u = &h->ups[i];
		if (u->kind == kind && (!a || !strcmp(u->a, a)) && (!b || !strcmp(u->b, b)) &&
		    (!c || !strcmp(u->c, c)))
			return u;
	}
	return NULL;
}

const char *hop__hint_renamed_old(const struct hop_hints *h, const char *stype, const char *member)
{
	const struct up_hint *u = find_up(h, UP_RENAMED, stype, member, NULL);
	return u ? u->c : NULL;
}

const char *hop__hint_renamed_new(const struct hop_hints *h, const char *stype, const char *oldname)
{
	const struct up_hint *u = find_up(h, UP_RENAMED, stype, NULL, oldname);
	return u ? u->b : NULL;
}

const char *hop__hint_global_old(const struct hop_hints *h, const char *var)
{
	const struct up_hint *u = find_up(h, UP_GLOBAL_RENAMED, var, NULL, NULL);
	return u ? u->b : NULL;
}

const char *hop__hint_global_new(const struct hop_hints *h, const char *oldname)
{
	const struct up_hint *u = find_up(h, UP_GLOBAL_RENAMED, NULL, oldname, NULL);
	return u ? u->a : NULL;
}

const char *hop__hint_point_old(const struct hop_hints *h, const char *point)
{
	const struct up_hint *u = find_up(h, UP_POINT_RENAMED, point, NULL, NULL);
	return u ? u->b : NULL;
}

const char *hop__hint_point_new(const struct hop_hints *h, const char *oldname)
{
	const struct up_hint *u = find_up(h, UP_POINT_RENAMED, NULL, oldname, NULL);
	return u ? u->a : NULL;
}

const char *hop__hint_upgrade(const struct hop_hints *h, const char *stype)
{
	const struct up_hint *u = find_up(h, UP_UPGRADE, stype, NULL, NULL);
	return u ? u->b : NULL;
}
