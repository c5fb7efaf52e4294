/* tool.h -- what the verbs of the host command `hop` share.
 *
 * main.c maps each verb to one cmd_*() function, one file per verb. The
 * helpers here run subprocesses, find hop's own files and describe targets.
 */
#ifndef HOP_TOOL_H
#define HOP_TOOL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "index.h"

int cmd_cc(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_receive(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_check(int argc, char **argv);

/* ---- targets ---- */
struct tool_target {
	const char *name;   /* "s390x" */
	const char *triple; /* "s390x-linux-gnu" */
	const char *qemu;   /* "qemu-s390x", NULL for the host */
	int arch;           /* HOP_ARCH_* */
	int elf_machine;    /* EM_* */
};
/* The target called `name`, or NULL. */
const struct tool_target *tool_target(const char *name);
/* The target of ELF machine `em`, or NULL. */
const struct tool_target *tool_target_by_machine(int em);
/* Space-separated names of all targets, for messages. */
const char *tool_target_names(void);

/* ---- files ---- */
/* Root of hop's installation (the directory above bin/hop). */
const char *tool_home(void);
/* Run argv, wait; 0 if it exited 0, else HOP_ESYS with a message. */
int tool_run(char *const argv[]);
int tool_write_file(const char *path, const void *buf, size_t len);

/* Build the index of an ELF executable from its DWARF (dwarf.c). */
int hop__dwarf_index(const char *path, struct hop_index **out);

/* Print "hop: <message>" for a failed command and return exit status 1. */
int tool_die(int rc);

#endif
