/* util.c -- small helpers the verbs share: targets, subprocesses, files. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tool.h"

extern char **environ;

static const struct tool_target targets[] = {
	{ "x86_64", "x86_64-linux-gnu", NULL, HOP_ARCH_X86_64, 62 },
	{ "i686", "i686-linux-gnu", "qemu-i386", HOP_ARCH_I686, 3 },
	{ "aarch64", "aarch64-linux-gnu", "qemu-aarch64", HOP_ARCH_AARCH64, 183 },
	{ "s390x", "s390x-linux-gnu", "qemu-s390x", HOP_ARCH_S390X, 22 },
	{ "powerpc", "powerpc-linux-gnu", "qemu-ppc", HOP_ARCH_POWERPC, 20 },
};
#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

const struct tool_target *tool_target(const char *name)
{
	for (size_t i = 0; i < NTARGETS; i++)
		if (strcmp(targets[i].name, name) == 0)
			return &targets[i];
	return NULL;
}

const struct tool_target *tool_target_by_machine(int em)
{
	for (size_t i = 0; i < NTARGETS; i++)
		if (targets[i].elf_machine == em)
			return &targets[i];
	return NULL;
}

const char *tool_target_names(void)
{
	return "x86_64 i686 aarch64 s390x powerpc";
}

const char *tool_home(void)
{
	static char home[PATH_MAX];
	if (home[0])
		return home;
	const char *env = getenv("HOP_HOME");
	if (env && *env) {
		snprintf(home, sizeof(home), "%s", env);
		return home;
	}
	ssize_t n = readlink("/proc/self/exe", home, sizeof(home) - 1);
	if (n <= 0) {
		snprintf(home, sizeof(home), ".");
		return home;
	}
	home[n] = '\0';
	/* .../bin/hop -> ... */
	for (int up = 0; up < 2; up++) {
		char *s = strrchr(home, '/');
		if (s)
			*s = '\0';
	}
	if (!home[0])
		snprintf(home, sizeof(home), "/");
	return home;
}

int tool_run(char *const argv[])
{
	pid_t pid;
	int st, rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (rc != 0) {
		errno = rc;
		return hop__sysfail("cannot run %s", argv[0]);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return hop__sysfail("waitpid %s", argv[0]);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		return hop__fail(HOP_ESYS, "%s exited with status %d", argv[0], WEXITSTATUS(st));
	return hop__fail(HOP_ESYS, "%s killed by signal %d", argv[0], WTERMSIG(st));
}

int tool_write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return hop__sysfail("%s: open", path);
	const char *p = buf;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int rc = hop__sysfail("%s: write", path);
			close(fd);
			return rc;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0)
		return hop__sysfail("%s: close", path);
	return 0;
}

int tool_die(int rc)
{
	const char *msg = hop_last_error();
	fprintf(stderr, "hop: %s\n", *msg ? msg : hop_strerror(rc));
	return 1;
}
