/* wrap.c -- the libc functions a hop program calls that libhop takes over.
 *
 * `hop cc` links with -Wl,--wrap=NAME for every name in wrapped.def, so the
 * program's (and libhop's) own calls to NAME land in __wrap_NAME here, while
 * calls made inside libc stay libc's. Two families:
 *
 *  - Allocation: the program's blocks go to hop's heap (heap.c). Pointers
 *    hop does not own (libc allocated them internally: asprintf is ours, but
 *    e.g. realpath(p, NULL), scandir, open_memstream are not) are recognised
 *    by address and handed back to libc's free/realloc. getline/getdelim are
 *    reimplemented because libc's would realloc() a buffer hop owns. A thread
 *    of hop's runtime (hop__heap_runtime_thread) is served by libc.
 *
 *  - System calls that make the kernel write into the caller's memory: under
 *    the mprotect tracker a kernel write into a write-protected page fails
 *    with EFAULT (no signal), so these wrappers make sure it never meets one.
 *    Small fixed-size results (stat, clock_gettime, pipe fds, socket
 *    addresses, ...) go to a buffer on the stack and are copied to the
 *    caller's memory in user space, where a write fault is an ordinary fault
 *    the tracker handles; this costs a copy and needs no coordination.
 *    Results of arbitrary size (read, recv, readv, recvmsg, fread, poll with
 *    many fds) are announced as a "syscall window" (track.c) for the duration
 *    of the call: the tracker unprotects those pages first and never
 *    re-protects them while the window is open. See docs/runtime-memory.md.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "heap.h"
#include "track.h"

#define RUNTIME() __builtin_expect(hop__heap_in_runtime, 0)

/* ==== allocation ========================================================== */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
int __real_posix_memalign(void **out, size_t align, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
void *__real_memalign(size_t align, size_t n);
void *__real_valloc(size_t n);
void *__real_pvalloc(size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
size_t __real_malloc_usable_size(void *p);
void *__real_reallocarray(void *p, size_t n, size_t size);
ssize_t __real_getdelim(char **line, size_t *n, int delim, FILE *f);
ssize_t __real_getline(char **line, size_t *n, FILE *f);
int __real_vasprintf(char **out, const char *fmt, va_list ap);

void *__wrap_malloc(size_t n)
{
	if (RUNTIME())
		return __real_malloc(n);
	return hop__malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	if (RUNTIME())
		return __real_calloc(n, size);
	return hop__calloc(n, size);
}

void __wrap_free(void *p)
{
	if (!p)
		return;
	if (hop__heap_owns(p))
		hop__free(p);
	else
		__real_free(p);
}

void *__wrap_realloc(void *p, size_t n)
{
	if (!p)
		return __wrap_malloc(n);
	if (hop__heap_owns(p))
		return hop__realloc(p, n);
	if (RUNTIME())
		return __real_realloc(p, n);
	/* a block libc allocated: move it into hop's heap, so it becomes known */
	size_t old = __real_malloc_usable_size(p);
	void *q = hop__malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	__real_free(p);
	return q;
}

void *__wrap_reallocarray(void *p, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return __wrap_realloc(p, total);
}

int __wrap_posix_memalign(void **out, size_t align, size_t n)
{
	if (RUNTIME())
		return __real_posix_memalign(out, align, n);
	return hop__posix_memalign(out, align, n);
}

static void *aligned(size_t align, size_t n)
{
	void *p = NULL;
	if (align < sizeof(void *))
		align = sizeof(void *);
	int rc = hop__posix_memalign(&p, align, n);
	if (rc) {
		errno = rc;
		return NULL;
	}
	return p;
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
	if (RUNTIME())
		return __real_aligned_alloc(align, n);
	return aligned(align, n);
}

void *__wrap_memalign(size_t align, size_t n)
{
	if (RUNTIME())
		return __real_memalign(align, n);
	return aligned(align, n);
}

void *__wrap_valloc(size_t n)
{
	if (RUNTIME())
		return __real_valloc(n);
	return aligned((size_t)sysconf(_SC_PAGESIZE), n);
}

void *__wrap_pvalloc(size_t n)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	if (RUNTIME())
		return __real_pvalloc(n);
	return aligned(ps, (n + ps - 1) & ~(ps - 1));
}

size_t __wrap_malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	/* exactly what was asked for: the translator sends that many bytes */
	if (hop__heap_owns(p))
		return hop__heap_size(p);
	return __real_malloc_usable_size(p);
}

char *__wrap_strdup(const char *s)
{
	if (RUNTIME())
		return __real_strdup(s);
	size_t n = strlen(s) + 1;
	char *p = hop__malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

char *__wrap_strndup(const char *s, size_t max)
{
	if (RUNTIME())
		return __real_strndup(s, max);
	size_t n = strnlen(s, max);
	char *p = hop__malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

int __wrap_vasprintf(char **out, const char *fmt, va_list ap)
{
	if (RUNTIME())
		return __real_vasprintf(out, fmt, ap);
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -1;
	char *p = hop__malloc((size_t)n + 1);
	if (!p)
		return -1;
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	*out = p;
	return n;
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = __wrap_vasprintf(out, fmt, ap);
	va_end(ap);
	return n;
}

/* libc's getdelim would realloc() a buffer that hop owns: same contract,
 * buffer grown in hop's heap. Stdio's own buffer is libc's; the copy into
 * the line is a user-space write, so tracking needs nothing more. */
ssize_t __wrap_getdelim(char **line, size_t *cap, int delim, FILE *f)
{
	if (!line || !cap || !f) {
		errno = EINVAL;
		return -1;
	}
	if (RUNTIME() || (*line && !hop__heap_owns(*line)))
		return __real_getdelim(line, cap, delim, f);
	size_t len = 0;
	ssize_t ret = -1;
	flockfile(f);
	for (;;) {
		int c = getc_unlocked(f);
		if (c == EOF)
			break;
		if (!*line || len + 2 > *cap) {
			size_t ncap = *cap * 2;
			if (ncap < 120)
				ncap = 120;
			if (ncap < len + 2)
				ncap = len + 2;
			char *p = hop__realloc(*line, ncap);
			if (!p) {
				errno = ENOMEM;
				len = 0;
				goto out;
			}
			*line = p;
			*cap = ncap;
		}
		(*line)[len++] = (char)c;
		if (c == delim)
			break;
	}
	if (len > 0) {
		(*line)[len] = '\0';
		ret = (ssize_t)len;
	}
out:
	funlockfile(f);
	return ret;
}

ssize_t __wrap_getline(char **line, size_t *cap, FILE *f)
{
	return __wrap_getdelim(line, cap, '\n', f);
}

/* ==== system calls that write into the caller's memory ===================== */

/* Copy a stack result to the caller's memory in user space. */
#define OUT(dst, src) memcpy((dst), &(src), sizeof(src))

ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __real_pread(int fd, void *buf, size_t n, off_t off);
ssize_t __real_pread64(int fd, void *buf, size_t n, off64_t off);
ssize_t __real_readv(int fd, const struct iovec *iov, int cnt);
ssize_t __real_preadv(int fd, const struct iovec *iov, int cnt, off_t off);
ssize_t __real_recv(int fd, void *buf, size_t n, int flags);
ssize_t __real_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a, socklen_t *alen);
ssize_t __real_recvmsg(int fd, struct msghdr *msg, int flags);
size_t __real_fread(void *buf, size_t size, size_t n, FILE *f);
size_t __real_fread_unlocked(void *buf, size_t size, size_t n, FILE *f);
ssize_t __real___read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __real___recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
int __real_stat(const char *path, struct stat *st);
int __real_fstat(int fd, struct stat *st);
int __real_lstat(const char *path, struct stat *st);
int __real_fstatat(int dfd, const char *path, struct stat *st, int flags);
int __real_stat64(const char *path, struct stat64 *st);
int __real_fstat64(int fd, struct stat64 *st);
int __real_lstat64(const char *path, struct stat64 *st);
int __real_fstatat64(int dfd, const char *path, struct stat64 *st, int flags);
int __real_poll(struct pollfd *fds, nfds_t n, int timeout);
int __real_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask);
int __real_select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv);
int __real_pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts, const sigset_t *mask);
int __real_epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout);
int __real_epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *mask);
int __real_accept(int fd, struct sockaddr *a, socklen_t *alen);
int __real_accept4(int fd, struct sockaddr *a, socklen_t *alen, int flags);
int __real_getsockname(int fd, struct sockaddr *a, socklen_t *alen);
int __real_getpeername(int fd, struct sockaddr *a, socklen_t *alen);
int __real_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
int __real_pipe(int fds[2]);
int __real_pipe2(int fds[2], int flags);
int __real_socketpair(int dom, int type, int proto, int fds[2]);
int __real_clock_gettime(clockid_t clk, struct timespec *ts);
int __real_clock_getres(clockid_t clk, struct timespec *ts);
int __real_gettimeofday(struct timeval *tv, void *tz);
time_t __real_time(time_t *t);
int __real_nanosleep(const struct timespec *req, struct timespec *rem);
int __real_clock_nanosleep(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem);
pid_t __real_waitpid(pid_t pid, int *status, int options);
pid_t __real_wait(int *status);
pid_t __real_wait4(pid_t pid, int *status, int options, struct rusage *ru);
int __real_uname(struct utsname *u);
int __real_getrlimit(int res, struct rlimit *rl);
int __real_getrusage(int who, struct rusage *ru);
int __real_sysinfo(struct sysinfo *si);

/* Announce [buf, buf + n) for one call (see track.h); w is the window handle. */
#define WIN_CALL(ret, buf, n, call)                                                   \
	do {                                                                           \
		int w_ = hop__track_win_open((buf), (n));                               \
		ret = call;                                                            \
		int e_ = errno;                                                        \
		hop__track_win_close(w_);                                              \
		errno = e_;                                                            \
	} while (0)

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
	ssize_t r;
	WIN_CALL(r, buf, n, __real_read(fd, buf, n));
	return r;
}

ssize_t __wrap___read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	ssize_t r;
	WIN_CALL(r, buf, n, __real___read_chk(fd, buf, n, buflen));
	return r;
}

ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off)
{
	ssize_t r;
	WIN_CALL(r, buf, n, __real_pread(fd, buf, n, off));
	return r;
}

ssize_t __wrap_pread64(int fd, void *buf, size_t n, off64_t off)
{
	ssize_t r;
	WIN_CALL(r, buf, n, __real_pread64(fd, buf, n, off));
	return r;
}

ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags)
{
	ssize_t r;
	WIN_CALL(r, buf, n, __real_recv(fd, buf, n, flags));
	return r;
}

ssize_t __wrap___recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	ssize_t r;
	WIN_CALL(r, buf, n, __real___recv_chk(fd, buf, n, buflen, flags));
	return r;
}

ssize_t __wrap_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a, socklen_t *alen)
{
	struct sockaddr_storage ss;
	socklen_t len = alen ? *alen : 0;
	ssize_t r;
	if (len > sizeof(ss))
		len = sizeof(ss);
	WIN_CALL(r, buf, n, __real_recvfrom(fd, buf, n, flags, a ? (struct sockaddr *)&ss : NULL, a ? &len : NULL));
	if (r >= 0 && a && alen) {
		memcpy(a, &ss, len < *alen ? len : *alen);
		*alen = len;
	}
	return r;
}

size_t __wrap_fread(void *buf, size_t size, size_t n, FILE *f)
{
	size_t r, total;
	if (__builtin_mul_overflow(size, n, &total))
		total = SIZE_MAX;
	WIN_CALL(r, buf, total, __real_fread(buf, size, n, f));
	return r;
}

size_t __wrap_fread_unlocked(void *buf, size_t size, size_t n, FILE *f)
{
	size_t r, total;
	if (__builtin_mul_overflow(size, n, &total))
		total = SIZE_MAX;
	WIN_CALL(r, buf, total, __real_fread_unlocked(buf, size, n, f));
	return r;
}

ssize_t __wrap_readv(int fd, const struct iovec *iov, int cnt)
{
	int w = hop__track_win_open_iov(iov, cnt);
	ssize_t r = __real_readv(fd, iov, cnt);
	int e = errno;
	hop__track_win_close(w);
	errno = e;
	return r;
}

ssize_t __wrap_preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	int w = hop__track_win_open_iov(iov, cnt);
	ssize_t r = __real_preadv(fd, iov, cnt, off);
	int e = errno;
	hop__track_win_close(w);
	errno = e;
	return r;
}

/* recvmsg writes the data (msg_iov), the peer address (msg_name), the
 * ancillary data (msg_control) and the msghdr itself (lengths, flags): the
 * iovecs are a window; the rest goes through a copy on the stack. */
ssize_t __wrap_recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct msghdr m = *msg;
	struct sockaddr_storage name;
	char ctl[512];
	int big_ctl = m.msg_controllen > sizeof(ctl);
	if (m.msg_name) {
		if (m.msg_namelen > sizeof(name))
			m.msg_namelen = sizeof(name);
		m.msg_name = &name;
	}
	if (m.msg_control && !big_ctl)
		m.msg_control = ctl;
	int w = hop__track_win_open_iov(m.msg_iov, (int)m.msg_iovlen);
	int w2 = big_ctl ? hop__track_win_open(msg->msg_control, msg->msg_controllen) : -1;
	ssize_t r = __real_recvmsg(fd, &m, flags);
	int e = errno;
	hop__track_win_close(w2);
	hop__track_win_close(w);
	if (r >= 0) {
		if (msg->msg_name)
			memcpy(msg->msg_name, &name, m.msg_namelen < msg->msg_namelen ? m.msg_namelen : msg->msg_namelen);
		if (msg->msg_control && !big_ctl)
			memcpy(msg->msg_control, ctl, m.msg_controllen);
		msg->msg_namelen = m.msg_namelen;
		msg->msg_controllen = m.msg_controllen;
		msg->msg_flags = m.msg_flags;
	}
	errno = e;
	return r;
}

#define STAT_WRAP(fn, stype, params, args)                                            \
	int __wrap_##fn params                                                         \
	{                                                                              \
		struct stype s;                                                        \
		if (!st) {                                                             \
			errno = EFAULT;                                                \
			return -1;                                                     \
		}                                                                      \
		int r = __real_##fn args;                                              \
		if (r == 0)                                                            \
			OUT(st, s);                                                    \
		return r;                                                              \
	}
STAT_WRAP(stat, stat, (const char *path, struct stat *st), (path, &s))
STAT_WRAP(lstat, stat, (const char *path, struct stat *st), (path, &s))
STAT_WRAP(fstat, stat, (int fd, struct stat *st), (fd, &s))
STAT_WRAP(fstatat, stat, (int dfd, const char *path, struct stat *st, int flags), (dfd, path, &s, flags))
STAT_WRAP(stat64, stat64, (const char *path, struct stat64 *st), (path, &s))
STAT_WRAP(lstat64, stat64, (const char *path, struct stat64 *st), (path, &s))
STAT_WRAP(fstat64, stat64, (int fd, struct stat64 *st), (fd, &s))
STAT_WRAP(fstatat64, stat64, (int dfd, const char *path, struct stat64 *st, int flags), (dfd, path, &s, flags))

/* poll: revents are written back. Up to 64 fds go through the stack. */
int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout)
{
	struct pollfd local[64];
	if (n > 64 || !fds) {
		int r;
		WIN_CALL(r, fds, n * sizeof(*fds), __real_poll(fds, n, timeout));
		return r;
	}
	memcpy(local, fds, n * sizeof(*fds));
	int r = __real_poll(local, n, timeout);
	if (r >= 0)
		for (nfds_t i = 0; i < n; i++)
			if (fds[i].revents != local[i].revents)
				fds[i].revents = local[i].revents;
	return r;
}

int __wrap_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	struct pollfd local[64];
	if (n > 64 || !fds) {
		int r;
		WIN_CALL(r, fds, n * sizeof(*fds), __real_ppoll(fds, n, ts, mask));
		return r;
	}
	memcpy(local, fds, n * sizeof(*fds));
	int r = __real_ppoll(local, n, ts, mask);
	if (r >= 0)
		for (nfds_t i = 0; i < n; i++)
			if (fds[i].revents != local[i].revents)
				fds[i].revents = local[i].revents;
	return r;
}

/* select rewrites the fd sets and (Linux) the timeout. */
static int do_select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv, const struct timespec *ts,
		     const sigset_t *mask, int p)
{
	fd_set lr, lw, le;
	struct timeval ltv;
	if (r)
		lr = *r;
	if (w)
		lw = *w;
	if (e)
		le = *e;
	if (tv)
		ltv = *tv;
	int rc = p ? __real_pselect(n, r ? &lr : NULL, w ? &lw : NULL, e ? &le : NULL, ts, mask)
		   : __real_select(n, r ? &lr : NULL, w ? &lw : NULL, e ? &le : NULL, tv ? &ltv : NULL);
	int err = errno;
	if (rc >= 0) {
		if (r)
			OUT(r, lr);
		if (w)
			OUT(w, lw);
		if (e)
			OUT(e, le);
	}
	if (tv)
		OUT(tv, ltv);
	errno = err;
	return rc;
}

int __wrap_select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	return do_select(n, r, w, e, tv, NULL, NULL, 0);
}

int __wrap_pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts, const sigset_t *mask)
{
	return do_select(n, r, w, e, NULL, ts, mask, 1);
}

/* epoll_wait may return fewer events than asked for: take at most 64 at a time. */
int __wrap_epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
	struct epoll_event local[64];
	if (max <= 0 || !ev)
		return __real_epoll_wait(epfd, ev, max, timeout);
	int r = __real_epoll_wait(epfd, local, max < 64 ? max : 64, timeout);
	if (r > 0)
		memcpy(ev, local, (size_t)r * sizeof(*ev));
	return r;
}

int __wrap_epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *mask)
{
	struct epoll_event local[64];
	if (max <= 0 || !ev)
		return __real_epoll_pwait(epfd, ev, max, timeout, mask);
	int r = __real_epoll_pwait(epfd, local, max < 64 ? max : 64, timeout, mask);
	if (r > 0)
		memcpy(ev, local, (size_t)r * sizeof(*ev));
	return r;
}

/* Socket addresses: through a sockaddr_storage on the stack. */
#define ADDR_WRAP(fn, params, call)                                                   \
	int __wrap_##fn params                                                         \
	{                                                                              \
		struct sockaddr_storage ss;                                            \
		socklen_t len = alen ? *alen : 0;                                      \
		if (len > sizeof(ss))                                                  \
			len = sizeof(ss);                                              \
		int r = call;                                                          \
		if (r >= 0 && a && alen) {                                             \
			int e_ = errno;                                                \
			memcpy(a, &ss, len < *alen ? len : *alen);                     \
			*alen = len;                                                   \
			errno = e_;                                                    \
		}                                                                      \
		return r;                                                              \
	}
ADDR_WRAP(accept, (int fd, struct sockaddr *a, socklen_t *alen),
	  __real_accept(fd, a ? (struct sockaddr *)&ss : NULL, a ? &len : NULL))
ADDR_WRAP(accept4, (int fd, struct sockaddr *a, socklen_t *alen, int flags),
	  __real_accept4(fd, a ? (struct sockaddr *)&ss : NULL, a ? &len : NULL, flags))
ADDR_WRAP(getsockname, (int fd, struct sockaddr *a, socklen_t *alen),
	  __real_getsockname(fd, a ? (struct sockaddr *)&ss : NULL, a ? &len : NULL))
ADDR_WRAP(getpeername, (int fd, struct sockaddr *a, socklen_t *alen),
	  __real_getpeername(fd, a ? (struct sockaddr *)&ss : NULL, a ? &len : NULL))

int __wrap_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	char buf[256];
	socklen_t l = len ? *len : 0;
	if (!val || !len || l > sizeof(buf)) {
		int r;
		WIN_CALL(r, val, l, __real_getsockopt(fd, level, name, val, len));
		return r;
	}
	int r = __real_getsockopt(fd, level, name, buf, &l);
	if (r == 0) {
		memcpy(val, buf, l < *len ? l : *len);
		*len = l;
	}
	return r;
}

#define FDS_WRAP(fn, params, call)                                                    \
	int __wrap_##fn params                                                         \
	{                                                                              \
		int l[2];                                                              \
		int r = call;                                                          \
		if (r == 0)                                                            \
			OUT(fds, l);                                                   \
		return r;                                                              \
	}
FDS_WRAP(pipe, (int fds[2]), __real_pipe(l))
FDS_WRAP(pipe2, (int fds[2], int flags), __real_pipe2(l, flags))
FDS_WRAP(socketpair, (int dom, int type, int proto, int fds[2]), __real_socketpair(dom, type, proto, l))

/* Natively these are vDSO calls that write in user space, but under qemu-user
 * they are system calls that write guest memory: the stack copy covers both. */
int __wrap_clock_gettime(clockid_t clk, struct timespec *ts)
{
	struct timespec l;
	int r = __real_clock_gettime(clk, &l);
	if (r == 0 && ts)
		OUT(ts, l);
	return r;
}

int __wrap_clock_getres(clockid_t clk, struct timespec *ts)
{
	struct timespec l;
	int r = __real_clock_getres(clk, &l);
	if (r == 0 && ts)
		OUT(ts, l);
	return r;
}

int __wrap_gettimeofday(struct timeval *tv, void *tz)
{
	struct timeval l;
	struct timezone z;
	int r = __real_gettimeofday(tv ? &l : NULL, tz ? &z : NULL);
	if (r == 0) {
		if (tv)
			OUT(tv, l);
		if (tz)
			memcpy(tz, &z, sizeof(z));
	}
	return r;
}

time_t __wrap_time(time_t *t)
{
	time_t r = __real_time(NULL);
	if (t && r != (time_t)-1)
		*t = r;
	return r;
}

int __wrap_nanosleep(const struct timespec *req, struct timespec *rem)
{
	struct timespec q = *req, l;
	int r = __real_nanosleep(&q, rem ? &l : NULL);
	if (r < 0 && rem && errno == EINTR)
		OUT(rem, l);
	return r;
}

int __wrap_clock_nanosleep(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem)
{
	struct timespec q = *req, l;
	int r = __real_clock_nanosleep(clk, flags, &q, rem ? &l : NULL);
	if (r == EINTR && rem)
		OUT(rem, l);
	return r;
}

pid_t __wrap_waitpid(pid_t pid, int *status, int options)
{
	int s;
	pid_t r = __real_waitpid(pid, status ? &s : NULL, options);
	if (r > 0 && status)
		*status = s;
	return r;
}

pid_t __wrap_wait(int *status)
{
	int s;
	pid_t r = __real_wait(status ? &s : NULL);
	if (r > 0 && status)
		*status = s;
	return r;
}

pid_t __wrap_wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	int s;
	struct rusage u;
	pid_t r = __real_wait4(pid, status ? &s : NULL, options, ru ? &u : NULL);
	if (r > 0) {
		if (status)
			*status = s;
		if (ru)
			OUT(ru, u);
	}
	return r;
}

#define OUT1_WRAP(fn, type, params, call, argname)                                    \
	int __wrap_##fn params                                                         \
	{                                                                              \
		type l;                                                                \
		if (!argname) {                                                        \
			errno = EFAULT;                                                \
			return -1;                                                     \
		}                                                                      \
		int r = call;                                                          \
		if (r == 0)                                                            \
			OUT(argname, l);                                               \
		return r;                                                              \
	}
OUT1_WRAP(uname, struct utsname, (struct utsname *u), __real_uname(&l), u)
OUT1_WRAP(getrlimit, struct rlimit, (int res, struct rlimit *rl), __real_getrlimit(res, &l), rl)
OUT1_WRAP(getrusage, struct rusage, (int who, struct rusage *ru), __real_getrusage(who, &l), ru)
OUT1_WRAP(sysinfo, struct sysinfo, (struct sysinfo *si), __real_sysinfo(&l), si)

/* ==== zeroing that qemu-aarch64 gets wrong ================================= */

/* glibc's aarch64 memset zeroes 256 bytes or more with DC ZVA. qemu-aarch64
 * 7.2 (Debian 12) performs DC ZVA in a helper that does not record where it
 * was called from: when the block is write-protected, the SIGSEGV reaches
 * the program with the PC of an earlier instruction (where the chain of
 * translated blocks was entered) but the registers of the faulting one. The
 * tracker's handler returns there, memset re-runs part of its set-up with
 * those registers and leaves the first 16 bytes of the page unwritten: calloc
 * handed out bucket arrays with stale pointers in them (t_migrate_pairs,
 * mutate aarch64 -> x86_64; tests/runtime/t_track_zero.sh). A write fault in
 * an ordinary store is reported exactly, and no other target's string
 * functions have the problem (t_track_zero checks them all).
 *
 * So on aarch64 the calls that zero through libc's memset -- memset, bzero,
 * explicit_bzero, __memset_chk, and the padding of strncpy and stpncpy --
 * run inside a syscall window (track.h) when they are large enough: the
 * tracked pages are made writable and dirty before the call and the
 * collector leaves them so until it returns, so DC ZVA never faults. The
 * same calls made inside libc (rare for program memory) are not covered.
 * Elsewhere the wrappers go straight to libc. */
void *__real_memset(void *p, int c, size_t n);
void *__real___memset_chk(void *p, int c, size_t n, size_t destlen);
void __real_bzero(void *p, size_t n);
void __real_explicit_bzero(void *p, size_t n);
char *__real_strncpy(char *d, const char *s, size_t n);
char *__real___strncpy_chk(char *d, const char *s, size_t n, size_t destlen);
char *__real_stpncpy(char *d, const char *s, size_t n);
char *__real___stpncpy_chk(char *d, const char *s, size_t n, size_t destlen);

#if defined(__aarch64__)
#define ZVA_MIN 128 /* glibc 2.36 zeroes with DC ZVA from 256 bytes, newer ones from 160 */
#define ZERO_CALL(ret, p, n, call)                                                     \
	do {                                                                           \
		if ((n) >= ZVA_MIN)                                                    \
			WIN_CALL(ret, p, n, call);                                     \
		else                                                                   \
			ret = call;                                                    \
	} while (0)
#else
#define ZERO_CALL(ret, p, n, call) (ret = call)
#endif

void *__wrap_memset(void *p, int c, size_t n)
{
	void *r;
	if ((unsigned char)c != 0)
		return __real_memset(p, c, n); /* DC ZVA only writes zeroes */
	ZERO_CALL(r, p, n, __real_memset(p, c, n));
	return r;
}

void *__wrap___memset_chk(void *p, int c, size_t n, size_t destlen)
{
	void *r;
	if ((unsigned char)c != 0)
		return __real___memset_chk(p, c, n, destlen);
	ZERO_CALL(r, p, n, __real___memset_chk(p, c, n, destlen));
	return r;
}

void __wrap_bzero(void *p, size_t n)
{
	int r;
	ZERO_CALL(r, p, n, (__real_bzero(p, n), 0));
	(void)r;
}

void __wrap_explicit_bzero(void *p, size_t n)
{
	int r;
	ZERO_CALL(r, p, n, (__real_explicit_bzero(p, n), 0));
	(void)r;
}

char *__wrap_strncpy(char *d, const char *s, size_t n)
{
	char *r;
	ZERO_CALL(r, d, n, __real_strncpy(d, s, n));
	return r;
}

char *__wrap___strncpy_chk(char *d, const char *s, size_t n, size_t destlen)
{
	char *r;
	ZERO_CALL(r, d, n, __real___strncpy_chk(d, s, n, destlen));
	return r;
}

char *__wrap_stpncpy(char *d, const char *s, size_t n)
{
	char *r;
	ZERO_CALL(r, d, n, __real_stpncpy(d, s, n));
	return r;
}

char *__wrap___stpncpy_chk(char *d, const char *s, size_t n, size_t destlen)
{
	char *r;
	ZERO_CALL(r, d, n, __real___stpncpy_chk(d, s, n, destlen));
	return r;
}
