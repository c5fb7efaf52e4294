/* test_fds.c -- describe a descriptor table, carry it, rebuild it.
 *
 * Each case runs in forked children with a clean table (everything above 2
 * closed), because capture looks at the whole process: one child builds a
 * table and captures it, a second child (which never had those descriptors)
 * restores it and checks numbers, flags, offsets, socket state, epoll
 * interest lists, counters and pipe contents. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bytes.h"
#include "err.h"
#include "fds.h"
#include "task.h"

static char tmpdir[] = "/tmp/test_fds.XXXXXX";

static void clean_table(void)
{
	syscall(SYS_close_range, 3u, ~0u, 0u);
}

/* Run fn in a child with a clean table; the child's exit status must be 0. */
static void in_child(void (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t p = fork();
	ASSERT(p >= 0);
	if (p == 0) {
		clean_table();
		fn(arg);
		fflush(NULL);
		_exit(0);
	}
	int st;
	ASSERT_EQ(waitpid(p, &st, 0), p);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		FAIL("child failed (status 0x%x)", st);
}

static const struct hop_fd *find(const struct hop_fds *f, int fd)
{
	for (uint32_t i = 0; i < f->n; i++)
		if (f->v[i].fd == fd)
			return &f->v[i];
	return NULL;
}

/* ---- a rich table ------------------------------------------------------------ */

enum { FD_FILE = 5, FD_LISTEN = 6, FD_UDP = 7, FD_EP = 8, FD_EV = 9, FD_TIMER = 10, FD_PR = 11, FD_PW = 12,
       FD_NULL = 13, FD_DIR = 20 };

static uint16_t listen_port;
static uint8_t table[1 << 16];
static size_t table_len;

static void at(int tmp, int want)
{
	if (tmp == want)
		return;
	int cloexec = (fcntl(tmp, F_GETFD) & FD_CLOEXEC) ? O_CLOEXEC : 0;
	ASSERT_EQ(dup3(tmp, want, cloexec), want);
	close(tmp);
}

static void build_rich(void)
{
	char path[256];
	snprintf(path, sizeof path, "%s/log", tmpdir);
	int f = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	ASSERT(f >= 0);
	ASSERT_EQ(write(f, "0123456789", 10), 10);
	at(f, FD_FILE);
	/* a read-only file at an offset that is not its end */
	snprintf(path, sizeof path, "%s/data", tmpdir);
	f = open(path, O_RDONLY);
	ASSERT(f >= 0);
	ASSERT_EQ(lseek(f, 3, SEEK_SET), 3);
	at(f, 14);

	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	ASSERT_EQ(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	ASSERT_EQ(listen(s, 16), 0);
	ASSERT_EQ(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	listen_port = ntohs(sa.sin_port);
	at(s, FD_LISTEN);

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ua = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ASSERT_EQ(bind(u, (struct sockaddr *)&ua, sizeof ua), 0);
	at(u, FD_UDP);

	int ev = eventfd(7, EFD_NONBLOCK);
	at(ev, FD_EV);

	int t = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = { .it_value = { 100, 0 }, .it_interval = { 5, 0 } };
	ASSERT_EQ(timerfd_settime(t, 0, &its, NULL), 0);
	at(t, FD_TIMER);

	int p[2];
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(write(p[1], "hello", 5), 5);
	/* place without clobbering: move both above the wanted numbers first */
	int pr = fcntl(p[0], F_DUPFD, 100), pw = fcntl(p[1], F_DUPFD, 100);
	close(p[0]);
	close(p[1]);
	at(pr, FD_PR);
	at(pw, FD_PW);

	int n = open("/dev/null", O_WRONLY);
	at(n, FD_NULL);
	int d = open(tmpdir, O_RDONLY | O_DIRECTORY);
	at(d, FD_DIR);

	int e = epoll_create1(EPOLL_CLOEXEC);
	at(e, FD_EP);
	struct epoll_event ee = { .events = EPOLLIN };
	ee.data.fd = FD_LISTEN;
	ASSERT_EQ(epoll_ctl(FD_EP, EPOLL_CTL_ADD, FD_LISTEN, &ee), 0);
	ee.events = EPOLLIN | EPOLLET;
	ee.data.u64 = 0xdeadbeef12345678ull;
	ASSERT_EQ(epoll_ctl(FD_EP, EPOLL_CTL_ADD, FD_EV, &ee), 0);
}

static void capture_rich(void *arg)
{
	(void)arg;
	build_rich();
	struct hop_fds f;
	int rc = hop__fds_capture(&f);
	if (rc < 0)
		FAIL("capture: %s", hop_last_error());
	const struct hop_fd *d;
	ASSERT((d = find(&f, 0)) && d->kind == HOP_FD_STDIO);
	ASSERT((d = find(&f, FD_FILE)) && d->kind == HOP_FD_FILE);
	ASSERT_EQ(d->flags & (HOP_FDF_ACCMODE | HOP_FDF_APPEND | HOP_FDF_CLOEXEC), HOP_FDF_RDWR | HOP_FDF_APPEND | HOP_FDF_CLOEXEC);
	ASSERT_EQ(d->offset, 10);
	ASSERT((d = find(&f, 14)) && d->kind == HOP_FD_FILE && d->offset == 3);
	ASSERT_EQ(d->flags, HOP_FDF_RDONLY);
	ASSERT((d = find(&f, FD_LISTEN)) && d->kind == HOP_FD_LISTEN);
	ASSERT_EQ(d->port, listen_port);
	ASSERT_EQ(d->family, 4);
	ASSERT_EQ(d->sockopts & (HOP_SO_REUSEADDR | HOP_SO_NODELAY), HOP_SO_REUSEADDR | HOP_SO_NODELAY);
	ASSERT(d->flags & HOP_FDF_NONBLOCK);
	ASSERT((d = find(&f, FD_UDP)) && d->kind == HOP_FD_UDP && d->port != 0);
	ASSERT((d = find(&f, FD_EV)) && d->kind == HOP_FD_EVENTFD && d->count == 7);
	ASSERT((d = find(&f, FD_TIMER)) && d->kind == HOP_FD_TIMERFD);
	ASSERT_EQ(d->clock, CLOCK_MONOTONIC);
	ASSERT(d->value_ns > 90000000000ull && d->value_ns <= 100000000000ull);
	ASSERT_EQ(d->interval_ns, 5000000000ull);
	ASSERT((d = find(&f, FD_PR)) && d->kind == HOP_FD_PIPE_R && d->other == FD_PW);
	ASSERT_EQ(d->buflen, 5);
	ASSERT(memcmp(d->buf, "hello", 5) == 0);
	ASSERT((d = find(&f, FD_PW)) && d->kind == HOP_FD_PIPE_W && d->other == FD_PR);
	ASSERT((d = find(&f, FD_NULL)) && d->kind == HOP_FD_DEVNULL);
	ASSERT((d = find(&f, FD_DIR)) && d->kind == HOP_FD_FILE);
	ASSERT((d = find(&f, FD_EP)) && d->kind == HOP_FD_EPOLL && d->nep == 2);
	ASSERT(d->flags & HOP_FDF_CLOEXEC);
	for (uint32_t j = 0; j < 2; j++) {
		if (d->ep[j].tfd == FD_LISTEN) {
			/* the kernel always adds EPOLLERR | EPOLLHUP */
			ASSERT_EQ(d->ep[j].events & ~(uint32_t)(EPOLLERR | EPOLLHUP), EPOLLIN);
			ASSERT_UEQ(d->ep[j].data, FD_LISTEN);
		} else {
			ASSERT_EQ(d->ep[j].tfd, FD_EV);
			ASSERT_UEQ(d->ep[j].events & ~(uint32_t)(EPOLLERR | EPOLLHUP), EPOLLIN | EPOLLET);
			ASSERT_UEQ(d->ep[j].data, 0xdeadbeef12345678ull);
		}
	}
	/* capture must not have consumed the pipe */
	char b[8];
	ASSERT_EQ(read(FD_PR, b, sizeof b), 5);
	ASSERT(memcmp(b, "hello", 5) == 0);
	ASSERT_EQ(write(FD_PW, "hello", 5), 5);

	uint8_t *buf;
	size_t len;
	ASSERT_EQ(hop__fds_encode(&f, &buf, &len), 0);
	/* the encoding round-trips */
	struct hop_fds g;
	if (hop__fds_decode(buf, len, &g) < 0)
		FAIL("decode: %s", hop_last_error());
	ASSERT_EQ(g.n, f.n);
	uint8_t *buf2;
	size_t len2;
	ASSERT_EQ(hop__fds_encode(&g, &buf2, &len2), 0);
	ASSERT_EQ(len2, len);
	ASSERT(memcmp(buf, buf2, len) == 0);
	/* hand the table to the parent through a file (the child's memory dies) */
	char path[256];
	snprintf(path, sizeof path, "%s/table", tmpdir);
	int o = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ASSERT_EQ(write(o, buf, len), (ssize_t)len);
	close(o);
	hop__fds_buf_free(buf, len);
	hop__fds_buf_free(buf2, len2);
	hop__fds_free(&f);
	hop__fds_free(&g);
}

static void load_table(void)
{
	char path[256];
	snprintf(path, sizeof path, "%s/table", tmpdir);
	int o = open(path, O_RDONLY);
	ASSERT(o >= 0);
	ssize_t n = read(o, table, sizeof table);
	ASSERT(n > 0);
	table_len = (size_t)n;
	close(o);
}

static int moved_old = -1, moved_now = -1;
static void on_moved(void *ctx, int old, int now)
{
	(void)ctx;
	if (old != FD_EV)
		return; /* the other move is checked through its variable */
	moved_old = old;
	moved_now = now;
}

static void restore_rich(void *arg)
{
	(void)arg;
	struct hop_fds f;
	/* the destination's own start-up already holds some of the numbers:
	 * fd 6 is a stray socket of the program (to be replaced), fd 9 hop's
	 * own (to be moved away and reported) */
	int stray = socket(AF_INET, SOCK_STREAM, 0);
	at(stray, FD_LISTEN);
	int mine = open("/dev/zero", O_RDONLY);
	at(mine, FD_EV);
	ASSERT_EQ(hop__fds_mark_own(FD_EV), 0);
	/* hop's own descriptor known by its variable: moved and updated */
	static int agent_fd;
	agent_fd = open("/dev/urandom", O_RDONLY);
	at(agent_fd, FD_TIMER);
	agent_fd = FD_TIMER;
	ASSERT_EQ(hop__fds_own_var(&agent_fd), 0);
	int extra = open("/dev/zero", O_RDONLY); /* not in the table: closed */
	at(extra, 30);

	ASSERT_EQ(hop__fds_decode(table, table_len, &f), 0);
	listen_port = find(&f, FD_LISTEN)->port; /* the capturing child chose it */
	ASSERT(listen_port != 0);
	struct hop_fds_restore_opts o = { .own_moved = on_moved };
	if (hop__fds_restore(&f, &o) < 0)
		FAIL("restore: %s", hop_last_error());
	ASSERT_EQ(moved_old, FD_EV);
	ASSERT(moved_now > FD_DIR);
	char link[256];
	snprintf(link, sizeof link, "/proc/self/fd/%d", moved_now);
	char tgt[256] = "";
	ASSERT(readlink(link, tgt, sizeof tgt - 1) > 0);
	ASSERT_STR_EQ(tgt, "/dev/zero");
	ASSERT_EQ(fcntl(30, F_GETFD), -1);
	ASSERT(agent_fd > FD_DIR);
	snprintf(link, sizeof link, "/proc/self/fd/%d", agent_fd);
	memset(tgt, 0, sizeof tgt);
	ASSERT(readlink(link, tgt, sizeof tgt - 1) > 0);
	ASSERT_STR_EQ(tgt, "/dev/urandom");

	/* the file: same flags, same offset; O_APPEND still appends */
	int fl = fcntl(FD_FILE, F_GETFL);
	ASSERT_EQ(fl & O_ACCMODE, O_RDWR);
	ASSERT(fl & O_APPEND);
	ASSERT(fcntl(FD_FILE, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(lseek(FD_FILE, 0, SEEK_CUR), 10);
	char b[16];
	ASSERT_EQ(read(14, b, 4), 4);
	ASSERT(memcmp(b, "3456", 4) == 0);
	ASSERT_EQ(fcntl(14, F_GETFD) & FD_CLOEXEC, 0);

	/* the listener: same port, listening, non-blocking, options */
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	ASSERT_EQ(getsockname(FD_LISTEN, (struct sockaddr *)&sa, &sl), 0);
	ASSERT_EQ(ntohs(sa.sin_port), listen_port);
	int v = 0;
	socklen_t vl = sizeof v;
	ASSERT_EQ(getsockopt(FD_LISTEN, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl), 0);
	ASSERT_EQ(v, 1);
	ASSERT_EQ(getsockopt(FD_LISTEN, IPPROTO_TCP, TCP_NODELAY, &v, &vl), 0);
	ASSERT_EQ(v, 1);
	ASSERT(fcntl(FD_LISTEN, F_GETFL) & O_NONBLOCK);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_EQ(connect(c, (struct sockaddr *)&sa, sizeof sa), 0);

	/* the epoll: the new connection wakes it with data.fd = FD_LISTEN, the
	 * eventfd with its u64 */
	struct epoll_event evs[4];
	int n = epoll_wait(FD_EP, evs, 4, 1000);
	ASSERT_EQ(n, 2);
	int seen = 0;
	for (int i = 0; i < n; i++) {
		if (evs[i].data.fd == FD_LISTEN && evs[i].data.u64 == FD_LISTEN)
			seen |= 1;
		if (evs[i].data.u64 == 0xdeadbeef12345678ull)
			seen |= 2;
	}
	ASSERT_EQ(seen, 3);

	uint64_t cnt;
	ASSERT_EQ(read(FD_EV, &cnt, sizeof cnt), 8);
	ASSERT_EQ(cnt, 7);
	struct itimerspec its;
	ASSERT_EQ(timerfd_gettime(FD_TIMER, &its), 0);
	ASSERT(its.it_value.tv_sec >= 90 && its.it_value.tv_sec < 100);
	ASSERT_EQ(its.it_interval.tv_sec, 5);
	ASSERT_EQ(read(FD_PR, b, sizeof b), 5);
	ASSERT(memcmp(b, "hello", 5) == 0);
	ASSERT_EQ(write(FD_PW, "x", 1), 1);
	ASSERT_EQ(read(FD_PR, b, 1), 1);
	snprintf(link, sizeof link, "/proc/self/fd/%d", FD_DIR);
	memset(tgt, 0, sizeof tgt);
	ASSERT(readlink(link, tgt, sizeof tgt - 1) > 0);
	ASSERT_STR_EQ(tgt, tmpdir);
	ASSERT_EQ(write(FD_NULL, "x", 1), 1);
	hop__fds_free(&f);
}

TEST(capture_encode_restore)
{
	char path[256];
	snprintf(path, sizeof path, "%s/data", tmpdir);
	FILE *d = fopen(path, "w");
	fputs("0123456789", d);
	fclose(d);
	in_child(capture_rich, NULL);
	load_table();
	in_child(restore_rich, NULL);
}

/* ---- decode refuses damage ------------------------------------------------ */

TEST(decode_refuses_damage)
{
	struct hop_fds f;
	/* every truncation */
	for (size_t n = 0; n < table_len; n++) {
		ASSERT(hop__fds_decode(table, n, &f) < 0);
	}
	/* every single-byte change (the checksum, or a bound, catches it) */
	static uint8_t copy[sizeof table];
	for (size_t i = 0; i < table_len; i++) {
		memcpy(copy, table, table_len);
		copy[i] ^= 0x41;
		ASSERT(hop__fds_decode(copy, table_len, &f) < 0);
	}
	/* a consistent checksum over a lying length is still refused: make the
	 * entry count huge and re-seal */
	memcpy(copy, table, table_len);
	hop__put32(copy + 4 + 2 + 1 + 1 + 1 + 16 + 2 + 16, 0x7fffffffu);
	hop__put32(copy + table_len - 4, hop__crc32(0, copy, table_len - 4));
	ASSERT_EQ(hop__fds_decode(copy, table_len, &f), HOP_EFORMAT);
	ASSERT_EQ(hop__fds_decode(table, table_len, &f), 0);
	hop__fds_free(&f);
}

/* ---- refusals, by name ------------------------------------------------------ */

static void expect_refusal(const char *needle)
{
	int rc = hop__fds_check();
	if (rc != HOP_ENOTSUP)
		FAIL("check returned %d (%s), wanted a refusal naming '%s'", rc, hop_last_error(), needle);
	ASSERT_ERR_HAS(needle);
}

static void refuse_pipe_to_other(void *arg)
{
	(void)arg;
	int p[2];
	ASSERT_EQ(pipe(p), 0);
	pid_t c = fork();
	if (c == 0) {
		close(p[0]);
		pause();
		_exit(0);
	}
	close(p[1]);
	expect_refusal("pipe to another process (pipe:[");
	ASSERT_ERR_HAS("fd 3:");
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
}

static void refuse_unix(void *arg)
{
	(void)arg;
	int sv[2];
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	expect_refusal("UNIX socket");
}

static void refuse_signalfd(void *arg)
{
	(void)arg;
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	ASSERT(signalfd(-1, &m, 0) >= 0);
	expect_refusal("signalfd");
}

static void refuse_inotify(void *arg)
{
	(void)arg;
	ASSERT(inotify_init1(0) >= 0);
	expect_refusal("inotify");
}

static void refuse_stale_epoll(void *arg)
{
	(void)arg;
	int e = epoll_create1(0), ev = eventfd(0, 0);
	struct epoll_event ee = { .events = EPOLLIN };
	ASSERT_EQ(epoll_ctl(e, EPOLL_CTL_ADD, ev, &ee), 0);
	/* keep the file alive under another number, drop the watched number */
	int keep = dup(ev);
	close(ev);
	ASSERT(keep >= 0);
	expect_refusal("epoll watches a file no longer open at fd");
}

static void refuse_deleted(void *arg)
{
	char path[256];
	(void)arg;
	snprintf(path, sizeof path, "%s/gone", tmpdir);
	ASSERT(open(path, O_RDWR | O_CREAT, 0600) >= 0);
	unlink(path);
	expect_refusal("deleted or unnamed file");
}

static void own_are_skipped(void *arg)
{
	(void)arg;
	int sv[2];
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ASSERT_EQ(hop__fds_mark_own(sv[0]), 0);
	ASSERT_EQ(hop__fds_mark_own(sv[1]), 0);
	if (hop__fds_check() != 0)
		FAIL("check: %s", hop_last_error());
}

TEST(refusals_are_named)
{
	in_child(refuse_pipe_to_other, NULL);
	in_child(refuse_unix, NULL);
	in_child(refuse_signalfd, NULL);
	in_child(refuse_inotify, NULL);
	in_child(refuse_stale_epoll, NULL);
	in_child(refuse_deleted, NULL);
	in_child(own_are_skipped, NULL);
}

/* ---- connected sockets go to the relay -------------------------------------- */

static void restore_conn(void *arg)
{
	(void)arg;
	int relay = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	ASSERT_EQ(bind(relay, (struct sockaddr *)&sa, sizeof sa), 0);
	ASSERT_EQ(listen(relay, 4), 0);
	ASSERT_EQ(getsockname(relay, (struct sockaddr *)&sa, &sl), 0);
	ASSERT_EQ(hop__fds_mark_own(relay), 0);

	struct hop_fd d[2];
	memset(d, 0, sizeof d);
	d[0].fd = 9;
	d[0].kind = HOP_FD_CONN;
	d[0].family = 4;
	d[0].flags = HOP_FDF_RDWR | HOP_FDF_NONBLOCK;
	d[0].sockopts = HOP_SO_NODELAY;
	d[1].fd = 11;
	d[1].kind = HOP_FD_EPOLL;
	struct hop_fd_epitem it = { .tfd = 9, .events = EPOLLIN, .data = (uint64_t)9 << 32 };
	d[1].ep = &it;
	d[1].nep = 1;
	struct hop_fds f = { .v = d, .n = 2, .origin_big_endian = 1, .origin_ptr_size = 8 };
	f.relay.family = 4;
	memcpy(f.relay.addr, &sa.sin_addr, 4);
	f.relay.port = ntohs(sa.sin_port);
	memset(f.relay.key, 0xab, 16);
	/* through the wire encoding, like a real migration */
	uint8_t *buf;
	size_t len;
	struct hop_fds g;
	ASSERT_EQ(hop__fds_encode(&f, &buf, &len), 0);
	ASSERT_EQ(hop__fds_decode(buf, len, &g), 0);
	if (hop__fds_restore(&g, NULL) < 0)
		FAIL("restore: %s", hop_last_error());
	int a = accept(relay, NULL, NULL);
	ASSERT(a >= 0);
	uint8_t hello[HOP_FDS_HELLO_LEN], want[HOP_FDS_HELLO_LEN];
	ASSERT_EQ(recv(a, hello, sizeof hello, MSG_WAITALL), (ssize_t)sizeof hello);
	hop__fds_hello(want, 9, f.relay.key);
	ASSERT(memcmp(hello, want, sizeof want) == 0);
	ASSERT(fcntl(9, F_GETFL) & O_NONBLOCK);
	/* bytes from the relay arrive at fd 9 and wake the epoll, whose data
	 * (data.fd = 9 on a big-endian origin) reads as data.fd = 9 here */
	ASSERT_EQ(send(a, "hi", 2, 0), 2);
	struct epoll_event ev;
	ASSERT_EQ(epoll_wait(11, &ev, 1, 1000), 1);
	ASSERT_EQ(ev.data.fd, 9);
	char b[4];
	ASSERT_EQ(read(9, b, sizeof b), 2);

	/* a value that is not data.fd cannot cross byte orders: named refusal */
	close(9);
	close(11);
	it.data = 0x1234;
	ASSERT_EQ(hop__fds_restore(&f, NULL), HOP_EXLATE);
	ASSERT_ERR_HAS("epoll data 0x1234 for fd 9 cannot be carried across byte orders");
	hop__fds_buf_free(buf, len);
	hop__fds_free(&g);
}

TEST(connected_sockets_reach_the_relay)
{
	in_child(restore_conn, NULL);
}

/* A file missing on the destination is named. */
/* Connected sockets described by hop__fds_check are taken at the freeze
 * (same number, same socket), with what the program may change read again;
 * a number reused by another connection since is described anew. */
static int dial_to(int l)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	ASSERT_EQ(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT(s >= 0);
	ASSERT_EQ(connect(s, (struct sockaddr *)&sa, sizeof sa), 0);
	return s;
}

static void conn_ahead(void *arg)
{
	(void)arg;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ASSERT_EQ(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
	ASSERT_EQ(listen(l, 8), 0);
	int c1 = dial_to(l), c2 = dial_to(l);
	ASSERT_EQ(dup2(accept(l, NULL, NULL), 20), 20);
	ASSERT_EQ(dup2(accept(l, NULL, NULL), 21), 21);
	ASSERT_EQ(hop__fds_check(), 0);
	/* the program changes 20's flags and options; 21 is closed and its
	 * number taken by a new client */
	int one = 1;
	ASSERT_EQ(fcntl(20, F_SETFL, fcntl(20, F_GETFL) | O_NONBLOCK), 0);
	ASSERT_EQ(setsockopt(20, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
	close(21);
	int c3 = dial_to(l);
	ASSERT_EQ(dup2(accept(l, NULL, NULL), 21), 21);
	struct hop_fds ahead, whole;
	if (hop__fds_capture_frozen(&ahead) < 0)
		FAIL("capture_frozen: %s", hop_last_error());
	if (hop__fds_capture(&whole) < 0)
		FAIL("capture: %s", hop_last_error());
	ASSERT_EQ(ahead.n, whole.n);
	for (int fd = 20; fd <= 21; fd++) {
		const struct hop_fd *a = find(&ahead, fd), *w = find(&whole, fd);
		ASSERT(a && w);
		ASSERT_EQ(a->kind, HOP_FD_CONN);
		ASSERT_EQ(a->flags, w->flags);
		ASSERT_EQ(a->sockopts, w->sockopts);
		ASSERT_EQ(a->port, w->port);
		ASSERT_EQ(a->peer_port, w->peer_port);
		ASSERT(memcmp(a->peer, w->peer, 16) == 0);
	}
	ASSERT(find(&ahead, 20)->flags & HOP_FDF_NONBLOCK);
	ASSERT(find(&ahead, 20)->sockopts & HOP_SO_NODELAY);
	/* 21 is the new client's: its peer is c3's port */
	struct sockaddr_in p3;
	socklen_t pl = sizeof p3;
	ASSERT_EQ(getsockname(c3, (struct sockaddr *)&p3, &pl), 0);
	ASSERT_EQ(find(&ahead, 21)->peer_port, ntohs(p3.sin_port));
	hop__fds_free(&ahead);
	hop__fds_free(&whole);
	close(c1);
	close(c2);
}

TEST(connected_sockets_described_ahead)
{
	in_child(conn_ahead, NULL);
}

static void restore_missing(void *arg)
{
	(void)arg;
	struct hop_fd d;
	memset(&d, 0, sizeof d);
	d.fd = 4;
	d.kind = HOP_FD_FILE;
	d.path = "/nonexistent/hop/file.log";
	struct hop_fds f = { .v = &d, .n = 1, .origin_ptr_size = 8 };
	ASSERT_EQ(hop__fds_restore(&f, NULL), HOP_ENOENT);
	ASSERT_ERR_HAS("fd 4: file /nonexistent/hop/file.log does not exist on this machine");
}

TEST(missing_file_is_named)
{
	in_child(restore_missing, NULL);
}

int main(void)
{
	ASSERT(mkdtemp(tmpdir) != NULL);
	RUN(capture_encode_restore);
	RUN(decode_refuses_damage);
	RUN(refusals_are_named);
	RUN(connected_sockets_reach_the_relay);
	RUN(connected_sockets_described_ahead);
	RUN(missing_file_is_named);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		return 1;
	return 0;
}
