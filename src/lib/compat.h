/* compat.h -- what an upgrade changes: two indexes of two versions of a
 * program compared, type by type, member by member, global by global.
 *
 * The translator moves state between any two builds whose types match by
 * name. Between two *versions* of a program the structs themselves change:
 * members are added, removed, reordered, renamed (HOP_RENAMED), widened,
 * narrowed or retyped. This module says, before anything moves, what will
 * happen to each of them and whether the move can succeed at all; `hop
 * check OLD NEW` prints it, and the destination of `hop migrate` runs it
 * before the origin freezes (in.c). xlate.c asks hop__compat_value() while
 * compiling its plans, so the check and the translation agree.
 * docs/upgrade.md states the rules.
 */
#ifndef HOP_COMPAT_H
#define HOP_COMPAT_H

#include <stddef.h>
#include <stdint.h>

#include "index.h"

/* How a value of one type moves to a value of another (type ids of two indexes). */
enum hop_cv {
	HOP_CV_SAME = 0,    /* same kind of value (sizes may differ across machines) */
	HOP_CV_WIDENED,     /* integer / float / array gets larger: always fits */
	HOP_CV_NARROWED,    /* integer / float gets smaller: each value must fit, checked */
	HOP_CV_SIGN,        /* integer changes signedness: each value must fit, checked */
	HOP_CV_INCOMPAT,    /* another kind of value: only an upgrade hook converts it */
};
int hop__compat_value(const struct hop_index *from, uint32_t ft, const struct hop_index *to, uint32_t tt);

/* What happens to one thing (flags may combine: renamed + widened). */
#define HOP_CK_ADDED     0x001 /* new: zero, or the new build's initial value (globals), or the hook's */
#define HOP_CK_REMOVED   0x002 /* dropped */
#define HOP_CK_RENAMED   0x004 /* matched through a hint */
#define HOP_CK_REORDERED 0x008 /* comes in another order among the common members */
#define HOP_CK_WIDENED   0x010
#define HOP_CK_NARROWED  0x020 /* value must fit (checked at translation) */
#define HOP_CK_SIGN      0x040 /* signedness changes: value must fit */
#define HOP_CK_CONVERTED 0x080 /* incompatible type change, left to the upgrade hook */
#define HOP_CK_REFUSED   0x100 /* cannot move: see detail */
#define HOP_CK_HOOK      0x200 /* the type has an upgrade hook (HOP_UPGRADE) */

enum hop_ck_what { HOP_CK_MEMBER = 1, HOP_CK_GLOBAL, HOP_CK_POINT, HOP_CK_TYPE };

struct hop_compat_item {
	uint8_t what;         /* enum hop_ck_what */
	uint16_t flags;       /* HOP_CK_* */
	const char *scope;    /* MEMBER: the struct ("struct entry"); else NULL */
	const char *name;     /* name in the new version (REMOVED: in the old one) */
	const char *oldname;  /* RENAMED: the old name; else NULL */
	char detail[200];     /* "int -> long long", what to do when refused */
};

struct hop_compat {
	struct hop_compat_item *items;
	size_t n, cap;
	size_t nrefused;
	size_t nsame_types;   /* structs/unions present in both, unchanged */
};

/* Compare the old version's index `from` with the new one's `to` (hints are
 * the new build's). Every difference becomes an item. 0, HOP_ENOMEM, or
 * HOP_EFORMAT for a hint line that does not parse. */
int hop__compat_new(const struct hop_index *from, const struct hop_index *to, struct hop_compat **out);
void hop__compat_free(struct hop_compat *c);
/* "removed", "renamed, widened", ... for an item's flags, into buf. */
const char *hop__compat_flags_str(unsigned flags, char *buf, size_t len);

/* The check run before a live upgrade: 0 when the move can succeed, else
 * HOP_EXLATE with a message naming the refusals (up to a few). point: the
 * transfer point the destination waits at, or NULL. park (may be NULL) gets
 * the name the origin must park at: point itself, or its old name when the
 * old version lacks it and the new build maps it (HOP_POINT_RENAMED); a
 * string of `from` or `point`. new_globals (may be NULL) gets how many
 * globals of `to` the old version has no value for (added by an upgrade:
 * they keep the new build's initial value, so they are the only globals that
 * may still point to what the new build's start-up allocated); 0 for two
 * builds of the same program. */
int hop__compat_check(const struct hop_index *from, const struct hop_index *to, const char *point,
		      const char **park, size_t *new_globals);

#endif
