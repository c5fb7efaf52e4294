/* cc.c -- `hop cc --target T -o OUT SRC... [flags]`: build a hop program.
 *
 * One step does what a user would otherwise script: compile and link with the
 * target's cross compiler, -g, hop's include path and libhop (with the libc
 * functions libhop takes over wrapped), then index the result from its DWARF
 * and attach the index as the section ".hop_index" so the runtime finds it
 * without libdw. Flags we do not know pass through to the compiler. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

static const char *const wrapped[] = {
#define HOP_WRAP(name) #name,
#include "wrapped.def"
#undef HOP_WRAP
	NULL
};

static int cc_usage(void)
{
	fprintf(stderr, "usage: hop cc --target T -o OUT SRC... [compiler flags]\n"
			"  targets: %s\n", tool_target_names());
	return 2;
}

/* Attach the encoded index of `out` to it as section .hop_index. */
static int attach_index(const struct tool_target *t, const char *out)
{
	struct hop_index *idx;
	uint8_t *buf;
	size_t len;
	char tmp[4096], objcopy[256], addsec[4200];
	int rc = hop__dwarf_index(out, &idx);

	if (rc < 0)
		return rc;
	rc = hop__index_encode(idx, &buf, &len);
	hop__index_free(idx);
	if (rc < 0)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.hopidx.%d", out, (int)getpid());
	rc = tool_write_file(tmp, buf, len);
	free(buf);
	if (rc < 0)
		return rc;
	snprintf(objcopy, sizeof(objcopy), "%s-objcopy", t->triple);
	snprintf(addsec, sizeof(addsec), ".hop_index=%s", tmp);
	char *argv[] = { objcopy, "--remove-section=.hop_index", "--add-section", addsec,
			 "--set-section-flags", ".hop_index=readonly,contents", (char *)out, NULL };
	rc = tool_run(argv);
	unlink(tmp);
	return rc;
}

int cmd_cc(int argc, char **argv)
{
	const struct tool_target *t = NULL;
	const char *out = NULL;
	char gcc[256], inc[4200], lib[4200], rpath[300];
	size_t nw = sizeof(wrapped) / sizeof(wrapped[0]) - 1;
	char **args = calloc((size_t)argc + nw + 16, sizeof(char *));
	char *wrapflags = NULL;
	int n = 0, nsrc = 0, rc;

	if (!args)
		return tool_die(hop__fail(HOP_ENOMEM, "out of memory"));
	args[n++] = gcc;
	args[n++] = "-g";
	args[n++] = inc;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--target") == 0 && i + 1 < argc) {
			t = tool_target(argv[++i]);
			if (!t) {
				fprintf(stderr, "hop cc: unknown target '%s' (targets: %s)\n", argv[i], tool_target_names());
				free(args);
				return 2;
			}
		} else if (strncmp(argv[i], "--target=", 9) == 0) {
			t = tool_target(argv[i] + 9);
			if (!t) {
				fprintf(stderr, "hop cc: unknown target '%s' (targets: %s)\n", argv[i] + 9, tool_target_names());
				free(args);
				return 2;
			}
		} else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			out = argv[++i];
		} else {
			if (argv[i][0] != '-')
				nsrc++;
			args[n++] = argv[i];
		}
	}
	if (!t || !out || nsrc == 0) {
		free(args);
		return cc_usage();
	}
	snprintf(gcc, sizeof(gcc), "%s-gcc", t->triple);
	snprintf(inc, sizeof(inc), "-I%s/include", tool_home());
	snprintf(lib, sizeof(lib), "%s/build/%s/libhop.a", tool_home(), t->name);
	if (access(lib, R_OK) != 0) {
		free(args);
		return tool_die(hop__fail(HOP_ENOENT, "%s is missing: run `make` in %s", lib, tool_home()));
	}
	args[n++] = lib;
	if (nw) {
		size_t cap = 16 + nw * 64;
		wrapflags = malloc(cap);
		if (!wrapflags) {
			free(args);
			return tool_die(hop__fail(HOP_ENOMEM, "out of memory"));
		}
		strcpy(wrapflags, "-Wl");
		for (size_t i = 0; i < nw; i++) {
			strcat(wrapflags, ",--wrap=");
			strcat(wrapflags, wrapped[i]);
		}
		args[n++] = wrapflags;
	}
	args[n++] = "-lpthread";
	if (t->qemu) {
		/* Look for the target's libc beside its ld.so first. Without this,
		 * under `qemu-i386 -L /usr/i686-linux-gnu` the loader takes the host's
		 * /lib32/libc.so.6 (libc6-i386, another build) from the host's
		 * ld.so.cache, and the mismatched pair hangs in fork() and
		 * pthread_create(). A directory that does not exist (on a real
		 * machine of that target) is skipped. */
		snprintf(rpath, sizeof(rpath), "-Wl,-rpath,/usr/%s/lib", t->triple);
		args[n++] = rpath;
	}
	args[n++] = "-o";
	args[n++] = (char *)out;
	args[n] = NULL;

	rc = tool_run(args);
	free(wrapflags);
	free(args);
	if (rc < 0)
		return tool_die(rc);
	rc = attach_index(t, out);
	if (rc < 0) {
		unlink(out); /* a hop program without its index would fail at hop_init */
		return tool_die(rc);
	}
	return 0;
}
