/* main.c -- the `hop` command: maps each verb to its cmd_*() function.
 * Nothing else lives here (like CRIU's crtools.c). */
#include <stdio.h>
#include <string.h>

#include "tool.h"

static const struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} verbs[] = {
	{ "cc", cmd_cc, "cc --target T -o OUT SRC... [compiler flags]   build a hop-enabled program" },
	{ "index", cmd_index, "index [--json] EXE                            print the index of an executable" },
	{ "receive", cmd_receive, "receive --listen [ADDR:]PORT --token-file F -- CMD [ARGS]   receive a migration, run CMD" },
	{ "migrate", cmd_migrate, "migrate --to ADDR:PORT --token-file F [--json] [--max-downtime MS] PID   move a process" },
	{ "check", cmd_check, "check [--all] OLD NEW                         what an upgrade OLD -> NEW does; exit 0 if it can succeed" },
	{ "status", cmd_status, "status PID                                    what a process's hop runtime is doing" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: hop VERB [ARGS]\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  hop %s\n", verbs[i].usage);
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return verbs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "hop: unknown verb '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
