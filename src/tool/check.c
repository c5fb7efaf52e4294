/* check.c -- `hop check OLD NEW`: what an upgrade from one version of a
 * program to another will do, before anything moves.
 *
 * Both executables' indexes (the .hop_index section `hop cc` attached, else
 * their DWARF) are compared by compat.c, the same comparison the destination
 * of `hop migrate` runs before the origin freezes. Every struct member and
 * global that is added, removed, renamed, reordered, widened, narrowed,
 * converted by a hook or refused is printed, with the hint that would make a
 * refusal go away; the exit status is 0 only when the upgrade can succeed
 * (1: refused, 2: usage or unreadable input). docs/upgrade.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "elf.h"
#include "tool.h"

static int check_usage(void)
{
	fprintf(stderr, "usage: hop check [--all] OLD NEW\n"
			"  OLD, NEW: executables built with `hop cc` (the running version and the new one)\n"
			"  --all: also list struct types that only one version has\n"
			"  exit 0: the upgrade can succeed; 1: it would be refused; 2: bad arguments\n");
	return 2;
}

static int load(const char *path, struct hop_index **idx)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = hop__elf_section(path, ".hop_index", &buf, &len);
	if (rc == HOP_ENOENT)
		return hop__dwarf_index(path, idx);
	if (rc < 0)
		return rc;
	rc = hop__index_decode(buf, len, idx);
	free(buf);
	return rc;
}

static char mark(unsigned f)
{
	if (f & HOP_CK_REFUSED)
		return '!';
	if (f & HOP_CK_ADDED)
		return '+';
	if (f & HOP_CK_REMOVED)
		return '-';
	return '~';
}

static void print_item(const struct hop_compat_item *it)
{
	char fl[120], nm[200];
	hop__compat_flags_str(it->flags, fl, sizeof(fl));
	if (it->oldname)
		snprintf(nm, sizeof(nm), "%s (was %s)", it->name, it->oldname);
	else
		snprintf(nm, sizeof(nm), "%s", it->name);
	printf("  %c %-28s %-22s %s\n", mark(it->flags), nm, fl, it->detail);
}

/* An added and a removed member of one struct may be one member renamed:
 * say which hint would state it. */
static void suggest_renames(const struct hop_compat *c, const char *scope)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct hop_compat_item *a = &c->items[i];
		if (a->what != HOP_CK_MEMBER || !(a->flags & HOP_CK_ADDED) || strcmp(a->scope, scope))
			continue;
		for (size_t j = 0; j < c->n; j++) {
			const struct hop_compat_item *r = &c->items[j];
			if (r->what == HOP_CK_MEMBER && (r->flags & HOP_CK_REMOVED) && !strcmp(r->scope, scope))
				printf("    (if %s is the old %s: HOP_RENAMED(%s, %s, %s);)\n", a->name, r->name, scope,
				       a->name, r->name);
		}
	}
}

int cmd_check(int argc, char **argv)
{
	int all = 0, i = 1;
	if (i < argc && !strcmp(argv[i], "--all")) {
		all = 1;
		i++;
	}
	if (argc - i != 2)
		return check_usage();
	const char *oldp = argv[i], *newp = argv[i + 1];
	struct hop_index *F = NULL, *T = NULL;
	struct hop_compat *c = NULL;
	int rc;
	if ((rc = load(oldp, &F)) < 0 || (rc = load(newp, &T)) < 0 || (rc = hop__compat_new(F, T, &c)) < 0) {
		tool_die(rc);
		hop__index_free(F);
		hop__index_free(T);
		return 2;
	}
	printf("hop check: %s (%s) -> %s (%s)\n", oldp, hop__arch_name(F->arch), newp, hop__arch_name(T->arch));

	/* members, struct by struct, in the order compat found them */
	size_t nchanged = 0;
	const char *scope = NULL;
	for (size_t k = 0; k < c->n; k++) {
		const struct hop_compat_item *it = &c->items[k];
		if (it->what != HOP_CK_MEMBER)
			continue;
		if (!scope || strcmp(scope, it->scope)) {
			if (scope)
				suggest_renames(c, scope);
			scope = it->scope;
			printf("%s\n", scope);
			for (size_t j = 0; j < c->n; j++) /* its hook, if any */
				if (c->items[j].what == HOP_CK_TYPE && (c->items[j].flags & HOP_CK_HOOK) &&
				    !strcmp(c->items[j].name, scope))
					printf("  * upgrade hook: %s\n", c->items[j].detail);
		}
		print_item(it);
		nchanged++;
	}
	if (scope)
		suggest_renames(c, scope);

	static const struct {
		int what;
		const char *title;
	} groups[] = { { HOP_CK_GLOBAL, "globals" }, { HOP_CK_POINT, "transfer points" }, { HOP_CK_TYPE, "types" } };
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		int head = 0;
		for (size_t k = 0; k < c->n; k++) {
			const struct hop_compat_item *it = &c->items[k];
			if (it->what != groups[g].what)
				continue;
			/* a struct only one side has matters only when refused or asked for;
			 * hooks were shown with their struct */
			if (it->what == HOP_CK_TYPE && !(it->flags & HOP_CK_REFUSED) &&
			    (!all || (it->flags & HOP_CK_HOOK)))
				continue;
			if (!head++)
				printf("%s\n", groups[g].title);
			print_item(it);
			nchanged++;
		}
	}
	printf("%zu struct/union types unchanged, %zu changes, %zu refused\n", c->nsame_types, nchanged, c->nrefused);
	int ok = c->nrefused == 0;
	printf("%s\n", ok ? "upgrade: can succeed" : "upgrade: REFUSED (fix the items marked ! first)");
	hop__compat_free(c);
	hop__index_free(F);
	hop__index_free(T);
	return ok ? 0 : 1;
}
