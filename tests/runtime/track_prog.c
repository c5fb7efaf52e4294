/* track_prog.c -- fixture for t_track_wrap.sh and t_track_qemu.sh.
 *
 * A hop program (linked with the --wrap's of wrapped.def) that starts dirty
 * tracking through track.h (backend from $HOP_TRACK), then lets the kernel
 * write into tracked globals and heap through the wrapped system calls:
 * every call must succeed (under the mprotect tracker a kernel write into a
 * protected page would be EFAULT), and every page written must be reported
 * dirty by the next collect. Prints "ok <backend>" and exits 0, or names the
 * first failure and exits 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "heap.h"
#include "hop.h"
#include "track.h"

#define PG 4096
/* each target in a page of its own */
static char g_read[PG] __attribute__((aligned(PG)));
static struct timespec g_ts __attribute__((aligned(PG)));
static struct stat g_st __attribute__((aligned(PG)));
static int g_fds[2] __attribute__((aligned(PG)));
static struct pollfd g_pfd[2] __attribute__((aligned(PG)));
static fd_set g_set __attribute__((aligned(PG)));
static struct sockaddr_in g_addr __attribute__((aligned(PG)));
static int g_status __attribute__((aligned(PG)));
static struct timeval g_tv __attribute__((aligned(PG)));
static long g_plain __attribute__((aligned(PG))) = 1; /* .data */
static char g_zero[8 * PG] __attribute__((aligned(PG)));

struct dirty {
	uintptr_t r[8192][2];
	size_t n;
};
static struct dirty *D; /* in the heap: written by collect's callback only */

static int add(void *ctx, uintptr_t s, uintptr_t e)
{
	(void)ctx;
	if (D->n < 8192) {
		D->r[D->n][0] = s;
		D->r[D->n][1] = e;
		D->n++;
	}
	return 0;
}

static void collect(void)
{
	D->n = 0;
	if (hop__track_collect(add, NULL) < 0) {
		fprintf(stderr, "collect: %s\n", hop_last_error());
		exit(1);
	}
}

static int dirty(const void *p)
{
	for (size_t i = 0; i < D->n; i++)
		if (D->r[i][0] <= (uintptr_t)p && (uintptr_t)p < D->r[i][1])
			return 1;
	return 0;
}

static int fails;
#define CHECK(what, cond)                                                                  \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "FAIL %s: %s (errno %s)\n", what, #cond, strerror(errno)); \
			fails++;                                                           \
		}                                                                          \
	} while (0)
/* re-arm, run the call, check it, then check the page came back dirty */
#define KCALL(what, ptr, call, ok)                                                         \
	do {                                                                               \
		collect(); /* takes what was written before */                         \
		collect();                                                                 \
		CHECK(what " (re-armed)", !dirty(ptr));                                    \
		errno = 0;                                                                 \
		call;                                                                      \
		CHECK(what, ok);                                                           \
		collect();                                                                 \
		CHECK(what " (reported dirty)", dirty(ptr));                               \
	} while (0)

/* Zeroing through libc into write-protected pages, page boundaries inside,
 * four times over (qemu caches translated code: under qemu-aarch64 a fault
 * in memset's DC ZVA left 16 bytes per page unwritten from the second run
 * on; wrap.c). The bytes must be zero and the pages reported dirty. */
static void zeroing(char *hp)
{
	static const char *const names[] = { "memset", "bzero", "explicit_bzero", "strncpy", "stpncpy", "calloc" };
	volatile size_t n = 6 * PG + 100; /* volatile: a real call, never inlined */
	for (int op = 0; op < 6; op++)
		for (int rep = 0; rep < 4; rep++) {
			char *d = (rep & 1 ? g_zero : hp) + 48, *blk[20];
			if (op == 5) { /* a reused block: hop's calloc zeroes it with memset */
				for (int i = 0; i < 20; i++) {
					blk[i] = malloc(n);
					memset(blk[i], 0x5a, n);
				}
				for (int i = 0; i < 20; i++)
					free(blk[i]); /* the last ones go back to the slab, not the thread cache */
			} else
				memset(d, 0x5a, n);
			collect();
			collect();
			switch (op) {
			case 0: memset(d, 0, n); break;
			case 1: bzero(d, n); break;
			case 2: explicit_bzero(d, n); break;
			case 3: strncpy(d, "", n); break;
			case 4: stpncpy(d, "", n); break;
			case 5: d = calloc(1, n); break;
			}
			size_t bad = 0, first = 0;
			for (size_t i = 0; i < n; i++)
				if (d[i] && !bad++)
					first = i;
			if (bad)
				fprintf(stderr, "FAIL %s into %s (run %d): %zu bytes not zero, the first at offset %zu\n",
					names[op], rep & 1 ? ".bss" : "heap", rep, bad, first);
			fails += bad != 0;
			collect();
			CHECK("zeroing (reported dirty)", dirty(d) && dirty(d + n - 1));
			if (op == 5)
				free(d);
		}
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/proc/self/exe";
	D = malloc(sizeof(*D));
	char *heap = malloc(64 * PG);
	memset(heap, 0, 64 * PG);
	char *h = (char *)(((uintptr_t)heap + PG - 1) & ~(uintptr_t)(PG - 1));
	int p[2], sv[2];
	ssize_t r = 0;
	int rc = 0;

	if (!D || !heap || pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		perror("setup");
		return 1;
	}
	if (hop__track_start() < 0) {
		fprintf(stderr, "track start: %s\n", hop_last_error());
		return 1;
	}
	const char *backend = hop__track_backend_name();

	/* plain user-space writes */
	KCALL("global write", &g_plain, g_plain = 2, g_plain == 2);
	KCALL("heap write", h, h[5] = 1, h[5] == 1);

	/* kernel writes through the wrappers */
	write(p[1], "abcdefgh", 8);
	KCALL("read into .bss", g_read, r = read(p[0], g_read, 4), r == 4 && memcmp(g_read, "abcd", 4) == 0);
	KCALL("read into heap", h + PG, r = read(p[0], h + PG, 4), r == 4 && memcmp(h + PG, "efgh", 4) == 0);
	send(sv[0], "xyz", 3, 0);
	KCALL("recv into heap", h + 2 * PG, r = recv(sv[1], h + 2 * PG, 3, 0), r == 3);
	send(sv[0], "12345678", 8, 0);
	struct iovec iov[2] = { { h + 3 * PG, 4 }, { h + 5 * PG, 4 } };
	KCALL("readv into heap", h + 5 * PG, r = readv(sv[1], iov, 2), r == 8 && h[5 * PG] == '5');
	send(sv[0], "msg", 3, 0);
	struct iovec miov = { h + 6 * PG, 16 };
	struct msghdr mh;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &miov;
	mh.msg_iovlen = 1;
	KCALL("recvmsg into heap", h + 6 * PG, r = recvmsg(sv[1], &mh, 0), r == 3);
	KCALL("clock_gettime into .bss", &g_ts, rc = clock_gettime(CLOCK_REALTIME, &g_ts), rc == 0 && g_ts.tv_sec > 1000);
	KCALL("gettimeofday into .bss", &g_tv, rc = gettimeofday(&g_tv, NULL), rc == 0 && g_tv.tv_sec > 1000);
	time_t *tp = (time_t *)(h + 7 * PG);
	KCALL("time into heap", tp, time(tp), *tp > 1000);
	KCALL("stat into .bss", &g_st, rc = stat(path, &g_st), rc == 0 && g_st.st_size > 0);
	KCALL("fstat into heap", h + 8 * PG, rc = fstat(p[0], (struct stat *)(h + 8 * PG)), rc == 0);
	KCALL("pipe into .bss", g_fds, rc = pipe(g_fds), rc == 0 && g_fds[0] > 2);
	write(g_fds[1], "q", 1);
	g_pfd[0].fd = g_fds[0];
	g_pfd[0].events = POLLIN;
	KCALL("poll into .bss", g_pfd, rc = poll(g_pfd, 1, 1000), rc == 1 && (g_pfd[0].revents & POLLIN));
	FD_ZERO(&g_set);
	FD_SET(g_fds[0], &g_set);
	KCALL("select into .bss", &g_set, rc = select(g_fds[0] + 1, &g_set, NULL, NULL, NULL),
	      rc == 1 && FD_ISSET(g_fds[0], &g_set));
	KCALL("uname into heap", h + 9 * PG, rc = uname((struct utsname *)(h + 9 * PG)), rc == 0 && h[9 * PG] != 0);
	KCALL("getrlimit into heap", h + 10 * PG, rc = getrlimit(RLIMIT_NOFILE, (struct rlimit *)(h + 10 * PG)), rc == 0);
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in any;
	memset(&any, 0, sizeof(any));
	any.sin_family = AF_INET;
	any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(ls, (struct sockaddr *)&any, sizeof(any));
	socklen_t alen = sizeof(g_addr);
	KCALL("getsockname into .bss", &g_addr, rc = getsockname(ls, (struct sockaddr *)&g_addr, &alen),
	      rc == 0 && g_addr.sin_family == AF_INET);
	struct timespec req = { 0, 1000000 };
	collect();
	rc = nanosleep(&req, (struct timespec *)(h + 11 * PG)); /* rem is written only when interrupted */
	CHECK("nanosleep with rem in tracked heap", rc == 0);
	pid_t child = fork();
	if (child == 0)
		_exit(7);
	KCALL("waitpid status into .bss", &g_status, rc = waitpid(child, &g_status, 0),
	      rc == child && WIFEXITED(g_status) && WEXITSTATUS(g_status) == 7);
	FILE *f = fopen(path, "rb");
	KCALL("fread into heap", h + 12 * PG, r = (ssize_t)fread(h + 12 * PG, 1, 3 * PG, f), r == 3 * PG);
	fclose(f);
	f = fopen(path, "rb");
	char *line = NULL;
	size_t cap = 0;
	r = getdelim(&line, &cap, '\0', f);
	CHECK("getdelim", r > 0 && line && hop__heap_size(line) == cap);
	free(line);
	fclose(f);
	zeroing(h + 16 * PG);
	char *s = NULL;
	CHECK("asprintf", asprintf(&s, "%d-%s", 42, "x") == 4 && hop__heap_size(s) == 5);
	free(s);

	hop__track_stop();
	if (fails) {
		fprintf(stderr, "%d failures (%s)\n", fails, backend);
		return 1;
	}
	printf("ok %s\n", backend);
	return 0;
}
