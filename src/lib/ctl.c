/* ctl.c -- the control socket and the agent thread (see ctl.h).
 *
 * The agent sleeps in accept(2); the program does not notice it. A peer is
 * served only if the kernel says (SO_PEERCRED) it runs as our user or root,
 * and the socket lives in a directory only our user can enter. Two requests:
 * CTL_STATUS (a few lines of text) and CTL_MIGRATE (a TCP connection passed
 * with SCM_RIGHTS, already authenticated by `hop migrate`, plus parameters).
 * A migration runs in a worker thread so that `hop status` keeps answering.
 */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bytes.h"
#include "ctl.h"
#include "err.h"
#include "fds.h"
#include "heap.h"
#include "index.h"
#include "thread.h"
#include "track.h"

#define CTL_MAX_REQUEST 256

const char *hop__phase_name(int phase)
{
	static const char *const names[] = { "idle", "connecting", "bulk copy", "delta rounds",
					     "frozen (switching)", "committing", "receiving" };
	return phase >= 0 && phase <= HOP_PH_INCOMING ? names[phase] : "?";
}

/* ---- encodings ------------------------------------------------------------------ */

void hop__params_encode(const struct hop_mig_params *p, uint8_t out[HOP_MIG_PARAMS_LEN])
{
	hop__put32(out, p->max_downtime_us);
	hop__put32(out + 4, p->max_rounds);
	hop__put64(out + 8, p->max_bytes);
	hop__put32(out + 16, p->flags);
	hop__put32(out + 20, p->timeout_ms);
}

int hop__params_decode(const uint8_t *in, size_t len, struct hop_mig_params *p)
{
	if (len != HOP_MIG_PARAMS_LEN)
		return hop__fail(HOP_EPROTO, "migrate parameters: %zu bytes, want %d", len, HOP_MIG_PARAMS_LEN);
	p->max_downtime_us = hop__get32(in);
	p->max_rounds = hop__get32(in + 4);
	p->max_bytes = hop__get64(in + 8);
	p->flags = hop__get32(in + 16);
	p->timeout_ms = hop__get32(in + 20);
	if (p->max_rounds > 100000 || p->timeout_ms > 3600000)
		return hop__fail(HOP_EINVAL, "migrate parameters out of range");
	return 0;
}

void hop__progress_encode(const struct hop_progress *p, uint8_t out[HOP_PROGRESS_LEN])
{
	out[0] = p->phase;
	hop__put32(out + 1, p->round);
	hop__put64(out + 5, p->bytes);
	hop__put64(out + 13, p->dirty_bytes);
	hop__put64(out + 21, p->dirty_rate);
	hop__put64(out + 29, p->throughput);
	hop__put64(out + 37, p->est_pause_us);
	hop__put32(out + 45, 0);
}

int hop__progress_decode(const uint8_t *in, size_t len, struct hop_progress *p)
{
	if (len != HOP_PROGRESS_LEN)
		return hop__fail(HOP_EPROTO, "progress: %zu bytes", len);
	p->phase = in[0];
	p->round = hop__get32(in + 1);
	p->bytes = hop__get64(in + 5);
	p->dirty_bytes = hop__get64(in + 13);
	p->dirty_rate = hop__get64(in + 21);
	p->throughput = hop__get64(in + 29);
	p->est_pause_us = hop__get64(in + 37);
	return 0;
}

size_t hop__result_encode(const struct hop_mig_result *r, uint8_t out[600])
{
	size_t n = strnlen(r->error, sizeof(r->error) - 1);
	out[0] = (uint8_t)r->committed;
	out[1] = (uint8_t)r->forced;
	hop__put32(out + 2, (uint32_t)r->err);
	hop__put64(out + 6, r->downtime_us);
	hop__put64(out + 14, r->total_ms);
	hop__put32(out + 22, r->rounds);
	hop__put64(out + 26, r->bytes);
	memcpy(out + 34, r->error, n);
	return 34 + n;
}

int hop__result_decode(const uint8_t *in, size_t len, struct hop_mig_result *r)
{
	if (len < 34 || len > 600)
		return hop__fail(HOP_EPROTO, "result: %zu bytes", len);
	memset(r, 0, sizeof(*r));
	r->committed = in[0] != 0;
	r->forced = in[1] != 0;
	r->err = (int32_t)hop__get32(in + 2);
	r->downtime_us = hop__get64(in + 6);
	r->total_ms = hop__get64(in + 14);
	r->rounds = hop__get32(in + 22);
	r->bytes = hop__get64(in + 26);
	size_t n = len - 34 < sizeof(r->error) - 1 ? len - 34 : sizeof(r->error) - 1;
	memcpy(r->error, in + 34, n);
	r->error[n] = '\0';
	for (size_t i = 0; i < n; i++) /* it will be printed: keep it to text */
		if ((unsigned char)r->error[i] < 0x20 || r->error[i] == 0x7f)
			r->error[i] = ' ';
	return 0;
}

/* ---- where the socket lives ---------------------------------------------------- */

int hop__ctl_dir(char *buf, size_t n)
{
	const char *env = getenv("HOP_RUN_DIR");
	struct stat st;
	int w = env && *env ? snprintf(buf, n, "%s", env) : snprintf(buf, n, "/tmp/hop-%u", (unsigned)getuid());

	if (w < 0 || (size_t)w >= n)
		return hop__fail(HOP_EINVAL, "control directory name too long");
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return hop__sysfail("control directory %s: mkdir", buf);
	if (lstat(buf, &st) < 0)
		return hop__sysfail("control directory %s", buf);
	if (!S_ISDIR(st.st_mode))
		return hop__fail(HOP_EINVAL, "control directory %s is not a directory", buf);
	if (st.st_uid != getuid())
		return hop__fail(HOP_EINVAL, "control directory %s belongs to uid %u, not us (%u)", buf,
				 (unsigned)st.st_uid, (unsigned)getuid());
	if (st.st_mode & 077)
		return hop__fail(HOP_EINVAL, "control directory %s has mode %03o: others may enter it (want 0700)",
				 buf, (unsigned)(st.st_mode & 0777));
	return 0;
}

int hop__ctl_path(pid_t pid, char *buf, size_t n)
{
	char dir[200];
	int rc = hop__ctl_dir(dir, sizeof(dir));
	if (rc < 0)
		return rc;
	int w = snprintf(buf, n, "%s/%d.sock", dir, (int)pid);
	if (w < 0 || (size_t)w >= n || (size_t)w >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return hop__fail(HOP_EINVAL, "control socket path too long: %s/%d.sock", dir, (int)pid);
	return 0;
}

static int peer_allowed(int fd, pid_t want_pid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return hop__sysfail("control socket: SO_PEERCRED");
	if (cr.uid != getuid() && cr.uid != 0)
		return hop__fail(HOP_EAUTH, "control socket: peer uid %u is neither us (%u) nor root",
				 (unsigned)cr.uid, (unsigned)getuid());
	if (want_pid > 0 && cr.pid != want_pid)
		return hop__fail(HOP_EAUTH, "control socket: answered by pid %d, not %d (stale socket?)",
				 (int)cr.pid, (int)want_pid);
	return 0;
}

/* ---- tool side ------------------------------------------------------------------- */

int hop__ctl_connect(pid_t pid, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int rc = hop__ctl_path(pid, sa.sun_path, sizeof(sa.sun_path));
	if (rc < 0)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hop__sysfail("socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = errno == ENOENT || errno == ECONNREFUSED
			     ? hop__fail(HOP_ENOENT, "process %d runs no hop runtime (no control socket %s)", (int)pid,
					 sa.sun_path)
			     : hop__sysfail("connect %s", sa.sun_path);
		close(fd);
		return rc;
	}
	rc = peer_allowed(fd, pid);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

int hop__ctl_send_fd(int sock, int type, const void *payload, size_t len, int fd)
{
	uint8_t hdr[HOP_FRAME_HEADER];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	hop__frame_header(hdr, type, 0, (uint32_t)len, hop__crc32(0, payload, len));
	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	ssize_t w;
	do
		w = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return hop__sysfail("control socket: send");
	if ((size_t)w != sizeof(hdr) + len)
		return hop__fail(HOP_ESYS, "control socket: short send");
	return 0;
}

/* ---- agent ------------------------------------------------------------------------- */

static int listen_fd = -1;
static char sock_path[108];
static pthread_mutex_t mig_mu = PTHREAD_MUTEX_INITIALIZER;
static int mig_busy;

struct worker {
	int ctl_fd; /* to `hop migrate` */
	int tcp_fd; /* to the destination */
	struct hop_mig_params params;
};

static void send_progress(void *ctx, const struct hop_progress *p)
{
	struct hop_conn *c = ctx;
	uint8_t b[HOP_PROGRESS_LEN];
	hop__progress_encode(p, b);
	/* best effort: a vanished `hop migrate` does not stop the migration */
	if (c->fd >= 0 && hop__frame_send(c, HOP_F_CTL_PROGRESS, 0, b, sizeof(b)) < 0)
		hop__conn_cut(c);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct hop_conn ctl;
	struct hop_mig_result res;
	uint8_t b[600];

	hop__heap_runtime_thread(1);
	hop__conn_fd(&ctl, w->ctl_fd, 2000, "control");
	hop__fds_session(w->ctl_fd, w->tcp_fd); /* hop's own; the hand-off goes to ctl_fd (fds.c) */
	int rc = hop__out_run(w->tcp_fd, &w->params, send_progress, &ctl, &res);
	hop__fds_session(-1, -1);
	snprintf(hop__status.last, sizeof(hop__status.last), "%s%s%s", res.committed ? "committed" : "aborted",
		 res.error[0] ? ": " : "", res.error);
	if (ctl.fd >= 0)
		hop__frame_send(&ctl, HOP_F_CTL_RESULT, 0, b, hop__result_encode(&res, b));
	if (rc == 0) { /* committed (a failure stopped them in out.c) */
		hop__track_stop();
		hop__heap_log(0);
	}
	hop__conn_close(&ctl);
	free(w);
	pthread_mutex_lock(&mig_mu);
	mig_busy = 0;
	pthread_mutex_unlock(&mig_mu);
	if (rc == 0) /* committed: the program thread may now end the process */
		hop__park_release(1);
	return NULL;
}

static void reply_status(struct hop_conn *c)
{
	char txt[2048];
	const struct hop_index *idx;
	intptr_t bias;
	size_t blocks = 0, bytes = 0;
	int n;

	hop__heap_stats(&blocks, &bytes);
	n = snprintf(txt, sizeof(txt),
		     "pid: %d\narch: %s\nstate: %s\nresumed: %d\nheap: %zu blocks, %zu bytes\n",
		     (int)getpid(), hop__self_index(&idx, &bias) == 0 ? hop__arch_name(idx->arch) : "?",
		     hop__phase_name(hop__status.phase), hop__resumed_count(), blocks, bytes);
	if (hop__status.phase == HOP_PH_BULK || hop__status.phase == HOP_PH_ROUNDS)
		n += snprintf(txt + n, sizeof(txt) - (size_t)n, "round: %u\nsent: %llu bytes\nestimated pause: %llu us\n",
			      hop__status.round, (unsigned long long)hop__status.bytes,
			      (unsigned long long)hop__status.est_pause_us);
	int th = hop__foreign_threads();
	if (th > 0)
		n += snprintf(txt + n, sizeof(txt) - (size_t)n, "threads: %d besides the program's (cannot migrate)\n", th);
	if (hop__status.last[0])
		snprintf(txt + n, sizeof(txt) - (size_t)n, "last migration: %s\n", hop__status.last);
	hop__frame_send(c, HOP_F_CTL_STATUS_REPLY, 0, txt, strlen(txt));
}

/* Read the request header with recvmsg so a passed descriptor is caught. */
static int recv_request(int fd, struct hop_frame *f, uint8_t *payload, int *passed)
{
	uint8_t hdr[HOP_FRAME_HEADER];
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { hdr, sizeof(hdr) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	uint32_t crc;
	ssize_t r;

	*passed = -1;
	do
		r = recvmsg(fd, &mh, MSG_WAITALL | MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); r >= 0 && cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int nfd = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < nfd; i++) {
				int x;
				memcpy(&x, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (*passed < 0)
					*passed = x;
				else
					close(x); /* one is all we take */
			}
		}
	if (r != (ssize_t)sizeof(hdr))
		return hop__fail(HOP_EPROTO, "control request: short header");
	int rc = hop__frame_parse_header(hdr, f, &crc, CTL_MAX_REQUEST);
	if (rc < 0)
		return rc;
	size_t got = 0;
	while (got < f->len) {
		r = recv(fd, payload + got, f->len - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return hop__fail(HOP_EPROTO, "control request: short payload");
		got += (size_t)r;
	}
	if (hop__crc32(0, payload, f->len) != crc)
		return hop__fail(HOP_EFORMAT, "control request: CRC mismatch");
	f->payload = payload;
	return 0;
}

static void serve(int fd)
{
	struct hop_frame f;
	uint8_t payload[CTL_MAX_REQUEST];
	struct hop_conn c;
	int passed = -1;
	struct timeval tv = { 5, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (peer_allowed(fd, 0) < 0) {
		close(fd);
		return;
	}
	int rc = recv_request(fd, &f, payload, &passed);
	hop__conn_fd(&c, fd, 2000, "control");
	if (rc < 0)
		goto refuse;
	if (f.type == HOP_F_CTL_STATUS) {
		reply_status(&c);
		goto done;
	}
	if (f.type != HOP_F_CTL_MIGRATE) {
		rc = hop__fail(HOP_EPROTO, "control request of type %s", hop__frame_name(f.type));
		goto refuse;
	}
	struct hop_mig_params p;
	if ((rc = hop__params_decode(f.payload, f.len, &p)) < 0)
		goto refuse;
	if (passed < 0) {
		rc = hop__fail(HOP_EPROTO, "migrate request without a connection attached");
		goto refuse;
	}
	pthread_mutex_lock(&mig_mu);
	if (mig_busy || hop__status.phase != HOP_PH_IDLE) {
		pthread_mutex_unlock(&mig_mu);
		rc = hop__fail(HOP_EBUSY, "a migration is already running (%s)", hop__phase_name(hop__status.phase));
		goto refuse;
	}
	struct worker *w = malloc(sizeof(*w));
	pthread_t th;
	pthread_attr_t at;
	if (!w) {
		pthread_mutex_unlock(&mig_mu);
		rc = hop__fail(HOP_ENOMEM, "agent: out of memory");
		goto refuse;
	}
	w->ctl_fd = fd;
	w->tcp_fd = passed;
	w->params = p;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (hop__thread_create(&th, &at, worker_main, w) != 0) {
		pthread_attr_destroy(&at);
		pthread_mutex_unlock(&mig_mu);
		free(w);
		rc = hop__fail(HOP_ESYS, "agent: cannot start the migration thread");
		goto refuse;
	}
	pthread_attr_destroy(&at);
	mig_busy = 1;
	pthread_mutex_unlock(&mig_mu);
	c.fd = -1; /* the worker owns it now */
	hop__conn_close(&c);
	return;

refuse:;
	struct hop_mig_result res = { .err = rc };
	uint8_t b[600];
	snprintf(res.error, sizeof(res.error), "%s", hop_last_error());
	hop__frame_send(&c, HOP_F_CTL_RESULT, 0, b, hop__result_encode(&res, b));
done:
	if (passed >= 0)
		close(passed);
	hop__conn_close(&c);
}

static void *agent_main(void *arg)
{
	(void)arg;
	hop__heap_runtime_thread(1); /* our buffers come from libc, not the program's heap */
	for (;;) {
		/* wait in poll, not in accept: a blocked accept holds the lowest
		 * free descriptor number reserved, and the destination's restore
		 * (fds.c) may need exactly that number */
		struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
			fprintf(stderr, "hop: agent: poll: %s; control socket closed\n", strerror(errno));
			return NULL;
		}
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (fd >= 0)
			fcntl(fd, F_SETFL, 0); /* serve() expects a blocking socket */
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) {
				if (errno != EINTR && errno != ECONNABORTED)
					sleep(1);
				continue;
			}
			fprintf(stderr, "hop: agent: accept: %s; control socket closed\n", strerror(errno));
			return NULL;
		}
		serve(fd);
	}
}

static void remove_socket(void)
{
	if (sock_path[0])
		unlink(sock_path);
}

int hop__ctl_start(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pthread_t th;
	int rc = hop__ctl_path(getpid(), sa.sun_path, sizeof(sa.sun_path));

	if (rc < 0)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hop__sysfail("control socket");
	unlink(sa.sun_path); /* a dead process of the same pid left it */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(sa.sun_path, 0600) < 0 || listen(fd, 8) < 0) {
		rc = hop__sysfail("control socket %s", sa.sun_path);
		close(fd);
		return rc;
	}
	listen_fd = fd;
	hop__fds_own_var(&listen_fd); /* restore moves it, never closes it (fds.c) */
	snprintf(sock_path, sizeof(sock_path), "%s", sa.sun_path);
	atexit(remove_socket);
	/* the agent takes no asynchronous signals: they stay the program's (thread.c) */
	rc = hop__thread_create(&th, NULL, agent_main, NULL);
	if (rc != 0) {
		errno = rc;
		return hop__sysfail("cannot start the agent thread");
	}
	pthread_detach(th);
	return 0;
}
