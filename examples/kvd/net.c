/* net.c -- sockets, clients and the pieces of the event loop.
 *
 * One thread, one epoll instance, level-triggered, non-blocking sockets. A
 * readable client gets one read (16 KB, or what the bulk being read still
 * needs), and every complete request in its buffer is run. Replies
 * accumulate in the client's output buffer; before the loop sleeps, the AOF
 * is written (aof_flush) and then every client with output is written to
 * (net_before_sleep), so the answer to a write is only sent once the write
 * is in the file. A client whose socket does not take everything gets
 * EPOLLOUT until it has.
 */
#define _GNU_SOURCE /* accept4 */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "aof.h"
#include "cmd.h"
#include "proto.h"
#include "util.h"

struct kvd_server kvd;

#define READ_CHUNK (16 * 1024)

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int ep_ctl(int op, int fd, uint32_t events)
{
	struct epoll_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.fd = fd; /* the descriptor, never a pointer: see net.h */
	return epoll_ctl(kvd.epoll_fd, op, fd, &ev);
}

int net_listen(void)
{
	struct addrinfo hints, *res, *ai;
	char port[16];
	int fd = -1, one = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	snprintf(port, sizeof(port), "%d", kvd.port);
	if ((rc = getaddrinfo(kvd.bind, port, &hints, &res)) != 0) {
		kvd_log("bind address %s: %s", kvd.bind, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 511) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		kvd_log("listening on %s:%d: %s", kvd.bind, kvd.port, strerror(errno));
		return -1;
	}
	set_nonblock(fd);
	kvd.listen_fd = fd;
	kvd.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (kvd.epoll_fd < 0 || ep_ctl(EPOLL_CTL_ADD, fd, EPOLLIN) < 0) {
		kvd_log("epoll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* 1 if fd is an epoll instance (so closing it cannot close somebody else's
 * descriptor that happens to have its number on this machine). */
static int is_epoll(int fd)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return 0;
	link[n] = '\0';
	return strcmp(link, "anon_inode:[eventpoll]") == 0;
}

int net_rearm(void)
{
	int efd = epoll_create1(EPOLL_CLOEXEC);
	if (efd < 0) {
		kvd_log("epoll_create1: %s", strerror(errno));
		return -1;
	}
	if (kvd.epoll_fd >= 0 && is_epoll(kvd.epoll_fd))
		close(kvd.epoll_fd);
	kvd.epoll_fd = efd;
	if (ep_ctl(EPOLL_CTL_ADD, kvd.listen_fd, EPOLLIN) < 0)
		kvd_log("epoll add listener %d: %s", kvd.listen_fd, strerror(errno));
	for (struct kvd_client *c = kvd.clients; c; c = c->next)
		if (ep_ctl(EPOLL_CTL_ADD, c->fd, EPOLLIN | (c->want_out ? EPOLLOUT : 0)) < 0)
			kvd_log("epoll add client fd %d: %s", c->fd, strerror(errno));
	return 0;
}

/* ---- clients ------------------------------------------------------------------ */

struct kvd_client *client_new(int fd)
{
	struct kvd_client *c = kvd_calloc(1, sizeof(*c));

	c->fd = fd;
	c->id = ++kvd.next_client_id;
	c->bulk_len = -1;
	c->ctime_ms = c->atime_ms = kvd_now_ms();
	if (fd < 0)
		return c; /* the AOF loader: no socket, not in the lists */
	if (fd >= kvd.by_fd_cap) {
		int cap = kvd.by_fd_cap ? kvd.by_fd_cap : 64;
		while (cap <= fd)
			cap *= 2;
		kvd.by_fd = kvd_realloc(kvd.by_fd, (size_t)cap * sizeof(*kvd.by_fd));
		memset(kvd.by_fd + kvd.by_fd_cap, 0, (size_t)(cap - kvd.by_fd_cap) * sizeof(*kvd.by_fd));
		kvd.by_fd_cap = cap;
	}
	kvd.by_fd[fd] = c;
	c->next = kvd.clients;
	if (kvd.clients)
		kvd.clients->prev = c;
	kvd.clients = c;
	kvd.nclients++;
	return c;
}

void client_free(struct kvd_client *c)
{
	if (c->fd >= 0) {
		epoll_ctl(kvd.epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		kvd.by_fd[c->fd] = NULL;
		if (c->prev)
			c->prev->next = c->next;
		else
			kvd.clients = c->next;
		if (c->next)
			c->next->prev = c->prev;
		kvd.nclients--;
		if (c->pending) {
			struct kvd_client **pp = &kvd.pending;
			while (*pp != c)
				pp = &(*pp)->pending_next;
			*pp = c->pending_next;
		}
	}
	free(c->in);
	free(c->out);
	free(c->argv);
	free(c);
}

static void accept_clients(void)
{
	for (int i = 0; i < 100; i++) {
		int fd = accept4(kvd.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				kvd_log("accept: %s", strerror(errno));
			return;
		}
		kvd.total_connections++;
		if (kvd.nclients >= kvd.maxclients) {
			static const char msg[] = "-ERR max number of clients reached\r\n";
			ssize_t w = write(fd, msg, sizeof(msg) - 1);
			(void)w;
			close(fd);
			kvd.rejected_connections++;
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct kvd_client *c = client_new(fd);
		if (ep_ctl(EPOLL_CTL_ADD, fd, EPOLLIN) < 0) {
			kvd_log("epoll add %d: %s", fd, strerror(errno));
			client_free(c);
		}
	}
}

void client_process_input(struct kvd_client *c)
{
	struct kvd_arg small[16];
	int r;

	while (!c->closing && (r = proto_parse(c)) == 1) {
		/* argument pointers exist only while the command runs (on the stack,
		 * or a block freed right after): nothing stored points into `in` */
		struct kvd_arg *argv = c->argc <= 16 ? small : kvd_malloc(c->argc * sizeof(*argv));
		for (uint32_t i = 0; i < c->argc; i++) {
			argv[i].p = c->in + c->argv[i].off;
			argv[i].len = c->argv[i].len;
		}
		cmd_call(c, (int)c->argc, argv);
		if (argv != small)
			free(argv);
		proto_reset(c);
	}
	proto_compact(c);
	/* an idle client does not keep a large buffer */
	if (c->in_len == 0 && c->in_cap > 4 * READ_CHUNK) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
}

static void client_read(struct kvd_client *c)
{
	uint32_t want = proto_needed(c);
	ssize_t n;

	if (want < READ_CHUNK)
		want = READ_CHUNK;
	if ((uint64_t)c->in_len + want > PROTO_BULK_MAX + 2u * PROTO_INLINE_MAX) {
		kvd_log("client %llu: query buffer too large, closing", (unsigned long long)c->id);
		client_free(c);
		return;
	}
	if (c->in_len + want > c->in_cap) {
		uint64_t cap = c->in_cap ? c->in_cap : READ_CHUNK;
		while (cap < (uint64_t)c->in_len + want)
			cap *= 2;
		c->in = kvd_realloc(c->in, (size_t)cap);
		c->in_cap = (uint32_t)cap;
	}
	n = read(c->fd, c->in + c->in_len, want);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		client_free(c);
		return;
	}
	if (n == 0) {
		client_free(c);
		return;
	}
	c->in_len += (uint32_t)n;
	c->atime_ms = kvd.now_ms;
	kvd.net_in += n;
	client_process_input(c);
}

/* Write what we can; 0 if the client is still there, -1 if it was freed. */
static int client_write(struct kvd_client *c)
{
	while (c->out_pos < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_pos, c->out_len - c->out_pos, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			client_free(c);
			return -1;
		}
		c->out_pos += (uint32_t)n;
		kvd.net_out += n;
	}
	if (c->out_pos == c->out_len) {
		c->out_pos = c->out_len = 0;
		if (c->out_cap > 64 * 1024) {
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
		if (c->closing) {
			client_free(c);
			return -1;
		}
		if (c->want_out) {
			ep_ctl(EPOLL_CTL_MOD, c->fd, EPOLLIN);
			c->want_out = 0;
		}
	} else if (!c->want_out) {
		ep_ctl(EPOLL_CTL_MOD, c->fd, EPOLLIN | EPOLLOUT);
		c->want_out = 1;
	}
	return 0;
}

void net_handle(int fd, uint32_t events)
{
	struct kvd_client *c;

	if (fd == kvd.listen_fd) {
		accept_clients();
		return;
	}
	if (fd < 0 || fd >= kvd.by_fd_cap || !(c = kvd.by_fd[fd]))
		return;
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		client_read(c);
	/* client_read may have freed it */
	if ((events & EPOLLOUT) && fd < kvd.by_fd_cap && kvd.by_fd[fd] == c)
		client_write(c);
}

/* Idle clients give their buffers back: a few clients per tick, from a
 * cursor over the descriptor table, so ten thousand idle connections cost
 * little memory (and little to move). Idle means silent for a second: a
 * busy client's buffers freed between two requests would be allocated
 * again at once (a block freed and allocated per request, which a
 * migration's delta then carries as dropped and new blocks). */
void net_cron(void)
{
	for (int i = 0; i < 32 && kvd.by_fd_cap > 0; i++) {
		int fd = kvd.free_cursor++ % kvd.by_fd_cap;
		struct kvd_client *c = kvd.by_fd[fd];
		if (kvd.free_cursor >= kvd.by_fd_cap)
			kvd.free_cursor = 0;
		if (!c || kvd.now_ms - c->atime_ms < 1000)
			continue;
		if (c->in && c->in_len == 0 && c->req_type == REQ_NONE) {
			free(c->in);
			c->in = NULL;
			c->in_cap = c->in_len = c->in_pos = c->cmd_start = 0;
		}
		if (c->out && c->out_pos == c->out_len && !c->pending) {
			free(c->out);
			c->out = NULL;
			c->out_cap = c->out_len = c->out_pos = 0;
		}
	}
}

void net_before_sleep(void)
{
	aof_flush();
	while (kvd.pending) {
		struct kvd_client *c = kvd.pending;
		kvd.pending = c->pending_next;
		c->pending = 0;
		c->pending_next = NULL;
		if (c->closing == 2) {
			client_free(c);
			continue;
		}
		client_write(c);
	}
}
