/* relay.c -- `hop migrate` after COMMIT: relay the clients, forward the rest.
 *
 * Why this exists: a TCP connection lives in the origin's kernel and cannot
 * move. So the origin keeps it: `hop migrate` holds a copy of every client
 * socket the program had (passed at the freeze), and the destination program
 * holds, under the same descriptor number, a connection to this relay. Bytes
 * go client <-> relay <-> destination. Nothing is lost or duplicated: what
 * the client sent and the origin program had not read is still in the
 * origin kernel's receive queue of the socket we hold, and is relayed first;
 * what the program wrote and the kernel had not sent is still in that
 * socket's send queue and leaves from there.
 *
 * New connections keep working the same way: we hold the origin's listening
 * sockets, accept on them and forward each connection to the same port at
 * the destination (a plain TCP proxy) until forwarding ends -- after
 * --forward-for seconds or on SIGUSR1/SIGTERM/SIGINT -- so clients move to
 * the new address at their own pace.
 *
 * One thread, one epoll, non-blocking sockets, a bounded pipe per direction
 * (splice: bytes go socket -> pipe -> socket inside the kernel). A direction that reaches end-of-file is passed on with
 * shutdown(SHUT_WR) once its buffer is empty; a pair closes when both
 * directions have ended or either side fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h> /* sodium_memcmp: the key check is constant-time */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "err.h"
#include "relay.h"

#define BUF_SIZE (64 * 1024)

/* ---- the hand-off from the origin's runtime ------------------------------------- */

/* Read exactly len bytes; descriptors that come with them go to fds (up to
 * max; any more are closed). Returns 0 or a negative HOP_E*. */
static int recv_fds(int sock, uint8_t *buf, size_t len, int *fds, int max, int *nfds)
{
	size_t got = 0;
	*nfds = 0;
	while (got < len) {
		union {
			char b[CMSG_SPACE(sizeof(int) * HOP_FDS_BATCH)];
			struct cmsghdr align;
		} u;
		struct iovec iov = { buf + got, len - got };
		struct msghdr m;
		memset(&m, 0, sizeof m);
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = u.b;
		m.msg_controllen = sizeof u.b;
		ssize_t n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return hop__fail(HOP_ECLOSED, "relay: the origin closed the control socket during the hand-off");
		if (n < 0)
			return hop__sysfail("relay: receiving the hand-off");
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			int *in = (int *)CMSG_DATA(c);
			for (int i = 0; i < k; i++) {
				if (*nfds < max)
					fds[(*nfds)++] = in[i];
				else
					close(in[i]);
			}
		}
		if (m.msg_flags & MSG_CTRUNC)
			return hop__fail(HOP_EPROTO, "relay: descriptors lost in the hand-off (truncated)");
		got += (size_t)n;
	}
	return 0;
}

void relay_handoff_close(struct relay_handoff *h)
{
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	for (int i = 0; i < h->nclients; i++)
		close(h->clients[i].sock);
	for (int i = 0; i < h->nlisteners; i++)
		close(h->listeners[i].sock);
	free(h->clients);
	free(h->listeners);
	memset(h, 0, sizeof *h);
	h->listen_fd = -1;
}

int relay_handoff_recv(int sock, struct relay_handoff *h)
{
	uint8_t hdr[HOP_FDS_HANDOFF_HDR];
	int fds[HOP_FDS_BATCH], nfds;
	memset(h, 0, sizeof *h);
	h->listen_fd = -1;
	int rc = recv_fds(sock, hdr, sizeof hdr, fds, 1, &nfds);
	if (rc < 0)
		return rc;
	if (nfds == 1)
		h->listen_fd = fds[0];
	uint32_t n = hop__get32(hdr + 6);
	if (hop__get32(hdr) != HOP_FDS_HANDOFF_MAGIC || hop__get16(hdr + 4) != 1 || nfds != 1 || n > HOP_FDS_MAX_COUNT) {
		relay_handoff_close(h);
		return hop__fail(HOP_EPROTO, "relay: malformed hand-off header (%u descriptors)", n);
	}
	memcpy(h->key, hdr + 10, 16);
	h->clients = calloc(n ? n : 1, sizeof *h->clients);
	h->listeners = calloc(n ? n : 1, sizeof *h->listeners);
	if (!h->clients || !h->listeners) {
		relay_handoff_close(h);
		return hop__fail(HOP_ENOMEM, "relay: hand-off of %u descriptors", n);
	}
	while (n) {
		uint32_t k = n < HOP_FDS_BATCH ? n : HOP_FDS_BATCH;
		uint8_t rec[HOP_FDS_BATCH * HOP_FDS_REC];
		rc = recv_fds(sock, rec, (size_t)k * HOP_FDS_REC, fds, HOP_FDS_BATCH, &nfds);
		if (rc == 0 && (uint32_t)nfds != k)
			rc = hop__fail(HOP_EPROTO, "relay: a batch of %u records came with %d descriptors", k, nfds);
		if (rc < 0) {
			for (int i = 0; i < nfds; i++)
				close(fds[i]);
			relay_handoff_close(h);
			return rc;
		}
		for (uint32_t i = 0; i < k; i++) {
			const uint8_t *r = rec + HOP_FDS_REC * i;
			if (r[4] == HOP_FD_CONN)
				h->clients[h->nclients++] = (struct relay_client){ (int)hop__get32(r), fds[i] };
			else if (r[4] == HOP_FD_LISTEN)
				h->listeners[h->nlisteners++] = (struct relay_listener){ fds[i], hop__get16(r + 5) };
			else
				close(fds[i]);
		}
		n -= k;
	}
	return 0;
}

/* ---- endpoints and pairs ---------------------------------------------------- */

enum ep_role { EP_CLIENT, EP_DEST, EP_PENDING, EP_LISTENER, EP_RELAY_LISTEN, EP_CONNECTING, EP_DEAD };

struct pair;

struct endpoint {
	int fd;
	enum ep_role role;
	struct pair *pair;     /* CLIENT, DEST, CONNECTING */
	/* PENDING: the hello read so far */
	uint8_t hello[HOP_FDS_HELLO_LEN];
	size_t hello_len;
	/* LISTENER */
	uint16_t port;
	/* CLIENT of a relayed (not forwarded) connection: the fd number */
	int fd_number;
	uint32_t events;       /* registered with epoll */
	struct endpoint *next_dead; /* freed after the current batch of events */
};

/* A direction: bytes read from `from`, waiting to be written to `to`:
 * in a pipe (splice(2): the bytes never enter user space), or in buf when
 * no pipe could be had (descriptor limit). */
struct dir {
	int pipe[2];
	uint8_t *buf;
	size_t len, off;
	int eof;      /* `from` reached end-of-file */
	int shut;     /* shutdown(to, SHUT_WR) done */
};

struct pair {
	struct endpoint *a, *b; /* a: client side, b: destination side */
	struct dir ab, ba;
	int forwarded;
	int closed;
};

struct relay {
	const struct relay_opts *o;
	int ep;
	struct relay_stats *st;
	struct endpoint **clients; /* unpaired relayed clients, by index */
	int nclients;
	int live_pairs;
	int unpaired;
	struct endpoint **listeners;
	int nlisteners;
	int forwarding;
	/* closed endpoints and pairs may still appear later in the batch of
	 * events being handled: they are freed only after it */
	struct endpoint *dead;
	struct pair **dead_pairs;
	size_t ndead_pairs, cap_dead_pairs;
};

static int ep_set(struct relay *r, struct endpoint *e, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = e };
	int op = e->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	if (events == 0 && e->events == 0)
		return 0;
	if (events == 0)
		op = EPOLL_CTL_DEL;
	if (epoll_ctl(r->ep, op, e->fd, &ev) < 0)
		return hop__sysfail("relay: epoll_ctl fd %d", e->fd);
	e->events = events;
	return 0;
}

static struct endpoint *ep_new(int fd, enum ep_role role)
{
	struct endpoint *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->fd = fd;
	e->role = role;
	e->fd_number = -1;
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	return e;
}

static void ep_close(struct relay *r, struct endpoint *e)
{
	if (!e || e->role == EP_DEAD)
		return;
	if (e->events)
		epoll_ctl(r->ep, EPOLL_CTL_DEL, e->fd, NULL);
	close(e->fd);
	e->role = EP_DEAD;
	e->pair = NULL;
	e->next_dead = r->dead;
	r->dead = e;
}

static void pair_close(struct relay *r, struct pair *p)
{
	if (!p)
		return;
	ep_close(r, p->a);
	ep_close(r, p->b);
	for (int i = 0; i < 2; i++) {
		if (p->ab.pipe[i] >= 0)
			close(p->ab.pipe[i]);
		if (p->ba.pipe[i] >= 0)
			close(p->ba.pipe[i]);
		p->ab.pipe[i] = p->ba.pipe[i] = -1;
	}
	free(p->ab.buf);
	free(p->ba.buf);
	p->ab.buf = p->ba.buf = NULL;
	p->closed = 1;
	if (r->ndead_pairs == r->cap_dead_pairs) {
		size_t cap = r->cap_dead_pairs ? 2 * r->cap_dead_pairs : 64;
		struct pair **v = realloc(r->dead_pairs, cap * sizeof *v);
		if (!v) {
			free(p); /* cannot defer: nothing points at it but the batch */
			r->live_pairs--;
			return;
		}
		r->dead_pairs = v;
		r->cap_dead_pairs = cap;
	}
	r->dead_pairs[r->ndead_pairs++] = p;
	r->live_pairs--;
}

static void bury(struct relay *r)
{
	while (r->dead) {
		struct endpoint *e = r->dead;
		r->dead = e->next_dead;
		free(e);
	}
	for (size_t i = 0; i < r->ndead_pairs; i++)
		free(r->dead_pairs[i]);
	r->ndead_pairs = 0;
}

static struct pair *pair_new(struct relay *r, struct endpoint *a, struct endpoint *b, int forwarded)
{
	struct pair *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	struct dir *d[2] = { &p->ab, &p->ba };
	for (int i = 0; i < 2; i++) {
		if (pipe2(d[i]->pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
			fcntl(d[i]->pipe[1], F_SETPIPE_SZ, BUF_SIZE);
			continue;
		}
		d[i]->pipe[0] = d[i]->pipe[1] = -1;
		d[i]->buf = malloc(BUF_SIZE);
		if (!d[i]->buf) {
			for (int j = 0; j <= i; j++) {
				if (d[j]->pipe[0] >= 0) {
					close(d[j]->pipe[0]);
					close(d[j]->pipe[1]);
				}
				free(d[j]->buf);
			}
			free(p);
			return NULL;
		}
	}
	p->a = a;
	p->b = b;
	p->forwarded = forwarded;
	a->pair = b->pair = p;
	r->live_pairs++;
	return p;
}

/* What each side of a pair waits for, from the state of both directions. */
static int pair_arm(struct relay *r, struct pair *p)
{
	uint32_t ea = 0, eb = 0;
	if (!p->ab.eof && p->ab.len == 0)
		ea |= EPOLLIN;
	if (!p->ba.eof && p->ba.len == 0)
		eb |= EPOLLIN;
	if (p->ab.len)
		eb |= EPOLLOUT;
	if (p->ba.len)
		ea |= EPOLLOUT;
	if (ep_set(r, p->a, ea) < 0 || ep_set(r, p->b, eb) < 0)
		return -1;
	return 0;
}

/* Move bytes one way as far as the sockets allow. Returns -1 when the pair
 * must close (an error on either side). */
static int pump(struct relay *r, struct endpoint *from, struct endpoint *to, struct dir *d, uint64_t *count)
{
	for (;;) {
		if (d->len && d->pipe[0] >= 0) {
			ssize_t w = splice(d->pipe[0], NULL, to->fd, NULL, d->len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return 0;
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
			d->len -= (size_t)w;
			*count += (uint64_t)w;
			continue;
		}
		if (d->len) {
			ssize_t w = send(to->fd, d->buf + d->off, d->len, MSG_NOSIGNAL);
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return 0;
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
			d->off += (size_t)w;
			d->len -= (size_t)w;
			*count += (uint64_t)w;
			if (d->len)
				continue;
			d->off = 0;
		}
		if (d->eof) {
			if (!d->shut) {
				shutdown(to->fd, SHUT_WR);
				d->shut = 1;
			}
			return 0;
		}
		ssize_t n = d->pipe[1] >= 0
				    ? splice(from->fd, NULL, d->pipe[1], NULL, BUF_SIZE, SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
				    : recv(from->fd, d->buf, BUF_SIZE, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			d->eof = 1;
			continue;
		}
		d->len = (size_t)n;
	}
	(void)r;
}

static void pair_run(struct relay *r, struct pair *p)
{
	if (!p || p->closed)
		return;
	if (pump(r, p->a, p->b, &p->ab, &r->st->bytes_to_dest) < 0 ||
	    pump(r, p->b, p->a, &p->ba, &r->st->bytes_to_client) < 0 || (p->ab.shut && p->ba.shut) ||
	    pair_arm(r, p) < 0) {
		pair_close(r, p);
	}
}

/* ---- the destination's connections ---------------------------------------------- */

static void pending_read(struct relay *r, struct endpoint *e)
{
	for (;;) {
		ssize_t n = recv(e->fd, e->hello + e->hello_len, HOP_FDS_HELLO_LEN - e->hello_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			ep_close(r, e);
			return;
		}
		e->hello_len += (size_t)n;
		if (e->hello_len == HOP_FDS_HELLO_LEN)
			break;
	}
	/* "HOPR", version, fd, key: the key proves the connection comes from
	 * the destination of this migration */
	uint32_t magic = hop__get32(e->hello);
	int32_t fd = (int32_t)hop__get32(e->hello + 6);
	if (magic != HOP_FDS_HELLO_MAGIC || sodium_memcmp(e->hello + 10, r->o->key, 16) != 0) {
		if (r->o->verbose)
			fprintf(stderr, "hop migrate: relay: refused a connection with a bad hello\n");
		ep_close(r, e);
		return;
	}
	for (int i = 0; i < r->nclients; i++) {
		struct endpoint *c = r->clients[i];
		if (!c || c->fd_number != fd)
			continue;
		r->clients[i] = NULL;
		r->unpaired--;
		ep_set(r, e, 0);
		e->role = EP_DEST;
		struct pair *p = pair_new(r, c, e, 0);
		if (!p) {
			ep_close(r, c);
			ep_close(r, e);
			return;
		}
		r->st->relayed++;
		pair_run(r, p);
		return;
	}
	if (r->o->verbose)
		fprintf(stderr, "hop migrate: relay: the destination claimed fd %d, which is no client\n", fd);
	ep_close(r, e);
}

static void relay_accept(struct relay *r, struct endpoint *l)
{
	for (;;) {
		int s = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (s < 0)
			return;
		int one = 1;
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct endpoint *e = ep_new(s, EP_PENDING);
		if (!e || ep_set(r, e, EPOLLIN) < 0) {
			close(s);
			free(e);
			continue;
		}
	}
}

/* ---- forwarding new connections ------------------------------------------------- */

static void forward_accept(struct relay *r, struct endpoint *l)
{
	for (;;) {
		int c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			return;
		struct sockaddr_storage ss = r->o->dest;
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = htons(l->port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(l->port);
		int d = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (d < 0) {
			close(c);
			continue;
		}
		int one = 1;
		setsockopt(d, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(d, (struct sockaddr *)&ss, r->o->dest_len) < 0 && errno != EINPROGRESS) {
			close(c);
			close(d);
			continue;
		}
		struct endpoint *a = ep_new(c, EP_CLIENT), *b = ep_new(d, EP_CONNECTING);
		struct pair *p = a && b ? pair_new(r, a, b, 1) : NULL;
		if (!p) {
			free(a);
			free(b);
			close(c);
			close(d);
			continue;
		}
		r->st->forwarded++;
		/* wait for the connect to finish before relaying */
		if (ep_set(r, b, EPOLLOUT) < 0)
			pair_close(r, p);
	}
}

static void connecting_done(struct relay *r, struct endpoint *b)
{
	int err = 0;
	socklen_t el = sizeof err;
	getsockopt(b->fd, SOL_SOCKET, SO_ERROR, &err, &el);
	if (err) {
		if (r->o->verbose)
			fprintf(stderr, "hop migrate: forwarding to the destination failed: %s\n", strerror(err));
		pair_close(r, b->pair);
		return;
	}
	b->role = EP_DEST;
	pair_run(r, b->pair);
}

static void stop_forwarding(struct relay *r)
{
	if (!r->forwarding)
		return;
	r->forwarding = 0;
	for (int i = 0; i < r->nlisteners; i++) {
		ep_close(r, r->listeners[i]);
		r->listeners[i] = NULL;
	}
	if (r->o->verbose)
		fprintf(stderr, "hop migrate: forwarding of new connections ended\n");
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int relay_run(const struct relay_opts *o, struct relay_client *clients, int nclients,
	      struct relay_listener *listeners, int nlisteners, struct relay_stats *st)
{
	struct relay r;
	memset(&r, 0, sizeof r);
	memset(st, 0, sizeof *st);
	r.o = o;
	r.st = st;
	if (sodium_init() < 0)
		return hop__fail(HOP_ESYS, "relay: libsodium failed to initialise");
	/* two sockets and two pipes per connection: take all the descriptors
	 * we may (without pipes a pair falls back to copying through a buffer) */
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	r.ep = epoll_create1(EPOLL_CLOEXEC);
	if (r.ep < 0)
		return hop__sysfail("relay: epoll_create1");
	r.clients = calloc((size_t)nclients + 1, sizeof *r.clients);
	r.listeners = calloc((size_t)nlisteners + 1, sizeof *r.listeners);
	struct endpoint *rl = ep_new(o->listen_fd, EP_RELAY_LISTEN);
	if (!r.clients || !r.listeners || !rl || ep_set(&r, rl, EPOLLIN) < 0) {
		close(r.ep);
		return hop__fail(HOP_ENOMEM, "relay: setting up");
	}
	/* Relayed clients are not read until the destination claims them:
	 * their bytes wait in the kernel, in order. */
	for (int i = 0; i < nclients; i++) {
		r.clients[i] = ep_new(clients[i].sock, EP_CLIENT);
		if (!r.clients[i])
			return hop__fail(HOP_ENOMEM, "relay: client %d", i);
		r.clients[i]->fd_number = clients[i].fd_number;
	}
	r.nclients = r.unpaired = nclients;
	for (int i = 0; i < nlisteners; i++) {
		r.listeners[i] = ep_new(listeners[i].sock, EP_LISTENER);
		if (!r.listeners[i] || ep_set(&r, r.listeners[i], EPOLLIN) < 0)
			return hop__fail(HOP_ENOMEM, "relay: listener %d", i);
		r.listeners[i]->port = listeners[i].port;
	}
	r.nlisteners = nlisteners;
	r.forwarding = nlisteners > 0;
	long long start = now_ms();
	long long fwd_end = o->forward_for_s < 0 ? -1 : start + (long long)o->forward_for_s * 1000;
	long long pair_end = start + (o->pair_timeout_ms > 0 ? o->pair_timeout_ms : 10000);

	for (;;) {
		long long t = now_ms();
		if (o->stop_all && *o->stop_all)
			break;
		if (r.forwarding && ((fwd_end >= 0 && t >= fwd_end) || (o->stop_forwarding && *o->stop_forwarding)))
			stop_forwarding(&r);
		if (r.unpaired && t >= pair_end) {
			for (int i = 0; i < r.nclients; i++)
				if (r.clients[i]) {
					if (o->verbose)
						fprintf(stderr, "hop migrate: relay: the destination never claimed fd %d; closing it\n",
							r.clients[i]->fd_number);
					ep_close(&r, r.clients[i]);
					r.clients[i] = NULL;
					st->unpaired++;
				}
			r.unpaired = 0;
		}
		if (!r.forwarding && r.unpaired == 0 && r.live_pairs == 0)
			break;
		int wait = 200;
		struct epoll_event evs[64];
		int n = epoll_wait(r.ep, evs, 64, wait);
		if (n < 0 && errno != EINTR) {
			close(r.ep);
			return hop__sysfail("relay: epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			struct endpoint *e = evs[i].data.ptr;
			switch (e->role) {
			case EP_RELAY_LISTEN: relay_accept(&r, e); break;
			case EP_LISTENER: forward_accept(&r, e); break;
			case EP_PENDING: pending_read(&r, e); break;
			case EP_CONNECTING: connecting_done(&r, e); break;
			case EP_CLIENT:
			case EP_DEST: pair_run(&r, e->pair); break;
			case EP_DEAD: break; /* closed earlier in this batch */
			}
		}
		bury(&r);
	}
	ep_close(&r, rl);
	for (int i = 0; i < r.nlisteners; i++)
		ep_close(&r, r.listeners[i]);
	for (int i = 0; i < r.nclients; i++)
		ep_close(&r, r.clients[i]);
	bury(&r);
	free(r.dead_pairs);
	free(r.clients);
	free(r.listeners);
	close(r.ep);
	return 0;
}

/* ---- `hop migrate` after COMMIT ------------------------------------------------------ */

static volatile sig_atomic_t sig_stop_fwd, sig_stop_all;
static void on_usr1(int s)
{
	(void)s;
	sig_stop_fwd = 1;
}
static void on_term(int s)
{
	(void)s;
	sig_stop_all = 1;
}

void relay_after_commit(struct relay_handoff *h, const struct relay_cfg *cfg)
{
	if (h->nclients == 0 && h->nlisteners == 0) {
		relay_handoff_close(h);
		return;
	}
	fflush(NULL);
	if (!cfg->foreground) {
		pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "hop migrate: cannot start the relay (%s): the clients lose their connections\n",
				strerror(errno));
			relay_handoff_close(h);
			return;
		}
		if (pid > 0) {
			if (cfg->pid_file) {
				FILE *f = fopen(cfg->pid_file, "w");
				if (f) {
					fprintf(f, "%ld\n", (long)pid);
					fclose(f);
				}
			}
			fprintf(stderr,
				"hop migrate: relaying %d connected clients and forwarding %d listening sockets in process %ld "
				"(stop forwarding: hop migrate --stop-forwarding %ld)\n",
				h->nclients, h->nlisteners, (long)pid, (long)pid);
			relay_handoff_close(h); /* the child has them */
			return;
		}
		setsid();
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			if (nul > 2)
				close(nul);
		}
	} else if (cfg->pid_file) {
		FILE *f = fopen(cfg->pid_file, "w");
		if (f) {
			fprintf(f, "%ld\n", (long)getpid());
			fclose(f);
		}
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct relay_opts o;
	memset(&o, 0, sizeof o);
	o.listen_fd = h->listen_fd;
	memcpy(o.key, h->key, 16);
	o.dest = cfg->dest;
	o.dest_len = cfg->dest_len;
	o.forward_for_s = cfg->forward_for_s;
	o.stop_forwarding = &sig_stop_fwd;
	o.stop_all = &sig_stop_all;
	o.verbose = 1;
	struct relay_stats st;
	int rc = relay_run(&o, h->clients, h->nclients, h->listeners, h->nlisteners, &st);
	if (rc < 0)
		fprintf(stderr, "hop migrate: relay: %s\n", hop_last_error());
	fprintf(stderr,
		"hop migrate: relay done: %llu clients relayed (%llu never claimed), %llu connections forwarded, "
		"%llu bytes to the destination, %llu to clients\n",
		(unsigned long long)st.relayed, (unsigned long long)st.unpaired, (unsigned long long)st.forwarded,
		(unsigned long long)st.bytes_to_dest, (unsigned long long)st.bytes_to_client);
	free(h->clients);
	free(h->listeners);
	memset(h, 0, sizeof *h);
	if (!cfg->foreground)
		_exit(rc < 0 ? 1 : 0);
}

int relay_stop_forwarding(long pid)
{
	if (pid <= 0 || kill((pid_t)pid, SIGUSR1) < 0) {
		fprintf(stderr, "hop migrate: --stop-forwarding %ld: %s\n", pid, pid <= 0 ? "not a PID" : strerror(errno));
		return 1;
	}
	return 0;
}
