/* proto.c -- RESP2, the protocol Redis clients speak.
 *
 * Requests are arrays of bulk strings ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") or
 * inline lines ("GET k\r\n", what telnet and redis-benchmark's PING_INLINE
 * send). The parser is resumable: a request that arrived in part keeps its
 * progress in the client (offsets of the arguments read so far, how many are
 * still due, the length of the bulk being read), so a large request is read
 * once however many reads deliver it, and many pipelined requests in one read
 * are run one after the other. All lengths are bounded before they are trusted.
 *
 * Replies are appended to the client's output buffer, which the loop writes
 * out before it sleeps (after the AOF has been written, see net.c).
 */
#include "proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* ---- requests ---------------------------------------------------------------- */

static void add_arg(struct kvd_client *c, uint32_t off, uint32_t len)
{
	if (c->argc == c->argv_cap) {
		c->argv_cap = c->argv_cap ? c->argv_cap * 2 : 8;
		c->argv = kvd_realloc(c->argv, (size_t)c->argv_cap * sizeof(*c->argv));
	}
	c->argv[c->argc].off = off;
	c->argv[c->argc].len = len;
	c->argc++;
}

static int proto_error(struct kvd_client *c, const char *what)
{
	reply_error(c, "ERR Protocol error: %s", what);
	c->closing = 1;
	return -1;
}

/* The "\r\n"-terminated line at in_pos: *end is the offset of its '\r'.
 * 1 found, 0 not yet, -1 too long. */
static int find_line(struct kvd_client *c, uint32_t *end)
{
	const char *p = c->in + c->in_pos;
	uint32_t avail = c->in_len - c->in_pos;
	const char *cr = memchr(p, '\r', avail);

	if (!cr || (uint32_t)(cr - p) + 1 >= avail)
		return avail > PROTO_INLINE_MAX ? -1 : 0;
	*end = c->in_pos + (uint32_t)(cr - p);
	return 1;
}

static int parse_inline(struct kvd_client *c)
{
	const char *p = c->in + c->in_pos;
	uint32_t avail = c->in_len - c->in_pos, end, i;
	const char *nl = memchr(p, '\n', avail);

	if (!nl)
		return avail > PROTO_INLINE_MAX ? proto_error(c, "too big inline request") : 0;
	end = c->in_pos + (uint32_t)(nl - p);
	c->in_pos = end + 1;
	if (end > c->cmd_start && c->in[end - 1] == '\r')
		end--;
	for (i = c->cmd_start; i < end;) {
		while (i < end && (c->in[i] == ' ' || c->in[i] == '\t'))
			i++;
		if (i == end)
			break;
		uint32_t start = i;
		while (i < end && c->in[i] != ' ' && c->in[i] != '\t')
			i++;
		add_arg(c, start, i - start);
	}
	return 1;
}

static int parse_multibulk(struct kvd_client *c)
{
	uint32_t end;
	int64_t n;
	int r;

	if (c->mb_left == 0) {
		/* "*<count>\r\n" */
		if ((r = find_line(c, &end)) <= 0)
			return r < 0 ? proto_error(c, "too big mbulk count string") : 0;
		if (!kvd_str2ll(c->in + c->in_pos + 1, end - c->in_pos - 1, &n) || n > PROTO_MBULK_MAX)
			return proto_error(c, "invalid multibulk length");
		c->in_pos = end + 2;
		if (n <= 0)
			return 1; /* an empty request: the caller skips it */
		c->mb_left = n;
		c->bulk_len = -1;
	}
	while (c->mb_left > 0) {
		if (c->bulk_len < 0) {
			/* "$<len>\r\n" */
			if ((r = find_line(c, &end)) <= 0)
				return r < 0 ? proto_error(c, "too big bulk count string") : 0;
			if (c->in[c->in_pos] != '$') {
				char what[40];
				snprintf(what, sizeof(what), "expected '$', got '%c'", c->in[c->in_pos]);
				return proto_error(c, what);
			}
			if (!kvd_str2ll(c->in + c->in_pos + 1, end - c->in_pos - 1, &n) || n < 0 ||
			    n > PROTO_BULK_MAX)
				return proto_error(c, "invalid bulk length");
			c->in_pos = end + 2;
			c->bulk_len = n;
		}
		if ((int64_t)(c->in_len - c->in_pos) < c->bulk_len + 2)
			return 0;
		add_arg(c, c->in_pos, (uint32_t)c->bulk_len);
		c->in_pos += (uint32_t)c->bulk_len + 2;
		c->bulk_len = -1;
		c->mb_left--;
	}
	return 1;
}

int proto_parse(struct kvd_client *c)
{
	int r;

	for (;;) {
		if (c->req_type == REQ_NONE) {
			if (c->in_pos >= c->in_len)
				return 0;
			c->req_type = c->in[c->in_pos] == '*' ? REQ_MULTIBULK : REQ_INLINE;
			c->cmd_start = c->in_pos;
			c->argc = 0;
			c->mb_left = 0;
			c->bulk_len = -1;
		}
		r = c->req_type == REQ_MULTIBULK ? parse_multibulk(c) : parse_inline(c);
		if (r <= 0)
			return r;
		if (c->argc > 0)
			return 1;
		proto_reset(c); /* empty line or "*0": nothing to run */
	}
}

void proto_reset(struct kvd_client *c)
{
	c->req_type = REQ_NONE;
	c->argc = 0;
	c->mb_left = 0;
	c->bulk_len = -1;
	c->cmd_start = c->in_pos;
}

uint32_t proto_needed(const struct kvd_client *c)
{
	if (c->req_type == REQ_MULTIBULK && c->bulk_len >= 0) {
		int64_t have = (int64_t)(c->in_len - c->in_pos);
		if (c->bulk_len + 2 > have)
			return (uint32_t)(c->bulk_len + 2 - have);
	}
	return 0;
}

void proto_compact(struct kvd_client *c)
{
	uint32_t shift = c->req_type == REQ_NONE ? c->in_pos : c->cmd_start;

	if (shift == 0)
		return;
	if (shift < c->in_len)
		memmove(c->in, c->in + shift, c->in_len - shift);
	c->in_len -= shift;
	c->in_pos -= shift;
	c->cmd_start -= shift;
	for (uint32_t i = 0; i < c->argc; i++)
		c->argv[i].off -= shift;
}

/* ---- replies ---------------------------------------------------------------- */

void reply_raw(struct kvd_client *c, const char *p, uint32_t len)
{
	if (c->fd < 0 || c->closing == 2)
		return; /* the AOF loader, or a client being dropped */
	if (c->out_pos == c->out_len)
		c->out_pos = c->out_len = 0;
	if ((uint64_t)c->out_len + len > PROTO_OUT_MAX) {
		kvd_log("client %llu: output over %u bytes, closing", (unsigned long long)c->id, PROTO_OUT_MAX);
		c->closing = 2;
		return;
	}
	if (c->out_len + len > c->out_cap) {
		if (c->out_pos > 0) {
			memmove(c->out, c->out + c->out_pos, c->out_len - c->out_pos);
			c->out_len -= c->out_pos;
			c->out_pos = 0;
		}
		if (c->out_len + len > c->out_cap) {
			uint64_t cap = c->out_cap ? c->out_cap : 1024;
			while (cap < (uint64_t)c->out_len + len)
				cap *= 2;
			if (cap > PROTO_OUT_MAX)
				cap = PROTO_OUT_MAX;
			c->out = kvd_realloc(c->out, (size_t)cap);
			c->out_cap = (uint32_t)cap;
		}
	}
	memcpy(c->out + c->out_len, p, len);
	c->out_len += len;
	if (!c->pending) {
		c->pending = 1;
		c->pending_next = kvd.pending;
		kvd.pending = c;
	}
}

void reply_status(struct kvd_client *c, const char *s)
{
	reply_raw(c, "+", 1);
	reply_raw(c, s, (uint32_t)strlen(s));
	reply_raw(c, "\r\n", 2);
}

void reply_error(struct kvd_client *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	c->errors++;
	buf[0] = '-';
	va_start(ap, fmt);
	n = vsnprintf(buf + 1, sizeof(buf) - 3, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(buf) - 4)
		n = (int)sizeof(buf) - 4;
	/* an error is one line: newlines from a quoted argument become spaces */
	for (int i = 1; i <= n; i++)
		if (buf[i] == '\r' || buf[i] == '\n')
			buf[i] = ' ';
	memcpy(buf + 1 + n, "\r\n", 2);
	reply_raw(c, buf, (uint32_t)n + 3);
}

static void reply_prefixed(struct kvd_client *c, char prefix, int64_t v)
{
	char buf[32];
	size_t n;
	buf[0] = prefix;
	n = 1 + kvd_ll2str(buf + 1, v);
	buf[n++] = '\r';
	buf[n++] = '\n';
	reply_raw(c, buf, (uint32_t)n);
}

void reply_int(struct kvd_client *c, int64_t v)
{
	reply_prefixed(c, ':', v);
}

void reply_bulk(struct kvd_client *c, const char *p, uint32_t len)
{
	reply_prefixed(c, '$', len);
	reply_raw(c, p, len);
	reply_raw(c, "\r\n", 2);
}

void reply_cstr(struct kvd_client *c, const char *s)
{
	reply_bulk(c, s, (uint32_t)strlen(s));
}

void reply_nil(struct kvd_client *c)
{
	reply_raw(c, "$-1\r\n", 5);
}

void reply_array(struct kvd_client *c, int64_t n)
{
	reply_prefixed(c, '*', n);
}
