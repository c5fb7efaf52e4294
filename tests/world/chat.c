/* chat.c -- a chat server for hop, migrated between network namespaces with
 * its clients connected (tests/world/t_chat_migrate.sh).
 *
 *   chat PORT
 *
 * Every complete line a client sends goes to every client; "bye" closes the
 * sender. Its state is ordinary program state that hop carries: the list of
 * clients on the heap, each with the half-read line it holds (so a client in
 * the middle of a line at the switch finishes it on the other machine), the
 * listening socket and the epoll instance in globals (their numbers; fds.c
 * makes them mean the same things on the destination). Prints "ready" when
 * it listens and "resumed N" after each migration. Built with `hop cc`.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hop.h"

struct client {
	int fd;
	size_t len;
	char *line; /* the bytes of an incomplete line */
	struct client *next;
};

static struct client *clients;
static int lfd = -1, epfd = -1;
static long messages;

static struct client *find(int fd)
{
	for (struct client *c = clients; c; c = c->next)
		if (c->fd == fd)
			return c;
	return NULL;
}

static void drop(struct client *c)
{
	struct client **pp = &clients;
	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	fprintf(stderr, "chat: client fd %d gone\n", c->fd);
	free(c->line);
	free(c);
}

static void broadcast(const char *s, size_t n)
{
	messages++;
	for (struct client *c = clients; c; c = c->next) {
		size_t off = 0;
		while (off < n) {
			ssize_t w = send(c->fd, s + off, n - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EAGAIN) {
				usleep(500);
				continue;
			}
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
}

static void readable(struct client *c)
{
	char buf[4096];
	ssize_t n = recv(c->fd, buf, sizeof buf, 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		drop(c);
		return;
	}
	c->line = realloc(c->line, c->len + (size_t)n + 1);
	memcpy(c->line + c->len, buf, (size_t)n);
	c->len += (size_t)n;
	char *nl;
	while ((nl = memchr(c->line, '\n', c->len))) {
		size_t len = (size_t)(nl - c->line) + 1;
		if (len == 4 && memcmp(c->line, "bye\n", 4) == 0) {
			drop(c);
			return;
		}
		broadcast(c->line, len);
		memmove(c->line, c->line + len, c->len - len);
		c->len -= len;
	}
}

static void accept_all(void)
{
	int fd;
	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
		struct client *c = calloc(1, sizeof *c);
		c->fd = fd;
		c->next = clients;
		clients = c;
		struct epoll_event ev;
		memset(&ev, 0, sizeof ev);
		ev.events = EPOLLIN;
		ev.data.fd = fd;
		epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
		fprintf(stderr, "chat: client fd %d\n", fd);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (hop_init() < 0)
		fprintf(stderr, "chat: running without hop: %s\n", hop_last_error());
	if (!hop_incoming()) {
		int one = 1;
		struct sockaddr_in a;
		memset(&a, 0, sizeof a);
		a.sin_family = AF_INET;
		a.sin_port = htons((uint16_t)atoi(argv[1]));
		lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 128) < 0) {
			perror("chat: listen");
			return 1;
		}
		epfd = epoll_create1(0);
		struct epoll_event ev;
		memset(&ev, 0, sizeof ev);
		ev.events = EPOLLIN;
		ev.data.fd = lfd;
		epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
		printf("ready pid=%d\n", (int)getpid());
	}
	int seen = hop_resumed();
	for (;;) {
		HOP_POINT(loop);
		if (hop_resumed() != seen) {
			seen = hop_resumed();
			printf("resumed %d pid=%d clients=", seen, (int)getpid());
			int n = 0;
			for (struct client *c = clients; c; c = c->next)
				n++;
			printf("%d messages=%ld\n", n, messages);
		}
		struct epoll_event evs[64];
		int n = epoll_wait(epfd, evs, 64, 50);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == lfd) {
				accept_all();
				continue;
			}
			struct client *c = find(evs[i].data.fd);
			if (c)
				readable(c);
		}
	}
}
