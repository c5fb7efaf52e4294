/* wire.c -- frames on a connection (see wire.h), and two transports:
 * a file descriptor with poll(2) timeouts, and an in-memory pair for tests.
 *
 * The decoder never trusts the peer: the header is checked (magic, version,
 * length against the caller's bound) before a byte is allocated, the payload
 * against its CRC before anyone parses it. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "err.h"
#include "fault.h"
#include "bg.h"
#include "wire.h"

static const struct {
	const char *name;
	int type;
} frame_names[] = {
#define HOP__FT_NAME(name, val) { #name, val },
	HOP_FRAME_TYPES(HOP__FT_NAME)
#undef HOP__FT_NAME
};
#define NFRAME_NAMES (sizeof(frame_names) / sizeof(frame_names[0]))

const char *hop__frame_name(int type)
{
	for (size_t i = 0; i < NFRAME_NAMES; i++)
		if (frame_names[i].type == type)
			return frame_names[i].name;
	return "?";
}

int hop__frame_by_name(const char *name)
{
	for (size_t i = 0; i < NFRAME_NAMES; i++)
		if (strcmp(frame_names[i].name, name) == 0)
			return frame_names[i].type;
	return -1;
}

uint64_t hop__now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int hop__trace_on(void)
{
	static int on = -1;
	if (on < 0) {
		const char *e = getenv("HOP_TRACE");
		on = e && *e && strcmp(e, "0") != 0;
	}
	return on;
}

void hop__trace(const char *side, const char *step)
{
	static uint64_t last;
	uint64_t now = hop__now_us();

	if (!last)
		last = now;
	char b[32];
	const char *note = hop__trace_on() ? hop__sched_note(b, sizeof(b)) : NULL;
	if (hop__trace_on())
		fprintf(stderr, "hop: [%s] %-8s done, %6llu us (at %llu.%06llu)%s%s\n", side, step,
			(unsigned long long)(now - last), (unsigned long long)(now / 1000000u),
			(unsigned long long)(now % 1000000u), note ? ", at " : "", note ? note : "");
	last = now;
}

int hop__wire_timeout_ms(void)
{
	const char *e = getenv("HOP_TIMEOUT_MS");
	int v = e ? atoi(e) : 0;
	return v > 0 ? v : 10000;
}

/* ---- fd transport --------------------------------------------------------- */

static int fd_wait(struct hop_conn *c, short ev, const char *what)
{
	struct pollfd p = { .fd = c->fd, .events = ev };
	for (;;) {
		int r = poll(&p, 1, c->timeout_ms > 0 ? c->timeout_ms : -1);
		if (r > 0)
			return 0;
		if (r == 0)
			return hop__fail(HOP_ETIMEDOUT, "%s: %s: peer silent for %d ms", c->side, what, c->timeout_ms);
		if (errno != EINTR)
			return hop__sysfail("%s: poll", c->side);
	}
}

static int fd_writev(struct hop_conn *c, const struct iovec *iov_in, int n)
{
	struct iovec iov[8];
	if (n > 8)
		return hop__fail(HOP_EINVAL, "fd_writev: %d pieces", n);
	memcpy(iov, iov_in, sizeof(iov[0]) * (size_t)n);
	int i = 0;
	while (i < n) {
		if (c->fd < 0)
			return hop__fail(HOP_ECLOSED, "%s: link is cut", c->side);
		struct msghdr mh = { .msg_iov = iov + i, .msg_iovlen = (size_t)(n - i) };
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == ENOTSOCK)
			w = writev(c->fd, iov + i, n - i);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (c->idle && c->idle(c->idle_ctx))
					continue;
				int rc = fd_wait(c, POLLOUT, "send");
				if (rc < 0)
					return rc;
				continue;
			}
			if (errno == EPIPE || errno == ECONNRESET)
				return hop__fail(HOP_ECLOSED, "%s: send: connection closed by peer", c->side);
			return hop__sysfail("%s: send", c->side);
		}
		size_t left = (size_t)w;
		while (i < n && left >= iov[i].iov_len)
			left -= iov[i++].iov_len;
		if (i < n) {
			iov[i].iov_base = (char *)iov[i].iov_base + left;
			iov[i].iov_len -= left;
		}
	}
	return 0;
}

static int fd_read(struct hop_conn *c, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		if (c->fd < 0)
			return hop__fail(HOP_ECLOSED, "%s: link is cut", c->side);
		ssize_t r = recv(c->fd, p + got, len - got, MSG_DONTWAIT);
		if (r < 0 && errno == ENOTSOCK)
			r = read(c->fd, p + got, len - got);
		if (r == 0)
			return hop__fail(HOP_ECLOSED, "%s: connection closed by peer%s", c->side,
					 got ? " in the middle of a frame" : "");
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (c->idle && c->idle(c->idle_ctx))
					continue;
				int rc = fd_wait(c, POLLIN, "receive");
				if (rc < 0)
					return rc;
				continue;
			}
			if (errno == ECONNRESET)
				return hop__fail(HOP_ECLOSED, "%s: connection reset by peer", c->side);
			return hop__sysfail("%s: receive", c->side);
		}
		got += (size_t)r;
	}
	return 0;
}

static void fd_close(struct hop_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static const struct hop_conn_ops fd_ops = { fd_writev, fd_read, fd_close };

void hop__conn_fd(struct hop_conn *c, int fd, int timeout_ms, const char *side)
{
	memset(c, 0, sizeof(*c));
	c->ops = &fd_ops;
	c->fd = fd;
	/* a frame leaves in one sendmsg; small ones back to back (PHASE_ACK then
	 * READY) must not wait for the peer's delayed ACK (40 ms) under Nagle's
	 * rule. Not a TCP socket (a pipe, the control socket): ignored. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->timeout_ms = timeout_ms;
	c->side = side;
}

/* ---- memory transport ------------------------------------------------------ */

struct hop_mem_pipe {
	uint8_t *data;
	size_t len, cap, pos;
	int closed; /* writer went away */
	int refs;
};

static int mem_writev(struct hop_conn *c, const struct iovec *iov, int n)
{
	struct hop_mem_pipe *p = c->out;
	if (!p || p->refs < 2)
		return hop__fail(HOP_ECLOSED, "%s: memory link closed", c->side ? c->side : "mem");
	for (int i = 0; i < n; i++) {
		if (p->len + iov[i].iov_len > p->cap) {
			size_t cap = p->cap ? p->cap : 4096;
			while (cap < p->len + iov[i].iov_len)
				cap *= 2;
			uint8_t *d = realloc(p->data, cap);
			if (!d)
				return hop__fail(HOP_ENOMEM, "memory link: %zu bytes", cap);
			p->data = d;
			p->cap = cap;
		}
		memcpy(p->data + p->len, iov[i].iov_base, iov[i].iov_len);
		p->len += iov[i].iov_len;
	}
	return 0;
}

static int mem_read(struct hop_conn *c, void *buf, size_t len)
{
	struct hop_mem_pipe *p = c->in;
	if (!p)
		return hop__fail(HOP_ECLOSED, "%s: memory link closed", c->side ? c->side : "mem");
	if (p->len - p->pos < len) {
		if (p->closed || p->refs < 2)
			return hop__fail(HOP_ECLOSED, "%s: connection closed by peer", c->side ? c->side : "mem");
		return hop__fail(HOP_ETIMEDOUT, "%s: nothing to read (memory link)", c->side ? c->side : "mem");
	}
	if (len) /* an empty payload: buf may be NULL (found by tests/fuzz/fuzz_wire.c) */
		memcpy(buf, p->data + p->pos, len);
	p->pos += len;
	return 0;
}

static void pipe_unref(struct hop_mem_pipe *p)
{
	if (p && --p->refs == 0) {
		free(p->data);
		free(p);
	}
}

static void mem_close(struct hop_conn *c)
{
	if (c->out)
		c->out->closed = 1;
	pipe_unref(c->in);
	pipe_unref(c->out);
	c->in = c->out = NULL;
}

static const struct hop_conn_ops mem_ops = { mem_writev, mem_read, mem_close };

int hop__conn_mem_pair(struct hop_conn *a, struct hop_conn *b)
{
	struct hop_mem_pipe *ab = calloc(1, sizeof(*ab)), *ba = calloc(1, sizeof(*ba));
	if (!ab || !ba) {
		free(ab);
		free(ba);
		return hop__fail(HOP_ENOMEM, "memory link");
	}
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	ab->refs = ba->refs = 2;
	a->ops = b->ops = &mem_ops;
	a->fd = b->fd = -1;
	a->out = b->in = ab;
	a->in = b->out = ba;
	a->side = "a";
	b->side = "b";
	return 0;
}

void hop__conn_close(struct hop_conn *c)
{
	if (c->ops)
		c->ops->close(c);
	c->ops = NULL;
	free(c->buf);
	c->buf = NULL;
	c->cap = 0;
}

void hop__conn_cut(struct hop_conn *c)
{
	if (c->ops == &fd_ops && c->fd >= 0) {
		shutdown(c->fd, SHUT_RDWR);
		close(c->fd);
		c->fd = -1;
	} else if (c->ops == &mem_ops) {
		mem_close(c);
	}
}

/* ---- frames ------------------------------------------------------------------ */

void hop__frame_header(uint8_t out[HOP_FRAME_HEADER], int type, uint16_t flags, uint32_t len, uint32_t crc)
{
	hop__put32(out, HOP_WIRE_MAGIC);
	out[4] = HOP_WIRE_VERSION;
	out[5] = (uint8_t)type;
	hop__put16(out + 6, flags);
	hop__put32(out + 8, len);
	hop__put32(out + 12, crc);
}

int hop__frame_parse_header(const uint8_t in[HOP_FRAME_HEADER], struct hop_frame *f, uint32_t *crc,
			    uint32_t max)
{
	uint32_t magic = hop__get32(in);
	if (magic != HOP_WIRE_MAGIC)
		return hop__fail(HOP_EPROTO, "frame: bad magic 0x%08x (not a hop peer?)", magic);
	if (in[4] != HOP_WIRE_VERSION)
		return hop__fail(HOP_EPROTO, "frame: wire version %u, this hop speaks %u", in[4], HOP_WIRE_VERSION);
	f->type = in[5];
	f->flags = hop__get16(in + 6);
	f->len = hop__get32(in + 8);
	*crc = hop__get32(in + 12);
	if (max > HOP_FRAME_MAX)
		max = HOP_FRAME_MAX;
	if (f->len > max)
		return hop__fail(HOP_EPROTO, "frame %s: payload of %u bytes exceeds the bound %u",
				 hop__frame_name(f->type), f->len, max);
	return 0;
}

int hop__frame_sendv(struct hop_conn *c, int type, uint16_t flags, const struct iovec *iov, int n)
{
	uint8_t hdr[HOP_FRAME_HEADER];
	struct iovec all[8];
	uint32_t crc = 0;
	size_t len = 0;

	if (!c->ops)
		return hop__fail(HOP_ECLOSED, "%s: no link", c->side ? c->side : "?");
	if (n > 7)
		return hop__fail(HOP_EINVAL, "frame_sendv: %d pieces", n);
	for (int i = 0; i < n; i++) {
		crc = hop__crc32(crc, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
		all[i + 1] = iov[i];
	}
	if (len > HOP_FRAME_MAX)
		return hop__fail(HOP_EINVAL, "frame %s: %zu bytes is over the limit", hop__frame_name(type), len);
	hop__frame_header(hdr, type, flags, (uint32_t)len, crc);
	all[0].iov_base = hdr;
	all[0].iov_len = sizeof(hdr);
	int rc = c->ops->writev(c, all, n + 1);
	if (rc < 0)
		return rc;
	c->bytes_out += sizeof(hdr) + len;
	if (hop__faults_on && hop__fault_frame(c, 's', type))
		return hop__fail(HOP_ECLOSED, "%s: link cut by fault point after sending %s", c->side,
				 hop__frame_name(type));
	return 0;
}

int hop__frame_send(struct hop_conn *c, int type, uint16_t flags, const void *payload, size_t len)
{
	struct iovec iov = { (void *)payload, len };
	return hop__frame_sendv(c, type, flags, &iov, len ? 1 : 0);
}

int hop__frame_recv(struct hop_conn *c, struct hop_frame *f, uint32_t max)
{
	uint8_t hdr[HOP_FRAME_HEADER];
	uint32_t crc;
	int rc;

	if (!c->ops)
		return hop__fail(HOP_ECLOSED, "%s: no link", c->side ? c->side : "?");
	rc = c->ops->read(c, hdr, sizeof(hdr));
	if (rc < 0)
		return rc;
	rc = hop__frame_parse_header(hdr, f, &crc, max);
	if (rc < 0)
		return rc;
	if (f->len > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		while (cap < f->len)
			cap *= 2;
		uint8_t *b = malloc(cap);
		if (!b)
			return hop__fail(HOP_ENOMEM, "%s: frame of %u bytes", c->side, f->len);
		free(c->buf);
		c->buf = b;
		c->cap = cap;
	}
	rc = c->ops->read(c, c->buf, f->len);
	if (rc < 0)
		return rc;
	if (hop__crc32(0, c->buf, f->len) != crc)
		return hop__fail(HOP_EFORMAT, "%s: frame %s of %u bytes: CRC mismatch", c->side,
				 hop__frame_name(f->type), f->len);
	f->payload = c->buf ? c->buf : (const uint8_t *)""; /* never NULL, even when empty (fuzz_wire) */
	c->bytes_in += sizeof(hdr) + f->len;
	if (hop__faults_on && hop__fault_frame(c, 'r', f->type))
		return hop__fail(HOP_ECLOSED, "%s: link cut by fault point after receiving %s", c->side,
				 hop__frame_name(f->type));
	return 0;
}

int hop__frame_expect(struct hop_conn *c, int type, struct hop_frame *f, uint32_t max)
{
	int rc = hop__frame_recv(c, f, max < 1100 ? 1100 : max);
	if (rc < 0)
		return rc;
	if (f->type == HOP_F_ERROR && type != HOP_F_ERROR) {
		struct hop_rd r;
		hop__rd_init(&r, f->payload, f->len);
		int code = (int32_t)hop__rd32(&r);
		size_t n = hop__rd_left(&r);
		const uint8_t *m = hop__rd_take(&r, n);
		if (code >= 0 || code <= HOP__ERR_LAST)
			code = HOP_EABORTED;
		return hop__fail(code, "peer reports: %.*s", (int)n, m ? (const char *)m : "");
	}
	if (f->type != type)
		return hop__fail(HOP_EPROTO, "%s: expected frame %s, got %s", c->side, hop__frame_name(type),
				 hop__frame_name(f->type));
	if (f->len > max)
		return hop__fail(HOP_EPROTO, "%s: frame %s: %u bytes exceeds the bound %u", c->side,
				 hop__frame_name(type), f->len, max);
	return 0;
}

void hop__send_error(struct hop_conn *c, int code, const char *msg)
{
	uint8_t b[4];
	size_t n = strlen(msg);
	if (n > 1000)
		n = 1000;
	hop__put32(b, (uint32_t)code);
	struct iovec iov[2] = { { b, 4 }, { (void *)msg, n } };
	int saved_to = c->timeout_ms;
	c->timeout_ms = 1000; /* the peer may be the one that stalled */
	char keep[1024];
	snprintf(keep, sizeof(keep), "%s", hop_last_error());
	if (hop__frame_sendv(c, HOP_F_ERROR, 0, iov, 2) < 0) /* the reported error stays the last one */
		memcpy((char *)hop_last_error(), keep, strlen(keep) + 1);
	c->timeout_ms = saved_to;
}
