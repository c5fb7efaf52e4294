/* aof.c -- append-only persistence: every write command, in RESP, to DIR/kvd.aof.
 *
 * The file is what the clients would have sent, the same bytes Redis writes
 * in its own AOF: an array of bulk strings per command. Commands that depend
 * on the time they run are written in absolute form (SET ... PXAT t,
 * PEXPIREAT), and keys removed by expiry are written as DEL, so replaying the
 * file at start-up rebuilds the same keyspace. While replaying, nothing
 * expires: a key whose deadline passed while the server was down is reclaimed
 * after loading, exactly as if it had expired then (see db.c).
 *
 * Writes are queued in kvd.aof_buf and written by aof_flush() before the loop
 * sends replies, so a client never sees an OK for a write that is not at
 * least in the kernel; --fsync always also syncs it before the reply,
 * everysec syncs once a second (at most a second lost in a power cut), no
 * leaves it to the kernel. A torn last command (a crash in the middle of a
 * write) is cut off at start-up with a warning.
 */
#include "aof.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "db.h"
#include "net.h"
#include "proto.h"

#define AOF_NAME "kvd.aof"

static char *aof_path(void)
{
	size_t n = strlen(kvd.dir) + sizeof(AOF_NAME) + 2;
	char *p = kvd_malloc(n);
	snprintf(p, n, "%s/%s", kvd.dir, AOF_NAME);
	return p;
}

/* Run the commands of the file through the same parser and command code the
 * clients use, with a client that has no socket (its replies go nowhere). */
static int replay(const char *path, int fd)
{
	struct kvd_client *c = client_new(-1);
	int64_t base = 0;   /* file offset of c->in[0] */
	int64_t good = 0;   /* file offset after the last complete command */
	int64_t ncmd = 0;
	int rc = 0;
	struct kvd_arg small[16];

	kvd_db.loading = 1;
	for (;;) {
		if (c->in_cap - c->in_len < 65536) {
			c->in_cap = c->in_cap ? c->in_cap * 2 : 65536 * 2;
			c->in = kvd_realloc(c->in, c->in_cap);
		}
		ssize_t n = read(fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			kvd_log("reading %s: %s", path, strerror(errno));
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		c->in_len += (uint32_t)n;
		int r;
		while ((r = proto_parse(c)) == 1) {
			struct kvd_arg *argv = c->argc <= 16 ? small : kvd_malloc(c->argc * sizeof(*argv));
			for (uint32_t i = 0; i < c->argc; i++) {
				argv[i].p = c->in + c->argv[i].off;
				argv[i].len = c->argv[i].len;
			}
			cmd_call(c, (int)c->argc, argv);
			if (argv != small)
				free(argv);
			proto_reset(c);
			good = base + c->in_pos;
			ncmd++;
		}
		if (r < 0) {
			kvd_log("%s: bad data at offset %" PRId64 "; fix or move the file away", path, good);
			rc = -1;
			break;
		}
		uint32_t before = c->in_len;
		proto_compact(c);
		base += before - c->in_len;
	}
	kvd_db.loading = 0;
	if (rc == 0) {
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_size > good) {
			kvd_log("%s: last command incomplete (torn write?), cutting %" PRId64 " bytes",
				path, (int64_t)st.st_size - good);
			if (ftruncate(fd, (off_t)good) < 0) {
				kvd_log("truncating %s: %s", path, strerror(errno));
				rc = -1;
			}
		}
		kvd_log("AOF loaded: %" PRId64 " commands, %" PRIu64 " keys (%" PRId64 " commands failed)", ncmd,
			db_size(), c->errors);
	}
	client_free(c);
	return rc;
}

int aof_start(void)
{
	char *path;
	int fd, rc = 0;
	struct stat st;

	kvd.aof_fd = -1;
	if (!kvd.dir)
		return 0;
	if (mkdir(kvd.dir, 0755) < 0 && errno != EEXIST) {
		kvd_log("creating %s: %s", kvd.dir, strerror(errno));
		return -1;
	}
	path = aof_path();
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		rc = replay(path, fd);
		close(fd);
	} else if (errno != ENOENT) {
		kvd_log("opening %s: %s", path, strerror(errno));
		rc = -1;
	}
	if (rc == 0) {
		kvd.aof_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (kvd.aof_fd < 0) {
			kvd_log("opening %s: %s", path, strerror(errno));
			rc = -1;
		} else if (fstat(kvd.aof_fd, &st) == 0) {
			kvd.aof_size = (int64_t)st.st_size;
		}
	}
	kvd.aof_last_fsync_ms = kvd_now_ms();
	free(path);
	return rc;
}

static void buf_add(const char *p, uint32_t len)
{
	if ((uint64_t)kvd.aof_len + len > kvd.aof_cap) {
		uint64_t cap = kvd.aof_cap ? kvd.aof_cap : 4096;
		while (cap < (uint64_t)kvd.aof_len + len)
			cap *= 2;
		if (cap > UINT32_MAX) {
			/* four gigabytes the disk would not take: stop rather than lose them silently */
			kvd_log("AOF buffer over 4 GB: the disk is not keeping up; stopping");
			abort();
		}
		kvd.aof_buf = kvd_realloc(kvd.aof_buf, (size_t)cap);
		kvd.aof_cap = (uint32_t)cap;
	}
	memcpy(kvd.aof_buf + kvd.aof_len, p, len);
	kvd.aof_len += len;
}

static void buf_header(char kind, int64_t n)
{
	char b[32];
	size_t len;
	b[0] = kind;
	len = 1 + kvd_ll2str(b + 1, n);
	b[len++] = '\r';
	b[len++] = '\n';
	buf_add(b, (uint32_t)len);
}

void aof_feed(int argc, const struct kvd_arg *argv)
{
	if (kvd.aof_fd < 0 || kvd_db.loading)
		return;
	buf_header('*', argc);
	for (int i = 0; i < argc; i++) {
		buf_header('$', argv[i].len);
		buf_add(argv[i].p, argv[i].len);
		buf_add("\r\n", 2);
	}
}

void aof_feed_del(const char *key, uint32_t len)
{
	struct kvd_arg argv[2] = { { "DEL", 3 }, { key, len } };
	aof_feed(2, argv);
}

static void sync_now(int64_t now)
{
	if (fdatasync(kvd.aof_fd) < 0)
		kvd_log("fdatasync AOF: %s", strerror(errno));
	kvd.aof_dirty = 0;
	kvd.aof_last_fsync_ms = now;
}

void aof_flush(void)
{
	uint32_t done = 0;
	int64_t now;

	if (kvd.aof_fd < 0)
		return;
	while (done < kvd.aof_len) {
		ssize_t n = write(kvd.aof_fd, kvd.aof_buf + done, kvd.aof_len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* disk full or an I/O error: keep the rest and try on the next tick */
			static int64_t last_log;
			if (kvd.now_ms - last_log > 1000)
				kvd_log("writing AOF: %s (will retry)", n < 0 ? strerror(errno) : "short write");
			last_log = kvd.now_ms;
			break;
		}
		done += (uint32_t)n;
	}
	if (done) {
		memmove(kvd.aof_buf, kvd.aof_buf + done, kvd.aof_len - done);
		kvd.aof_len -= done;
		kvd.aof_size += done;
		kvd.aof_dirty = 1;
	}
	if (kvd.aof_len == 0 && kvd.aof_cap > 1024 * 1024) {
		free(kvd.aof_buf);
		kvd.aof_buf = NULL;
		kvd.aof_cap = 0;
	}
	if (!kvd.aof_dirty)
		return;
	now = kvd_now_ms();
	if (kvd.fsync_policy == FSYNC_ALWAYS ||
	    (kvd.fsync_policy == FSYNC_EVERYSEC && now - kvd.aof_last_fsync_ms >= 1000))
		sync_now(now);
}

void aof_close(void)
{
	if (kvd.aof_fd < 0)
		return;
	aof_flush();
	if (kvd.aof_dirty && kvd.fsync_policy != FSYNC_NO)
		sync_now(kvd_now_ms());
	close(kvd.aof_fd);
	kvd.aof_fd = -1;
}
