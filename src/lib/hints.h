/* hints.h -- the program's hints (hop.h HOP_POINTS_TO, HOP_UNION_TAG ...),
 * parsed from the raw lines the index carries.
 *
 * DWARF cannot say what a void * points to or which member of a union is
 * live; the source says it with a hint, and the translator asks here. Lines
 * that do not parse are refused when the table is built, with the line in the
 * message, so a typo in a hint is not silently ignored.
 */
#ifndef HOP_HINTS_H
#define HOP_HINTS_H

#include <stdint.h>

#include "index.h"

struct hop_union_case {
	int64_t value;
	const char *member;
};

struct hop_union_hint {
	const char *stype, *umember, *tag; /* struct type name, union member, tag member */
	struct hop_union_case *cases;
	uint32_t ncases;
};

struct hop_hints;

/* Parse idx->hints. 0, HOP_EFORMAT (bad line, named) or HOP_ENOMEM. */
int hop__hints_new(const struct hop_index *idx, struct hop_hints **out);
void hop__hints_free(struct hop_hints *h);
/* Name of the type the void * member `member` of struct `stype` points to, or NULL. */
const char *hop__hint_points_to(const struct hop_hints *h, const char *stype, const char *member);
/* Name of the type the void * global `var` points to, or NULL. */
const char *hop__hint_global(const struct hop_hints *h, const char *var);
/* Tag hint of union member `umember` of struct `stype`, or NULL. */
const struct hop_union_hint *hop__hint_union(const struct hop_hints *h, const char *stype, const char *umember);

/* ---- upgrades (docs/upgrade.md); looked up in the NEW build's hints ----
 * HOP_RENAMED(stype, member, old): the old name of our member, or NULL; and
 * the reverse (our name of an old member). */
const char *hop__hint_renamed_old(const struct hop_hints *h, const char *stype, const char *member);
const char *hop__hint_renamed_new(const struct hop_hints *h, const char *stype, const char *oldname);
/* HOP_GLOBAL_RENAMED(var, old) */
const char *hop__hint_global_old(const struct hop_hints *h, const char *var);
const char *hop__hint_global_new(const struct hop_hints *h, const char *oldname);
/* HOP_POINT_RENAMED(point, old) */
const char *hop__hint_point_old(const struct hop_hints *h, const char *point);
const char *hop__hint_point_new(const struct hop_hints *h, const char *oldname);
/* HOP_UPGRADE(stype, function): name of the upgrade function of stype, or NULL. */
const char *hop__hint_upgrade(const struct hop_hints *h, const char *stype);

#endif
