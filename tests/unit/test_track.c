/* test_track.c -- dirty tracking (track.c, track_uffd.c, track_mprotect.c),
 * both backends natively. The syscall wrappers themselves need a program
 * linked with --wrap: tests/runtime/t_track_wrap.sh and t_track_qemu.sh. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "heap.h"
#include "task.h"
#include "track.h"

#define PS 4096
static char gbuf[8 * PS] __attribute__((aligned(PS)));
static char gdata[4 * PS] __attribute__((aligned(PS))) = { 1 };

struct dirty {
	uintptr_t r[4096][2];
	size_t n;
	long pages;
};
static struct dirty D;

static int add_dirty(void *ctx, uintptr_t s, uintptr_t e)
{
	struct dirty *d = ctx;
	ASSERT(s < e);
	ASSERT_EQ(s % PS, 0);
	ASSERT_EQ(e % PS, 0);
	if (d->n < 4096) {
		d->r[d->n][0] = s;
		d->r[d->n][1] = e;
		d->n++;
	}
	return 0;
}

static void collect(void)
{
	D.n = 0;
	D.pages = hop__track_collect(add_dirty, &D);
	if (D.pages < 0)
		FAIL("collect: %s", hop_last_error());
}

static int is_dirty(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	for (size_t i = 0; i < D.n; i++)
		if (D.r[i][0] <= a && a < D.r[i][1])
			return 1;
	return 0;
}

static int have_uffd(void)
{
	setenv("HOP_TRACK", "uffd", 1);
	int rc = hop__track_start();
	if (rc == 0)
		hop__track_stop();
	return rc == 0;
}

static void start(const char *backend)
{
	setenv("HOP_TRACK", backend, 1);
	if (hop__track_start() < 0)
		FAIL("start %s: %s", backend, hop_last_error());
	ASSERT_STR_EQ(hop__track_backend_name(), backend);
	collect(); /* start from clean */
}

static void writes_reported(const char *backend)
{
	char *heap = hop__malloc(6 * PS);
	memset(heap, 1, 6 * PS);
	start(backend);
	collect();
	ASSERT(!is_dirty(gbuf + PS));
	ASSERT(!is_dirty(heap + 2 * PS));

	gbuf[PS + 5] = 1;       /* .bss */
	gdata[2 * PS + 7] = 2;  /* .data */
	heap[2 * PS + 9] = 3;   /* heap */
	collect();
	ASSERT(is_dirty(gbuf + PS));
	ASSERT(is_dirty(gdata + 2 * PS));
	ASSERT(is_dirty(heap + 2 * PS));
	ASSERT(!is_dirty(gbuf + 3 * PS));
	ASSERT(!is_dirty(gdata + 3 * PS));
	ASSERT(!is_dirty(heap + 4 * PS));

	/* re-armed: nothing new until the next write */
	collect();
	ASSERT(!is_dirty(gbuf + PS));
	ASSERT(!is_dirty(heap + 2 * PS));
	heap[2 * PS + 10] = 4;
	collect();
	ASSERT(is_dirty(heap + 2 * PS));
	ASSERT_EQ(heap[2 * PS + 9], 3);

	/* the last collect (the program parked, tracking stops after it) reports
	 * the same, and leaves the pages as they are: written again, they are
	 * reported again without a fault having re-armed them */
	heap[3 * PS] = 5;
	gbuf[2 * PS] = 5;
	D.n = 0;
	D.pages = hop__track_collect_last(add_dirty, &D);
	ASSERT(D.pages >= 2);
	ASSERT(is_dirty(heap + 3 * PS));
	ASSERT(is_dirty(gbuf + 2 * PS));
	ASSERT(!is_dirty(heap + 4 * PS));
	ASSERT(!is_dirty(gbuf + 3 * PS));
	D.n = 0;
	D.pages = hop__track_collect_last(add_dirty, &D);
	ASSERT(is_dirty(heap + 3 * PS));
	collect(); /* re-arms, for what follows */
	collect();
	ASSERT(!is_dirty(heap + 3 * PS));

	/* a mapping the heap makes while tracking is tracked at once */
	char *big = hop__malloc(5 << 20);
	collect();
	big[3 * PS] = 1;
	collect();
	ASSERT(is_dirty(big + 3 * PS));
	ASSERT(!is_dirty(big + 6 * PS));

	/* freed while tracking: stays mapped, readable */
	hop__free(big);
	ASSERT_EQ(big[3 * PS], 1);
	hop__track_stop();
	ASSERT_STR_EQ(hop__track_backend_name(), "none");
	heap[0] = 9; /* writable again */
	gbuf[0] = 9;
	hop__free(heap);
}

TEST(uffd_writes)
{
	if (!have_uffd()) {
		printf("  (uffd not available here: %s)\n", hop_last_error());
		return;
	}
	writes_reported("uffd");
}

TEST(mprotect_writes)
{
	writes_reported("mprotect");
	struct hop_track_stats st;
	hop__track_stats(&st);
	ASSERT(st.faults >= 4);
}

/* A kernel write into tracked memory: read() from a pipe. */
static void kernel_write(const char *backend, int windowed)
{
	int p[2];
	ASSERT_EQ(pipe(p), 0);
	char *heap = hop__malloc(3 * PS);
	start(backend);
	ASSERT_EQ(write(p[1], "abcdefgh", 8), 8);
	int w = windowed ? hop__track_win_open(gbuf + 2 * PS, 4) : -1;
	ssize_t r = read(p[0], gbuf + 2 * PS, 4);
	int e = errno;
	hop__track_win_close(w);
	if (r != 4)
		FAIL("read into tracked .bss (%s): %zd, %s", backend, r, strerror(e));
	w = windowed ? hop__track_win_open(heap + PS + 100, 4) : -1;
	r = read(p[0], heap + PS + 100, 4);
	hop__track_win_close(w);
	ASSERT_EQ(r, 4);
	ASSERT(memcmp(gbuf + 2 * PS, "abcd", 4) == 0);
	ASSERT(memcmp(heap + PS + 100, "efgh", 4) == 0);
	collect();
	ASSERT(is_dirty(gbuf + 2 * PS));
	ASSERT(is_dirty(heap + PS));

	/* recv on a socket, into the heap */
	int sv[2];
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ASSERT_EQ(send(sv[0], "xyz", 3, 0), 3);
	collect();
	w = windowed ? hop__track_win_open(heap + 2 * PS, 3) : -1;
	r = recv(sv[1], heap + 2 * PS, 3, 0);
	hop__track_win_close(w);
	ASSERT_EQ(r, 3);
	ASSERT(memcmp(heap + 2 * PS, "xyz", 3) == 0);
	collect();
	ASSERT(is_dirty(heap + 2 * PS));
	hop__track_stop();
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	hop__free(heap);
}

TEST(uffd_kernel_writes_need_no_window)
{
	if (!have_uffd())
		return;
	kernel_write("uffd", 0);
}

TEST(mprotect_kernel_writes_through_window)
{
	kernel_write("mprotect", 1);
}

/* Shows the test can fail: without a window the kernel write meets a
 * protected page and gets EFAULT -- exactly what the wrappers prevent. */
TEST(mprotect_without_window_is_efault)
{
	int p[2];
	ASSERT_EQ(pipe(p), 0);
	start("mprotect");
	ASSERT_EQ(write(p[1], "abcd", 4), 4);
	ssize_t r = read(p[0], gbuf + 5 * PS, 4);
	int e = errno;
	hop__track_stop();
	ASSERT_EQ(r, -1);
	ASSERT_EQ(e, EFAULT);
	close(p[0]);
	close(p[1]);
}

/* A call blocked before tracking starts (read on a socket): its window was
 * announced, so arming leaves those pages writable. */
TEST(mprotect_window_open_before_start)
{
	int p[2];
	ASSERT_EQ(pipe(p), 0);
	int w = hop__track_win_open(gbuf + 6 * PS + 10, 6);
	start("mprotect");
	ASSERT_EQ(write(p[1], "123456", 6), 6);
	ssize_t r = read(p[0], gbuf + 6 * PS + 10, 6);
	ASSERT_EQ(r, 6);
	/* the window is still open: collect reports the page and keeps it dirty */
	collect();
	ASSERT(is_dirty(gbuf + 6 * PS));
	ASSERT_EQ(write(p[1], "789", 3), 3);
	ASSERT_EQ(read(p[0], gbuf + 6 * PS + 10, 3), 3);
	hop__track_win_close(w);
	collect();
	ASSERT(is_dirty(gbuf + 6 * PS));
	collect();
	ASSERT(!is_dirty(gbuf + 6 * PS));
	hop__track_stop();
	ASSERT(memcmp(gbuf + 6 * PS + 10, "789456", 6) == 0);
	close(p[0]);
	close(p[1]);
}

/* vm.max_map_count: with a tiny run budget, scattered writes make the
 * tracker unprotect the whole range instead of splitting it further. */
TEST(mprotect_escalation)
{
	setenv("HOP_TRACK_MAX_RUNS", "16", 1);
	char *h = hop__malloc(400 * PS);
	memset(h, 0, 400 * PS);
	start("mprotect");
	struct hop_track_stats st0, st1;
	hop__track_stats(&st0);
	for (int i = 0; i < 400; i += 2)
		h[i * PS] = (char)i;
	hop__track_stats(&st1);
	ASSERT(st1.escalations > st0.escalations);
	collect();
	for (int i = 0; i < 400; i += 2)
		ASSERT(is_dirty(h + i * PS));
	/* re-armed after the escalation: a new write faults and is reported */
	collect();
	ASSERT(!is_dirty(h + 7 * PS));
	h[7 * PS] = 1;
	collect();
	ASSERT(is_dirty(h + 7 * PS));
	hop__track_stop();
	unsetenv("HOP_TRACK_MAX_RUNS");
	hop__free(h);
}

/* A collect with many dirty pages: all reported, all re-armed. */
static void many_dirty(const char *backend)
{
	enum { N = 20000 };
	char *h = hop__malloc((size_t)N * PS);
	start(backend);
	for (int i = 0; i < N; i++)
		h[(size_t)i * PS] = 1;
	collect();
	ASSERT(D.pages >= N);
	for (int i = 0; i < N; i += 997)
		ASSERT(is_dirty(h + (size_t)i * PS));
	collect();
	ASSERT(D.pages < 100);
	hop__track_stop();
	hop__free(h);
}

TEST(many_dirty_pages)
{
	many_dirty("mprotect");
	if (have_uffd())
		many_dirty("uffd");
}

/* A real crash outside tracked memory still crashes. */
TEST(foreign_segv_still_kills)
{
	for (int how = 0; how < 2; how++) {
		pid_t pid = fork();
		ASSERT(pid >= 0);
		if (pid == 0) {
			signal(SIGSEGV, SIG_DFL); /* what was there before us (not ASan's) */
			start("mprotect");
			char *ro = mmap(NULL, PS, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (how == 0)
				ro[1] = 1;
			else
				raise(SIGSEGV);
			_exit(0);
		}
		int status;
		ASSERT_EQ(waitpid(pid, &status, 0), pid);
		ASSERT(WIFSIGNALED(status));
		ASSERT_EQ(WTERMSIG(status), SIGSEGV);
	}
}

/* A handler the program installed before tracking gets the faults that are not ours. */
static volatile sig_atomic_t prog_handler_ran;
static char *prog_page;
static void prog_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	prog_handler_ran = si->si_addr == prog_page + 1;
	mprotect(prog_page, PS, PROT_READ | PROT_WRITE);
}

TEST(foreign_segv_chains)
{
	pid_t pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = prog_handler;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGSEGV, &sa, NULL);
		prog_page = mmap(NULL, PS, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		start("mprotect");
		prog_page[1] = 1;
		gbuf[7 * PS] = 1; /* ours, in between */
		collect();
		_exit(prog_handler_ran && is_dirty(gbuf + 7 * PS) ? 0 : 3);
	}
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
}

TEST(env_override)
{
	int uffd = have_uffd();
	setenv("HOP_TRACK", "bogus", 1);
	ASSERT_EQ(hop__track_start(), HOP_EINVAL);
	ASSERT_ERR_HAS("HOP_TRACK=bogus");
	setenv("HOP_TRACK", "mprotect", 1);
	ASSERT_EQ(hop__track_start(), 0);
	ASSERT_STR_EQ(hop__track_backend_name(), "mprotect");
	ASSERT_EQ(hop__track_start(), HOP_EBUSY);
	hop__track_stop();
	setenv("HOP_TRACK", "auto", 1);
	ASSERT_EQ(hop__track_start(), 0);
	/* auto takes uffd where the kernel has it */
	ASSERT_STR_EQ(hop__track_backend_name(), uffd ? "uffd" : "mprotect");
	hop__track_stop();
	unsetenv("HOP_TRACK");
}

int main(void)
{
	RUN(uffd_writes);
	RUN(mprotect_writes);
	RUN(uffd_kernel_writes_need_no_window);
	RUN(mprotect_kernel_writes_through_window);
	RUN(mprotect_without_window_is_efault);
	RUN(mprotect_window_open_before_start);
	RUN(mprotect_escalation);
	RUN(many_dirty_pages);
	RUN(foreign_segv_still_kills);
	RUN(foreign_segv_chains);
	RUN(env_override);
	return 0;
}
