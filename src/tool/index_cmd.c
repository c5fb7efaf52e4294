/* index_cmd.c -- `hop index [--json] EXE` (being written; see dwarf.c). */
#include <stdio.h>
#include "tool.h"
int cmd_index(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "hop index: not yet\n");
	return 1;
}
int hop__dwarf_index(const char *path, struct hop_index **out)
{
	(void)out;
	return hop__fail(HOP_ENOTSUP, "%s: DWARF reader not written yet", path);
}
