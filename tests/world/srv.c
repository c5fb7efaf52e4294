/* srv.c -- a chat server that hands itself off with fds.c and the relay.
 *
 * Until `hop migrate` moves whole programs, this fixture exercises the
 * outside-world half of a migration on its own: its "memory" (which client
 * has which half-read line) is tiny and written to a file by hand, while its
 * descriptors travel the real way -- hop__fds_capture at the freeze, the
 * client and listening sockets handed to the relay (tests/world/relay_drv.c)
 * with SCM_RIGHTS, the encoded table rebuilt by hop__fds_restore in another
 * network namespace, possibly by a build for another CPU under qemu.
 *
 *   srv serve PORT DIR IP listen on PORT; on SIGUSR1 hand off into DIR (the
 *                         relay listens at IP, the origin's address), exit
 *   srv resume DIR        rebuild the table from DIR and carry on serving
 *
 * Chat: every complete line a client sends is sent to every client. A line
 * "bye" closes the sender. The server logs events on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "bytes.h"
#include "err.h"
#include "fds.h"

#define MAXFD 4096
static char *partial[MAXFD]; /* the half-read line of each client */
static size_t plen[MAXFD];
static int is_client[MAXFD];
static int lfd = -1, epfd = -1;
static volatile sig_atomic_t handoff;
static const char *dir, *origin_ip;

static void die(const char *what)
{
	fprintf(stderr, "srv: %s: %s (%s)\n", what, hop_last_error(), strerror(errno));
	exit(1);
}

static void drop(int fd)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	is_client[fd] = 0;
	free(partial[fd]);
	partial[fd] = NULL;
	plen[fd] = 0;
	fprintf(stderr, "srv: client fd %d gone\n", fd);
}

static void broadcast(const char *line, size_t n)
{
	for (int fd = 0; fd < MAXFD; fd++) {
		if (!is_client[fd])
			continue;
		/* blocking-enough for a test: the clients read promptly */
		size_t off = 0;
		while (off < n) {
			ssize_t w = send(fd, line + off, n - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EAGAIN) {
				usleep(1000);
				continue;
			}
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
}

static void readable(int fd)
{
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof buf, 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		drop(fd);
		return;
	}
	partial[fd] = realloc(partial[fd], plen[fd] + (size_t)n + 1);
	memcpy(partial[fd] + plen[fd], buf, (size_t)n);
	plen[fd] += (size_t)n;
	char *nl;
	while (partial[fd] && (nl = memchr(partial[fd], '\n', plen[fd]))) {
		size_t len = (size_t)(nl - partial[fd]) + 1;
		if (len == 4 && memcmp(partial[fd], "bye\n", 4) == 0) {
			drop(fd);
			return;
		}
		broadcast(partial[fd], len);
		memmove(partial[fd], partial[fd] + len, plen[fd] - len);
		plen[fd] -= len;
	}
}

static void on_usr1(int sig)
{
	(void)sig;
	handoff = 1;
}

/* The freeze: describe the table, give the sockets to the relay (the
 * hand-off of fds.h, as the runtime does it), write the little state this
 * program has, and never run again. */
static void do_handoff(void)
{
	char path[512];
	struct hop_fds f;
	uint8_t oaddr[16] = { 0 };
	int rl;
	if (hop__fds_capture(&f) < 0)
		die("capture");
	inet_pton(AF_INET, origin_ip, oaddr);
	if (hop__fds_relay_open_addr(4, oaddr, &f.relay, &rl) < 0)
		die("relay socket");
	uint8_t *buf;
	size_t len;
	if (hop__fds_encode(&f, &buf, &len) < 0)
		die("encode");
	snprintf(path, sizeof path, "%s/table.tmp", dir);
	FILE *t = fopen(path, "w");
	fwrite(buf, 1, len, t);
	fclose(t);

	snprintf(path, sizeof path, "%s/relay.sock", dir);
	int u = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof sun.sun_path, "%.100s", path);
	if (connect(u, (struct sockaddr *)&sun, sizeof sun) < 0)
		die("connecting to the relay");
	if (hop__fds_handoff_send(u, &f, rl) < 0)
		die("hand-off");
	close(u);

	snprintf(path, sizeof path, "%s/state", dir);
	FILE *s = fopen(path, "w");
	fprintf(s, "%d %d\n", lfd, epfd);
	for (int fd = 0; fd < MAXFD; fd++) {
		if (!is_client[fd])
			continue;
		fprintf(s, "%d %zu ", fd, plen[fd]);
		for (size_t j = 0; j < plen[fd]; j++)
			fprintf(s, "%02x", (unsigned char)partial[fd][j]);
		fprintf(s, "\n");
	}
	fclose(s);
	char from[600];
	snprintf(from, sizeof from, "%s/table.tmp", dir);
	snprintf(path, sizeof path, "%s/table", dir);
	rename(from, path); /* the destination waits for this name */
	fprintf(stderr, "srv: handed off %u descriptors\n", f.n);
	exit(0);
}

static void resume(void)
{
	char path[512];
	static uint8_t buf[1 << 20];
	struct hop_fds f;
	snprintf(path, sizeof path, "%s/table", dir);
	FILE *t = fopen(path, "r");
	if (!t)
		die("opening the table");
	size_t len = fread(buf, 1, sizeof buf, t);
	fclose(t);
	if (hop__fds_decode(buf, len, &f) < 0)
		die("decode");
	if (hop__fds_restore(&f, NULL) < 0)
		die("restore");
	snprintf(path, sizeof path, "%s/state", dir);
	FILE *s = fopen(path, "r");
	if (!s || fscanf(s, "%d %d", &lfd, &epfd) != 2)
		die("reading the state");
	int fd;
	size_t n;
	while (fscanf(s, "%d %zu", &fd, &n) == 2 && fd >= 0 && fd < MAXFD) {
		is_client[fd] = 1;
		partial[fd] = malloc(n + 1);
		plen[fd] = n;
		char hx[3] = "";
		if (n && fscanf(s, " ") < 0)
			break;
		for (size_t j = 0; j < n; j++) {
			if (fread(hx, 1, 2, s) != 2)
				die("state");
			partial[fd][j] = (char)strtoul(hx, NULL, 16);
		}
	}
	fclose(s);
	fprintf(stderr, "srv: resumed with %u descriptors\n", f.n);
	hop__fds_free(&f);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	syscall(SYS_close_range, 3u, ~0u, 0u);
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[1], "serve") == 0 && argc == 5) {
		dir = argv[3];
		origin_ip = argv[4];
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_usr1;
		sigaction(SIGUSR1, &sa, NULL);
		lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		int one = 1;
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
		if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 128) < 0)
			die("listen");
		epfd = epoll_create1(0);
		struct epoll_event ev = { .events = EPOLLIN };
		ev.data.u64 = 0;
		ev.data.fd = lfd;
		epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
	} else if (strcmp(argv[1], "resume") == 0) {
		dir = argv[2];
		resume();
	} else {
		return 2;
	}
	fprintf(stderr, "srv: serving\n");
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(epfd, evs, 64, 50);
		if (handoff)
			do_handoff();
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd) {
				int c;
				while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					if (c >= MAXFD) {
						close(c);
						continue;
					}
					struct epoll_event ev = { .events = EPOLLIN };
					ev.data.u64 = 0;
					ev.data.fd = c;
					epoll_ctl(epfd, EPOLL_CTL_ADD, c, &ev);
					is_client[c] = 1;
					fprintf(stderr, "srv: client fd %d\n", c);
				}
			} else if (fd >= 0 && fd < MAXFD && is_client[fd]) {
				readable(fd);
			}
		}
	}
}
