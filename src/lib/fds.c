/* fds.c -- describe the descriptor table at the freeze, rebuild it on the
 * destination under the same numbers.
 *
 * Why this exists: a program keeps descriptor numbers in its variables
 * (a struct client's `fd`, an epoll's data.fd). The translator carries those
 * variables; this module makes the numbers mean the same things on the
 * destination: the same file at the same offset, a listening socket on the
 * same port, an epoll with the same interest list, and for a connected
 * client a socket whose far end is the origin's relay (src/tool/relay.c),
 * which still holds the client's real connection.
 *
 * Everything is read through interfaces qemu-user passes through, so the
 * same code works for a foreign program under qemu: /proc/self/fd (readlink),
 * /proc/self/fdinfo/N (epoll interest lists, eventfd counters, timer clocks),
 * fcntl, getsockopt, getsockname/getpeername, timerfd_gettime. O_* values
 * differ between targets, so flags travel as portable HOP_FDF_* bits.
 *
 * Memory comes from mmap, not malloc: in a hop program malloc is the
 * program's (migratable) heap, and the runtime must not leave blocks in it.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "ctl.h"
#include "err.h"
#include "fds.h"
#include "wire.h"

#define FDS_MAGIC 0x48464453u /* "HFDS" */
#define FDS_VERSION 1

/* ---- memory outside the program's heap --------------------------------- */

/* A block from mmap with its length in front (16 bytes keep alignment). */
static void *fds_alloc(size_t n)
{
	size_t total = n + 16;
	void *p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	*(size_t *)p = total;
	return (char *)p + 16;
}

static void fds_release(void *q)
{
	if (!q)
		return;
	char *p = (char *)q - 16;
	munmap(p, *(size_t *)p);
}

static char *fds_strdup(const char *s)
{
	size_t n = strlen(s);
	char *d = fds_alloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

/* ---- descriptors hop owns ------------------------------------------------ */

/* Marked by number, or by the variable that holds the number (kept up to
 * date when restore moves the descriptor). The agent thread and the
 * program's thread both mark: a lock keeps the table whole. */
#define OWN_MAX 64
static struct own_fd {
	int fd;
	int *var;
} own[OWN_MAX];
static int n_own;
static pthread_mutex_t own_mu = PTHREAD_MUTEX_INITIALIZER;

static int own_add(int fd, int *var)
{
	int rc = 0;
	pthread_mutex_lock(&own_mu);
	for (int i = 0; i < n_own; i++)
		if ((var && own[i].var == var) || (!var && !own[i].var && own[i].fd == fd))
			goto out;
	if (n_own == OWN_MAX) {
		rc = hop__fail(HOP_EINVAL, "fds: more than %d descriptors marked as hop's own", OWN_MAX);
		goto out;
	}
	own[n_own].fd = fd;
	own[n_own].var = var;
	n_own++;
out:
	pthread_mutex_unlock(&own_mu);
	return rc;
}

int hop__fds_mark_own(int fd)
{
	return own_add(fd, NULL);
}

int hop__fds_own_var(int *var)
{
	return own_add(-1, var);
}

void hop__fds_unown_var(int *var)
{
	pthread_mutex_lock(&own_mu);
	for (int i = 0; i < n_own; i++)
		if (own[i].var == var) {
			own[i] = own[--n_own];
			break;
		}
	pthread_mutex_unlock(&own_mu);
}

void hop__fds_unmark_own(int fd)
{
	pthread_mutex_lock(&own_mu);
	for (int i = 0; i < n_own; i++)
		if (!own[i].var && own[i].fd == fd) {
			own[i] = own[--n_own];
			break;
		}
	pthread_mutex_unlock(&own_mu);
}

/* The entry owning fd, or NULL. Caller holds own_mu. */
static struct own_fd *own_find(int fd)
{
	for (int i = 0; i < n_own; i++)
		if ((own[i].var ? *own[i].var : own[i].fd) == fd)
			return &own[i];
	return NULL;
}

static int is_own(int fd)
{
	pthread_mutex_lock(&own_mu);
	int r = own_find(fd) != NULL;
	pthread_mutex_unlock(&own_mu);
	return r;
}

/* Descriptors the process inherited from whoever started it (noted at
 * hop_init): the environment's, like stdio, never carried; on the
 * destination they are left alone unless a number is needed. Known by
 * number and file, so a number the program closed and reused is its own. */
#define INHERIT_MAX 256
static struct inherit {
	int fd;
	uint64_t dev, ino;
} inh[INHERIT_MAX];
static int n_inh;

static int is_inherited(int fd)
{
	struct stat st;
	for (int i = 0; i < n_inh; i++)
		if (inh[i].fd == fd)
			return fstat(fd, &st) == 0 && (uint64_t)st.st_dev == inh[i].dev && (uint64_t)st.st_ino == inh[i].ino;
	return 0;
}

static void inherited_moved(int from, int to)
{
	for (int i = 0; i < n_inh; i++)
		if (inh[i].fd == from)
			inh[i].fd = to;
}

void hop__fds_note_inherited(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	int dfd = dirfd(d);
	struct dirent *de;
	while ((de = readdir(d)) && n_inh < INHERIT_MAX) {
		int fd = atoi(de->d_name);
		struct stat st;
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd <= 2 || fd == dfd || fstat(fd, &st) < 0)
			continue;
		inh[n_inh].fd = fd;
		inh[n_inh].dev = (uint64_t)st.st_dev;
		inh[n_inh].ino = (uint64_t)st.st_ino;
		n_inh++;
	}
	closedir(d);
}

/* A Unix socket whose address is this process's control socket: the agent's
 * listening socket and every connection it accepted (hop status, hop
 * migrate) are hop's, whenever they come and go. */
static int is_ctl_socket(int fd)
{
	struct sockaddr_un sun;
	socklen_t sl = sizeof sun;
	char path[sizeof sun.sun_path];
	memset(&sun, 0, sizeof sun);
	if (getsockname(fd, (struct sockaddr *)&sun, &sl) < 0 || sun.sun_family != AF_UNIX || sl <= sizeof(sa_family_t))
		return 0;
	if (hop__ctl_path(getpid(), path, sizeof path) < 0)
		return 0;
	return strncmp(sun.sun_path, path, sizeof sun.sun_path) == 0;
}

const char *hop__fd_kind_name(int kind)
{
	switch (kind) {
	case HOP_FD_FILE: return "file";
	case HOP_FD_DEVNULL: return "device file";
	case HOP_FD_LISTEN: return "listening TCP socket";
	case HOP_FD_UDP: return "UDP socket";
	case HOP_FD_TCP_FRESH: return "unconnected TCP socket";
	case HOP_FD_CONN: return "connected TCP socket";
	case HOP_FD_EPOLL: return "epoll";
	case HOP_FD_EVENTFD: return "eventfd";
	case HOP_FD_TIMERFD: return "timerfd";
	case HOP_FD_PIPE_R: return "pipe (read end)";
	case HOP_FD_PIPE_W: return "pipe (write end)";
	case HOP_FD_STDIO: return "stdio";
	}
	return "unknown";
}

/* ---- small helpers -------------------------------------------------------- */

static int fd_link(int fd, char *buf, size_t len)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(p, buf, len - 1);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* Read /proc/self/fdinfo/N into buf (NUL-terminated); grows nothing: the
 * caller gives room. Returns length or -1. An epoll's fdinfo can be long, so
 * the caller passes a big buffer. */
static ssize_t fd_info(int fd, char *buf, size_t len)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
	int f = open(p, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -1;
	size_t got = 0;
	for (;;) {
		if (got + 1 >= len) {
			close(f);
			errno = EFBIG;
			return -1;
		}
		ssize_t n = read(f, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(f);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(f);
	buf[got] = 0;
	return (ssize_t)got;
}

static uint16_t flags_to_portable(int fl, int fdfl)
{
	uint16_t r = 0;
	switch (fl & O_ACCMODE) {
	case O_WRONLY: r |= HOP_FDF_WRONLY; break;
	case O_RDWR: r |= HOP_FDF_RDWR; break;
	default: break;
	}
	if (fl & O_APPEND)
		r |= HOP_FDF_APPEND;
	if (fl & O_NONBLOCK)
		r |= HOP_FDF_NONBLOCK;
	if ((fl & O_SYNC) == O_SYNC)
		r |= HOP_FDF_SYNC;
	else if (fl & O_DSYNC)
		r |= HOP_FDF_DSYNC;
	if (fdfl & FD_CLOEXEC)
		r |= HOP_FDF_CLOEXEC;
	return r;
}

static int portable_to_open_flags(uint16_t f)
{
	int fl = 0;
	switch (f & HOP_FDF_ACCMODE) {
	case HOP_FDF_WRONLY: fl |= O_WRONLY; break;
	case HOP_FDF_RDWR: fl |= O_RDWR; break;
	default: fl |= O_RDONLY; break;
	}
	if (f & HOP_FDF_APPEND)
		fl |= O_APPEND;
	if (f & HOP_FDF_NONBLOCK)
		fl |= O_NONBLOCK;
	if (f & HOP_FDF_SYNC)
		fl |= O_SYNC;
	else if (f & HOP_FDF_DSYNC)
		fl |= O_DSYNC;
	return fl;
}

static int sockaddr_split(const struct sockaddr_storage *ss, uint8_t *family, uint8_t addr[16], uint16_t *port)
{
	memset(addr, 0, 16);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
		*family = 4;
		memcpy(addr, &s->sin_addr, 4);
		*port = ntohs(s->sin_port);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
		*family = 6;
		memcpy(addr, &s->sin6_addr, 16);
		*port = ntohs(s->sin6_port);
		return 0;
	}
	return -1;
}

static socklen_t sockaddr_make(struct sockaddr_storage *ss, uint8_t family, const uint8_t addr[16], uint16_t port)
{
	memset(ss, 0, sizeof *ss);
	if (family == 4) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;
		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, addr, 4);
		s->sin_port = htons(port);
		return sizeof *s;
	}
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
	s->sin6_family = AF_INET6;
	memcpy(&s->sin6_addr, addr, 16);
	s->sin6_port = htons(port);
	return sizeof *s;
}

static int getopt_int(int fd, int level, int name)
{
	int v = 0;
	socklen_t l = sizeof v;
	if (getsockopt(fd, level, name, &v, &l) < 0)
		return 0;
	return v != 0;
}

/* "pipe:[1234]" -> 1234; 0 when the link is not of that form. */
static unsigned long long bracket_ino(const char *link, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(link, prefix, n) != 0)
		return 0;
	return strtoull(link + n, NULL, 10);
}

/* ---- connected sockets described ahead of the freeze -------------------------
 * A server may hold thousands of clients, and every system call spent on
 * them at the freeze is pause. A connected TCP socket's addresses never
 * change while it lives, so hop__fds_check (at the start of a migration,
 * the program running) keeps the description of each one, by number and
 * socket inode; the freeze takes it for the same socket under the same
 * number and reads again only what the program may change (descriptor
 * flags, keep-alive, no-delay). A socket accepted since, or a number reused,
 * is described whole at the freeze. */
struct pre_conn {
	int fd;
	uint64_t ino;
	struct hop_fd d;
};
static struct pre_conn *pre;
static uint32_t npre;
static int pre_use; /* the freeze's capture may take descriptions from pre */

static void pre_free(void)
{
	fds_release(pre);
	pre = NULL;
	npre = 0;
}

/* Keep the connected sockets of a captured table (ascending fd order). */
static void pre_keep(const struct hop_fds *f)
{
	uint32_t n = 0;
	pre_free();
	for (uint32_t i = 0; i < f->n; i++)
		n += f->v[i].kind == HOP_FD_CONN;
	if (!n || !(pre = fds_alloc(sizeof(*pre) * n)))
		return; /* no memory: the freeze describes them itself */
	for (uint32_t i = 0; i < f->n; i++)
		if (f->v[i].kind == HOP_FD_CONN) {
			pre[npre].fd = f->v[i].fd;
			pre[npre].ino = f->v[i].ino;
			pre[npre].d = f->v[i]; /* no pointers in a CONN entry */
			npre++;
		}
}

static const struct hop_fd *pre_find(int fd, uint64_t ino)
{
	uint32_t lo = 0, hi = npre;
	if (!pre_use)
		return NULL;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (pre[mid].fd < fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < npre && pre[lo].fd == fd && pre[lo].ino == ino ? &pre[lo].d : NULL;
}

/* ---- the walk -------------------------------------------------------------- */

struct pipe_end {
	int fd;
	unsigned long long ino;
	int writer;
};

struct walk {
	int *fds;
	int n;
	struct pipe_end *pipes;
	int npipes;
};

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static void walk_free(struct walk *w)
{
	fds_release(w->fds);
	fds_release(w->pipes);
	memset(w, 0, sizeof *w);
}

/* The program's descriptors in ascending order, hop's own left out, and
 * every pipe end with its inode (to pair ends). */
static int walk_list(struct walk *w)
{
	memset(w, 0, sizeof *w);
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return hop__sysfail("fds: cannot list /proc/self/fd");
	int dfd = dirfd(d);
	w->fds = fds_alloc(sizeof(int) * (HOP_FDS_MAX_COUNT + 1));
	w->pipes = fds_alloc(sizeof(struct pipe_end) * (HOP_FDS_MAX_COUNT + 1));
	if (!w->fds || !w->pipes) {
		closedir(d);
		walk_free(w);
		return hop__fail(HOP_ENOMEM, "fds: no memory for the descriptor walk");
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		int fd = atoi(de->d_name);
		if (fd == dfd || is_own(fd) || is_inherited(fd))
			continue;
		if (w->n == HOP_FDS_MAX_COUNT) {
			closedir(d);
			walk_free(w);
			return hop__fail(HOP_ENOTSUP, "fds: more than %d descriptors open; cannot be carried", HOP_FDS_MAX_COUNT);
		}
		w->fds[w->n++] = fd;
	}
	closedir(d);
	qsort(w->fds, (size_t)w->n, sizeof(int), cmp_int);
	/* one fstat each: hop's control connections are recognised by their
	 * address (a socket described ahead is TCP, not one of them), pipe
	 * ends by their inode */
	int kept = 0;
	for (int i = 0; i < w->n; i++) {
		char link[256];
		struct stat st;
		int fd = w->fds[i];
		if (fstat(fd, &st) < 0) {
			w->fds[kept++] = fd; /* describe() names the failure */
			continue;
		}
		if (S_ISSOCK(st.st_mode) && !pre_find(fd, (uint64_t)st.st_ino) && is_ctl_socket(fd))
			continue;
		w->fds[kept++] = fd;
		if (!S_ISFIFO(st.st_mode) || fd_link(fd, link, sizeof link) < 0)
			continue;
		unsigned long long ino = bracket_ino(link, "pipe:[");
		if (!ino)
			continue;
		int fl = fcntl(fd, F_GETFL);
		w->pipes[w->npipes].fd = fd;
		w->pipes[w->npipes].ino = ino;
		w->pipes[w->npipes].writer = (fl & O_ACCMODE) == O_WRONLY;
		w->npipes++;
	}
	w->n = kept;
	return 0;
}

static int refuse(int fd, const char *what, const char *link)
{
	return hop__fail(HOP_ENOTSUP, "fd %d: %s (%s) cannot be carried", fd, what, link);
}

/* The other end of the pipe at fd, or a refusal naming it. */
static int pipe_other(const struct walk *w, int fd, const char *link, int *other)
{
	int me = -1, n_same = 0, o = -1;
	for (int i = 0; i < w->npipes; i++)
		if (w->pipes[i].fd == fd)
			me = i;
	if (me < 0)
		return refuse(fd, "pipe", link);
	for (int i = 0; i < w->npipes; i++) {
		if (w->pipes[i].ino != w->pipes[me].ino)
			continue;
		n_same++;
		if (w->pipes[i].writer != w->pipes[me].writer)
			o = w->pipes[i].fd;
	}
	if (o < 0)
		return refuse(fd, "pipe to another process", link);
	if (n_same != 2)
		return refuse(fd, "pipe with more than two ends in this process", link);
	*other = o;
	return 0;
}

/* Copy what is buffered in a pipe without consuming it: tee(2) duplicates
 * the pipe's content into a private pipe, which we then drain. */
static int pipe_peek(int rfd, struct hop_fd *d)
{
	int sz = fcntl(rfd, F_GETPIPE_SZ);
	d->pipe_size = sz > 0 ? (uint32_t)sz : 65536;
	int avail = 0;
	if (ioctl(rfd, FIONREAD, &avail) < 0)
		avail = 0;
	d->buflen = 0;
	if (avail <= 0)
		return 0;
	if ((unsigned)avail > HOP_FDS_MAX_PIPEBUF)
		return hop__fail(HOP_ENOTSUP, "fd %d: pipe holds %d bytes, more than %u; cannot be carried", rfd, avail,
				 HOP_FDS_MAX_PIPEBUF);
	d->buf = fds_alloc((size_t)avail);
	if (!d->buf)
		return hop__fail(HOP_ENOMEM, "fd %d: no memory for %d pipe bytes", rfd, avail);
	int tp[2];
	if (pipe2(tp, O_CLOEXEC | O_NONBLOCK) < 0)
		return hop__sysfail("fd %d: pipe for tee", rfd);
	/* the private pipe must hold everything at once (tee cannot resume) */
	if ((unsigned)avail > 65536 && fcntl(tp[1], F_SETPIPE_SZ, avail) < 0) {
		close(tp[0]);
		close(tp[1]);
		return hop__sysfail("fd %d: sizing a pipe for %d bytes", rfd, avail);
	}
	ssize_t t = tee(rfd, tp[1], (size_t)avail, SPLICE_F_NONBLOCK);
	if (t != avail) {
		close(tp[0]);
		close(tp[1]);
		return hop__fail(HOP_ESYS, "fd %d: tee copied %zd of %d buffered pipe bytes", rfd, t, avail);
	}
	size_t got = 0;
	while (got < (size_t)avail) {
		ssize_t n = read(tp[0], d->buf + got, (size_t)avail - got);
		if (n <= 0) {
			close(tp[0]);
			close(tp[1]);
			return hop__sysfail("fd %d: reading the copy of the pipe", rfd);
		}
		got += (size_t)n;
	}
	close(tp[0]);
	close(tp[1]);
	d->buflen = (uint32_t)avail;
	return 0;
}

/* Parse the "tfd: N events: X data: Y ... ino:Z" lines of an epoll's fdinfo.
 * Each watched file must still be at the number it was added under (the
 * kernel keys the item by file, the program by number). */
static int epoll_items(int fd, const char *link, struct hop_fd *d)
{
	size_t cap = 1 << 16;
	char *info = NULL;
	ssize_t len;
	for (;;) {
		info = fds_alloc(cap);
		if (!info)
			return hop__fail(HOP_ENOMEM, "fd %d: no memory for the epoll interest list", fd);
		len = fd_info(fd, info, cap);
		if (len >= 0)
			break;
		fds_release(info);
		if (errno != EFBIG || cap >= (64u << 20))
			return hop__sysfail("fd %d: reading /proc/self/fdinfo of %s", fd, link);
		cap *= 8;
	}
	uint32_t n = 0;
	for (const char *p = info; (p = strstr(p, "tfd:")); p++)
		n++;
	if (n > HOP_FDS_MAX_EPOLL) {
		fds_release(info);
		return hop__fail(HOP_ENOTSUP, "fd %d: epoll watches %u descriptors, more than %d", fd, n, HOP_FDS_MAX_EPOLL);
	}
	d->ep = n ? fds_alloc(sizeof(*d->ep) * n) : NULL;
	if (n && !d->ep) {
		fds_release(info);
		return hop__fail(HOP_ENOMEM, "fd %d: no memory for %u epoll items", fd, n);
	}
	uint32_t i = 0;
	int rc = 0;
	for (const char *p = info; i < n && (p = strstr(p, "tfd:")); p++) {
		int tfd;
		unsigned events;
		unsigned long long data, ino = 0;
		if (sscanf(p, "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3) {
			rc = hop__fail(HOP_EFORMAT, "fd %d: cannot parse epoll fdinfo line '%.60s'", fd, p);
			break;
		}
		const char *q = strstr(p, "ino:");
		const char *eol = strchr(p, '\n');
		if (q && (!eol || q < eol))
			ino = strtoull(q + 4, NULL, 16);
		struct stat st;
		if (fstat(tfd, &st) < 0 || (ino && (unsigned long long)st.st_ino != ino)) {
			rc = hop__fail(HOP_ENOTSUP,
				       "fd %d: epoll watches a file no longer open at fd %d (closed or replaced); cannot be carried",
				       fd, tfd);
			break;
		}
		if (is_own(tfd)) {
			rc = hop__fail(HOP_ENOTSUP, "fd %d: epoll watches hop's own descriptor %d; cannot be carried", fd, tfd);
			break;
		}
		d->ep[i].tfd = tfd;
		d->ep[i].events = events;
		d->ep[i].data = data;
		i++;
	}
	fds_release(info);
	d->nep = i;
	return rc;
}

static int describe_socket(int fd, const char *link, struct hop_fd *d)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	memset(&ss, 0, sizeof ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return hop__sysfail("fd %d: getsockname of %s", fd, link);
	if (ss.ss_family == AF_UNIX)
		return refuse(fd, "UNIX socket", link);
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return refuse(fd, "socket of an unsupported family", link);
	int type = 0;
	socklen_t tl = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
		return hop__sysfail("fd %d: SO_TYPE of %s", fd, link);
	sockaddr_split(&ss, &d->family, d->addr, &d->port);
	struct sockaddr_storage ps;
	socklen_t pl = sizeof ps;
	memset(&ps, 0, sizeof ps);
	int connected = getpeername(fd, (struct sockaddr *)&ps, &pl) == 0;
	if (connected)
		sockaddr_split(&ps, &d->family, d->peer, &d->peer_port);
	/* a connected TCP socket only needs what it keeps on the relay's
	 * connection (every system call here is paid inside the pause) */
	int conn_tcp = connected && type == SOCK_STREAM;
	if (!conn_tcp && getopt_int(fd, SOL_SOCKET, SO_REUSEADDR))
		d->sockopts |= HOP_SO_REUSEADDR;
	if (!conn_tcp && getopt_int(fd, SOL_SOCKET, SO_REUSEPORT))
		d->sockopts |= HOP_SO_REUSEPORT;
	if (getopt_int(fd, SOL_SOCKET, SO_KEEPALIVE))
		d->sockopts |= HOP_SO_KEEPALIVE;
	if (!conn_tcp && d->family == 6 && getopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY))
		d->sockopts |= HOP_SO_V6ONLY;
	if (type == SOCK_DGRAM) {
		d->kind = HOP_FD_UDP;
		return 0;
	}
	if (type != SOCK_STREAM)
		return refuse(fd, "socket of an unsupported type", link);
	if (getopt_int(fd, IPPROTO_TCP, TCP_NODELAY))
		d->sockopts |= HOP_SO_NODELAY;
	if (conn_tcp) {
		d->kind = HOP_FD_CONN;
		return 0;
	}
	if (getopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN)) {
		d->kind = HOP_FD_LISTEN;
		/* the backlog is not readable back; SOMAXCONN is what the
		 * kernel caps it to anyway */
		d->backlog = SOMAXCONN;
		return 0;
	}
	if (connected) {
		d->kind = HOP_FD_CONN;
		return 0;
	}
	if (d->port != 0)
		return refuse(fd, "bound TCP socket neither listening nor connected (connect in progress?)", link);
	d->kind = HOP_FD_TCP_FRESH;
	return 0;
}

static int fdinfo_field(const char *info, const char *key, unsigned long long *v, int base)
{
	const char *p = strstr(info, key);
	if (!p)
		return -1;
	*v = strtoull(p + strlen(key), NULL, base);
	return 0;
}

static int describe(const struct walk *w, int fd, struct hop_fd *d)
{
	char link[512];
	struct stat st;
	memset(d, 0, sizeof *d);
	d->fd = fd;
	d->other = -1;
	if (fd >= HOP_FDS_MAX_FD)
		return hop__fail(HOP_ENOTSUP, "fd %d: descriptor numbers above %d cannot be carried", fd, HOP_FDS_MAX_FD);
	if (fstat(fd, &st) < 0)
		return hop__sysfail("fd %d: cannot inspect", fd);
	const struct hop_fd *known = S_ISSOCK(st.st_mode) ? pre_find(fd, (uint64_t)st.st_ino) : NULL;
	if (known) { /* a connected socket described ahead: what may have changed */
		int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
		if (fl < 0 || fdfl < 0)
			return hop__sysfail("fd %d: fcntl of a connected socket", fd);
		*d = *known;
		d->flags = flags_to_portable(fl, fdfl);
		d->sockopts &= (uint8_t) ~(HOP_SO_KEEPALIVE | HOP_SO_NODELAY);
		if (getopt_int(fd, SOL_SOCKET, SO_KEEPALIVE))
			d->sockopts |= HOP_SO_KEEPALIVE;
		if (getopt_int(fd, IPPROTO_TCP, TCP_NODELAY))
			d->sockopts |= HOP_SO_NODELAY;
		return 0;
	}
	d->ino = (uint64_t)st.st_ino;
	if (fd_link(fd, link, sizeof link) < 0)
		return hop__sysfail("fd %d: cannot inspect", fd);
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
	if (fl < 0 || fdfl < 0)
		return hop__sysfail("fd %d: fcntl of %s", fd, link);
	d->flags = flags_to_portable(fl, fdfl);
	if (fd <= 2) {
		d->kind = HOP_FD_STDIO;
		return 0;
	}
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		size_t ll = strlen(link);
		if (link[0] != '/' || (ll > 10 && strcmp(link + ll - 10, " (deleted)") == 0))
			return refuse(fd, "deleted or unnamed file", link);
		if (ll >= HOP_FDS_MAX_PATH)
			return refuse(fd, "file with too long a path", "...");
		d->kind = HOP_FD_FILE;
		d->path = fds_strdup(link);
		if (!d->path)
			return hop__fail(HOP_ENOMEM, "fd %d: no memory", fd);
		off_t off = lseek(fd, 0, SEEK_CUR);
		d->offset = off < 0 ? 0 : (uint64_t)off;
		return 0;
	}
	if (S_ISCHR(st.st_mode)) {
		static const char *const ok[] = { "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random" };
		for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
			if (strcmp(link, ok[i]) == 0) {
				d->kind = HOP_FD_DEVNULL;
				d->path = fds_strdup(link);
				return d->path ? 0 : hop__fail(HOP_ENOMEM, "fd %d: no memory", fd);
			}
		return refuse(fd, "device", link);
	}
	if (S_ISFIFO(st.st_mode)) {
		if (!bracket_ino(link, "pipe:["))
			return refuse(fd, "named FIFO", link);
		int rc = pipe_other(w, fd, link, &d->other);
		if (rc < 0)
			return rc;
		if ((fl & O_ACCMODE) == O_WRONLY) {
			d->kind = HOP_FD_PIPE_W;
			return 0;
		}
		d->kind = HOP_FD_PIPE_R;
		return pipe_peek(fd, d);
	}
	if (S_ISSOCK(st.st_mode))
		return describe_socket(fd, link, d);
	if (strcmp(link, "anon_inode:[eventpoll]") == 0) {
		d->kind = HOP_FD_EPOLL;
		return epoll_items(fd, link, d);
	}
	if (strcmp(link, "anon_inode:[eventfd]") == 0) {
		char info[512];
		unsigned long long v, sem = 0;
		if (fd_info(fd, info, sizeof info) < 0 || fdinfo_field(info, "eventfd-count:", &v, 16) < 0)
			return hop__sysfail("fd %d: reading the eventfd counter", fd);
		if (fdinfo_field(info, "eventfd-semaphore:", &sem, 10) == 0 && sem)
			d->flags |= HOP_FDF_SEMAPHORE;
		d->kind = HOP_FD_EVENTFD;
		d->count = v;
		return 0;
	}
	if (strcmp(link, "anon_inode:[timerfd]") == 0) {
		char info[512];
		unsigned long long clk, ticks = 0;
		struct itimerspec its;
		if (fd_info(fd, info, sizeof info) < 0 || fdinfo_field(info, "clockid:", &clk, 10) < 0)
			return hop__sysfail("fd %d: reading the timerfd's clock", fd);
		fdinfo_field(info, "ticks:", &ticks, 10);
		if (timerfd_gettime(fd, &its) < 0)
			return hop__sysfail("fd %d: timerfd_gettime", fd);
		d->kind = HOP_FD_TIMERFD;
		d->clock = (uint32_t)clk;
		d->value_ns = (uint64_t)its.it_value.tv_sec * 1000000000ull + (uint64_t)its.it_value.tv_nsec;
		d->interval_ns = (uint64_t)its.it_interval.tv_sec * 1000000000ull + (uint64_t)its.it_interval.tv_nsec;
		/* expirations not read yet: the destination's timer fires at
		 * once (the count collapses to one; see docs/outside-world.md) */
		if (ticks > 0)
			d->value_ns = 1;
		return 0;
	}
	if (strncmp(link, "anon_inode:", 11) == 0) {
		const char *what = link + 11;
		char name[64];
		snprintf(name, sizeof name, "%.60s", what[0] == '[' ? what + 1 : what);
		char *e = strchr(name, ']');
		if (e)
			*e = 0;
		return refuse(fd, name, link);
	}
	return refuse(fd, "descriptor of an unsupported kind", link);
}

/* ---- check and capture ------------------------------------------------------ */

static void fd_free(struct hop_fd *d)
{
	fds_release(d->path);
	fds_release(d->ep);
	fds_release(d->buf);
	d->path = NULL;
	d->ep = NULL;
	d->buf = NULL;
}

void hop__fds_free(struct hop_fds *f)
{
	if (!f)
		return;
	for (uint32_t i = 0; i < f->n; i++)
		fd_free(&f->v[i]);
	fds_release(f->v);
	f->v = NULL;
	f->n = 0;
}

static int host_big_endian(void)
{
	const uint16_t one = 1;
	return *(const uint8_t *)&one == 0;
}

int hop__fds_capture(struct hop_fds *out)
{
	struct walk w;
	memset(out, 0, sizeof *out);
	out->origin_big_endian = (uint8_t)host_big_endian();
	out->origin_ptr_size = (uint8_t)sizeof(void *);
	/* stdio stays behind: what the program printed must come out here */
	fflush(NULL);
	int rc = walk_list(&w);
	if (rc < 0)
		return rc;
	out->v = fds_alloc(sizeof(struct hop_fd) * (size_t)(w.n ? w.n : 1));
	if (!out->v) {
		walk_free(&w);
		return hop__fail(HOP_ENOMEM, "fds: no memory for %d descriptors", w.n);
	}
	for (int i = 0; i < w.n; i++) {
		if (fcntl(w.fds[i], F_GETFD) < 0 && errno == EBADF)
			continue; /* closed by the running program since the listing */
		rc = describe(&w, w.fds[i], &out->v[out->n]);
		if (rc < 0) {
			fd_free(&out->v[out->n]);
			break;
		}
		out->n++;
	}
	walk_free(&w);
	if (rc < 0)
		hop__fds_free(out);
	return rc;
}

int hop__fds_capture_frozen(struct hop_fds *out)
{
	pre_use = 1;
	int rc = hop__fds_capture(out);
	pre_use = 0;
	pre_free(); /* one migration's */
	return rc;
}

int hop__fds_check(void)
{
	struct hop_fds f;
	int rc = hop__fds_capture(&f);
	if (rc == 0) {
		pre_keep(&f); /* for the freeze (above) */
		hop__fds_free(&f);
	}
	return rc;
}

/* ---- encoding ------------------------------------------------------------------
 * header: magic u32, version u16, origin_big_endian u8, origin_ptr_size u8,
 *         relay family u8, addr[16], port u16, key[16], count u32
 * entry:  fd i32, kind u8, flags u16, then by kind:
 *   FILE, DEVNULL      offset u64, path length u16, path
 *   LISTEN UDP FRESH CONN  family u8, sockopts u8, addr[16], port u16,
 *                      peer[16], peer_port u16, backlog u32
 *   EPOLL              count u32, then tfd i32, events u32, data u64 each
 *   EVENTFD            count u64
 *   TIMERFD            clock u32, value_ns u64, interval_ns u64
 *   PIPE_R             other i32, pipe_size u32, length u32, bytes
 *   PIPE_W             other i32
 *   STDIO              nothing
 * trailer: CRC-32 of everything before it. */

static size_t entry_size(const struct hop_fd *d)
{
	size_t n = 4 + 1 + 2;
	switch (d->kind) {
	case HOP_FD_FILE:
	case HOP_FD_DEVNULL: return n + 8 + 2 + strlen(d->path);
	case HOP_FD_LISTEN:
	case HOP_FD_UDP:
	case HOP_FD_TCP_FRESH:
	case HOP_FD_CONN: return n + 1 + 1 + 16 + 2 + 16 + 2 + 4;
	case HOP_FD_EPOLL: return n + 4 + (size_t)d->nep * 16;
	case HOP_FD_EVENTFD: return n + 8;
	case HOP_FD_TIMERFD: return n + 4 + 8 + 8;
	case HOP_FD_PIPE_R: return n + 4 + 4 + 4 + d->buflen;
	case HOP_FD_PIPE_W: return n + 4;
	default: return n;
	}
}

#define HDR_LEN (4 + 2 + 1 + 1 + 1 + 16 + 2 + 16 + 4)

int hop__fds_encode(const struct hop_fds *f, uint8_t **buf, size_t *len)
{
	size_t total = HDR_LEN + 4;
	for (uint32_t i = 0; i < f->n; i++)
		total += entry_size(&f->v[i]);
	uint8_t *b = fds_alloc(total), *p = b;
	if (!b)
		return hop__fail(HOP_ENOMEM, "fds: no memory to encode %zu bytes", total);
	hop__put32(p, FDS_MAGIC), p += 4;
	hop__put16(p, FDS_VERSION), p += 2;
	*p++ = f->origin_big_endian;
	*p++ = f->origin_ptr_size;
	*p++ = f->relay.family;
	memcpy(p, f->relay.addr, 16), p += 16;
	hop__put16(p, f->relay.port), p += 2;
	memcpy(p, f->relay.key, 16), p += 16;
	hop__put32(p, f->n), p += 4;
	for (uint32_t i = 0; i < f->n; i++) {
		const struct hop_fd *d = &f->v[i];
		hop__put32(p, (uint32_t)d->fd), p += 4;
		*p++ = d->kind;
		hop__put16(p, d->flags), p += 2;
		switch (d->kind) {
		case HOP_FD_FILE:
		case HOP_FD_DEVNULL: {
			size_t pl = strlen(d->path);
			hop__put64(p, d->offset), p += 8;
			hop__put16(p, (uint16_t)pl), p += 2;
			memcpy(p, d->path, pl), p += pl;
			break;
		}
		case HOP_FD_LISTEN:
		case HOP_FD_UDP:
		case HOP_FD_TCP_FRESH:
		case HOP_FD_CONN:
			*p++ = d->family;
			*p++ = d->sockopts;
			memcpy(p, d->addr, 16), p += 16;
			hop__put16(p, d->port), p += 2;
			memcpy(p, d->peer, 16), p += 16;
			hop__put16(p, d->peer_port), p += 2;
			hop__put32(p, d->backlog), p += 4;
			break;
		case HOP_FD_EPOLL:
			hop__put32(p, d->nep), p += 4;
			for (uint32_t j = 0; j < d->nep; j++) {
				hop__put32(p, (uint32_t)d->ep[j].tfd), p += 4;
				hop__put32(p, d->ep[j].events), p += 4;
				hop__put64(p, d->ep[j].data), p += 8;
			}
			break;
		case HOP_FD_EVENTFD:
			hop__put64(p, d->count), p += 8;
			break;
		case HOP_FD_TIMERFD:
			hop__put32(p, d->clock), p += 4;
			hop__put64(p, d->value_ns), p += 8;
			hop__put64(p, d->interval_ns), p += 8;
			break;
		case HOP_FD_PIPE_R:
			hop__put32(p, (uint32_t)d->other), p += 4;
			hop__put32(p, d->pipe_size), p += 4;
			hop__put32(p, d->buflen), p += 4;
			if (d->buflen)
				memcpy(p, d->buf, d->buflen), p += d->buflen;
			break;
		case HOP_FD_PIPE_W:
			hop__put32(p, (uint32_t)d->other), p += 4;
			break;
		default:
			break;
		}
	}
	hop__put32(p, hop__crc32(0, b, (size_t)(p - b))), p += 4;
	*buf = b;
	*len = (size_t)(p - b);
	return 0;
}

void hop__fds_buf_free(uint8_t *buf, size_t len)
{
	(void)len;
	fds_release(buf);
}

static int bad(const char *what, uint32_t i)
{
	return hop__fail(HOP_EFORMAT, "fds: descriptor table entry %u: %s", i, what);
}

int hop__fds_decode(const uint8_t *buf, size_t len, struct hop_fds *out)
{
	struct hop_rd r;
	memset(out, 0, sizeof *out);
	if (len < HDR_LEN + 4)
		return hop__fail(HOP_EFORMAT, "fds: descriptor table of %zu bytes is too short", len);
	if (hop__get32(buf + len - 4) != hop__crc32(0, buf, len - 4))
		return hop__fail(HOP_EFORMAT, "fds: descriptor table checksum mismatch");
	hop__rd_init(&r, buf, len - 4);
	if (hop__rd32(&r) != FDS_MAGIC)
		return hop__fail(HOP_EFORMAT, "fds: not a descriptor table (bad magic)");
	uint16_t ver = hop__rd16(&r);
	if (ver != FDS_VERSION)
		return hop__fail(HOP_EFORMAT, "fds: descriptor table version %u, this hop reads %u", ver, FDS_VERSION);
	out->origin_big_endian = hop__rd8(&r);
	out->origin_ptr_size = hop__rd8(&r);
	out->relay.family = hop__rd8(&r);
	memcpy(out->relay.addr, hop__rd_take(&r, 16), 16);
	out->relay.port = hop__rd16(&r);
	memcpy(out->relay.key, hop__rd_take(&r, 16), 16);
	uint32_t n = hop__rd32(&r);
	if (out->origin_big_endian > 1 || (out->origin_ptr_size != 4 && out->origin_ptr_size != 8))
		return hop__fail(HOP_EFORMAT, "fds: bad origin description (big endian %u, pointer size %u)",
				 out->origin_big_endian, out->origin_ptr_size);
	if (out->relay.family != 0 && out->relay.family != 4 && out->relay.family != 6)
		return hop__fail(HOP_EFORMAT, "fds: relay address family %u", out->relay.family);
	if (n > HOP_FDS_MAX_COUNT || (size_t)n * 7 > hop__rd_left(&r))
		return hop__fail(HOP_EFORMAT, "fds: %u descriptors do not fit the table", n);
	out->v = fds_alloc(sizeof(struct hop_fd) * (n ? n : 1));
	if (!out->v)
		return hop__fail(HOP_ENOMEM, "fds: no memory for %u descriptors", n);
	int rc = 0;
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		struct hop_fd *d = &out->v[i];
		memset(d, 0, sizeof *d);
		d->other = -1;
		d->fd = (int32_t)hop__rd32(&r);
		d->kind = hop__rd8(&r);
		d->flags = hop__rd16(&r);
		if (d->fd < 0 || d->fd >= HOP_FDS_MAX_FD)
			rc = bad("descriptor number out of range", i);
		else if (i > 0 && d->fd <= out->v[i - 1].fd)
			rc = bad("descriptor numbers not ascending", i);
		switch (rc ? 0 : d->kind) {
		case 0:
			break;
		case HOP_FD_FILE:
		case HOP_FD_DEVNULL: {
			d->offset = hop__rd64(&r);
			uint16_t pl = hop__rd16(&r);
			const uint8_t *s = hop__rd_take(&r, pl);
			if (!s || pl == 0 || pl >= HOP_FDS_MAX_PATH || memchr(s, 0, pl) || s[0] != '/') {
				rc = bad("bad path", i);
				break;
			}
			d->path = fds_alloc(pl + 1u);
			if (!d->path) {
				rc = hop__fail(HOP_ENOMEM, "fds: no memory for a path");
				break;
			}
			memcpy(d->path, s, pl);
			d->path[pl] = 0;
			break;
		}
		case HOP_FD_LISTEN:
		case HOP_FD_UDP:
		case HOP_FD_TCP_FRESH:
		case HOP_FD_CONN: {
			d->family = hop__rd8(&r);
			d->sockopts = hop__rd8(&r);
			const uint8_t *a = hop__rd_take(&r, 16);
			if (a)
				memcpy(d->addr, a, 16);
			d->port = hop__rd16(&r);
			a = hop__rd_take(&r, 16);
			if (a)
				memcpy(d->peer, a, 16);
			d->peer_port = hop__rd16(&r);
			d->backlog = hop__rd32(&r);
			if (d->family != 4 && d->family != 6)
				rc = bad("socket family", i);
			else if (d->backlog > 65535)
				rc = bad("backlog", i);
			break;
		}
		case HOP_FD_EPOLL:
			d->nep = hop__rd32(&r);
			if (d->nep > HOP_FDS_MAX_EPOLL || (size_t)d->nep * 16 > hop__rd_left(&r)) {
				rc = bad("epoll interest list longer than the table", i);
				break;
			}
			d->ep = d->nep ? fds_alloc(sizeof(*d->ep) * d->nep) : NULL;
			if (d->nep && !d->ep) {
				rc = hop__fail(HOP_ENOMEM, "fds: no memory for an epoll list");
				break;
			}
			for (uint32_t j = 0; j < d->nep; j++) {
				d->ep[j].tfd = (int32_t)hop__rd32(&r);
				d->ep[j].events = hop__rd32(&r);
				d->ep[j].data = hop__rd64(&r);
				if (d->ep[j].tfd < 0 || d->ep[j].tfd >= HOP_FDS_MAX_FD)
					rc = bad("epoll watches an out-of-range descriptor", i);
			}
			break;
		case HOP_FD_EVENTFD:
			d->count = hop__rd64(&r);
			if (d->count >= UINT64_MAX - 1)
				rc = bad("eventfd counter", i);
			break;
		case HOP_FD_TIMERFD:
			d->clock = hop__rd32(&r);
			d->value_ns = hop__rd64(&r);
			d->interval_ns = hop__rd64(&r);
			if (d->clock > 64)
				rc = bad("timer clock", i);
			break;
		case HOP_FD_PIPE_R: {
			d->other = (int32_t)hop__rd32(&r);
			d->pipe_size = hop__rd32(&r);
			d->buflen = hop__rd32(&r);
			if (d->buflen > HOP_FDS_MAX_PIPEBUF || d->pipe_size > (64u << 20) || d->buflen > d->pipe_size) {
				rc = bad("pipe content", i);
				break;
			}
			const uint8_t *s = hop__rd_take(&r, d->buflen);
			if (!s) {
				rc = bad("pipe content longer than the table", i);
				break;
			}
			if (d->buflen) {
				d->buf = fds_alloc(d->buflen);
				if (!d->buf) {
					rc = hop__fail(HOP_ENOMEM, "fds: no memory for pipe bytes");
					break;
				}
				memcpy(d->buf, s, d->buflen);
			}
			break;
		}
		case HOP_FD_PIPE_W:
			d->other = (int32_t)hop__rd32(&r);
			break;
		case HOP_FD_STDIO:
			if (d->fd > 2)
				rc = bad("stdio above fd 2", i);
			break;
		default:
			rc = bad("unknown kind", i);
			break;
		}
		out->n = i + 1;
		if (rc == 0 && r.bad)
			rc = bad("truncated", i);
	}
	if (rc == 0 && hop__rd_left(&r) != 0)
		rc = hop__fail(HOP_EFORMAT, "fds: %zu stray bytes after the descriptor table", hop__rd_left(&r));
	/* pipe ends must name each other */
	for (uint32_t i = 0; rc == 0 && i < out->n; i++) {
		const struct hop_fd *d = &out->v[i];
		if (d->kind != HOP_FD_PIPE_R && d->kind != HOP_FD_PIPE_W)
			continue;
		int found = 0;
		for (uint32_t j = 0; j < out->n; j++)
			if (out->v[j].fd == d->other && out->v[j].other == d->fd &&
			    out->v[j].kind == (d->kind == HOP_FD_PIPE_R ? HOP_FD_PIPE_W : HOP_FD_PIPE_R))
				found = 1;
		if (!found)
			rc = bad("pipe end without its other end", i);
	}
	for (uint32_t i = 0; rc == 0 && i < out->n; i++)
		if (out->v[i].kind == HOP_FD_CONN && out->relay.family == 0)
			rc = bad("connected socket but no relay", i);
	if (rc < 0)
		hop__fds_free(out);
	return rc;
}

/* ---- restore ---------------------------------------------------------------- */

void hop__fds_hello(uint8_t out[HOP_FDS_HELLO_LEN], int32_t fd, const uint8_t key[16])
{
	hop__put32(out, HOP_FDS_HELLO_MAGIC);
	hop__put16(out + 4, FDS_VERSION);
	hop__put32(out + 6, (uint32_t)fd);
	memcpy(out + 10, key, 16);
}

struct restore {
	const struct hop_fds *f;
	const struct hop_fds_restore_opts *o;
	int floor; /* temporaries live at or above this number */
	struct pollfd *pending; /* relayed connections still connecting */
	uint32_t npending, next_conn;
};

static int wanted(const struct hop_fds *f, int fd)
{
	for (uint32_t i = 0; i < f->n; i++)
		if (f->v[i].fd == fd)
			return f->v[i].kind != HOP_FD_STDIO;
	return 0;
}

/* Put the new descriptor tmp at number target with the flags asked for. */
static int place(struct restore *rs, int tmp, const struct hop_fd *d)
{
	int cloexec = (d->flags & HOP_FDF_CLOEXEC) ? O_CLOEXEC : 0;
	if (tmp != d->fd) {
		int r, tries = 0;
		/* EBUSY: another thread holds the number reserved for a moment
		 * (an accept or open in progress); it is released shortly */
		while ((r = dup3(tmp, d->fd, cloexec)) < 0 && errno == EBUSY && tries++ < 200)
			usleep(1000);
		if (r < 0) {
			close(tmp);
			return hop__sysfail("fd %d: cannot place the new %s at its number", d->fd, hop__fd_kind_name(d->kind));
		}
		close(tmp);
	} else if (fcntl(d->fd, F_SETFD, cloexec ? FD_CLOEXEC : 0) < 0) {
		return hop__sysfail("fd %d: F_SETFD", d->fd);
	}
	(void)rs;
	if (d->kind != HOP_FD_FILE && d->kind != HOP_FD_DEVNULL) {
		int fl = fcntl(d->fd, F_GETFL);
		fl = (d->flags & HOP_FDF_NONBLOCK) ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
		if (fcntl(d->fd, F_SETFL, fl) < 0)
			return hop__sysfail("fd %d: F_SETFL", d->fd);
	}
	return 0;
}

/* Move a fresh descriptor above every number the table uses, so placing
 * one end of a pair never lands on the other end's temporary. */
static int lift(struct restore *rs, int fd)
{
	if (fd < 0 || fd >= rs->floor)
		return fd;
	int n = fcntl(fd, F_DUPFD_CLOEXEC, rs->floor);
	int e = errno;
	close(fd);
	errno = e;
	return n;
}

static int set_sockopts(int s, const struct hop_fd *d)
{
	int one = 1;
	if ((d->sockopts & HOP_SO_REUSEADDR) && setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		return -1;
	if ((d->sockopts & HOP_SO_REUSEPORT) && setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
		return -1;
	if ((d->sockopts & HOP_SO_KEEPALIVE) && setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) < 0)
		return -1;
	if ((d->sockopts & HOP_SO_NODELAY) && setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
		return -1;
	if (d->family == 6 && (d->sockopts & HOP_SO_V6ONLY) &&
	    setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
		return -1;
	return 0;
}

static int is_wildcard(const uint8_t a[16], uint8_t family)
{
	static const uint8_t z[16];
	return memcmp(a, z, family == 4 ? 4 : 16) == 0;
}

/* Bind s to the port the origin had: at the address restore was told, else
 * the origin's address when this machine has it, else the wildcard. */
static int bind_like(struct restore *rs, int s, const struct hop_fd *d)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	static const uint8_t any[16];
	if (rs->o && rs->o->bind_family == d->family) {
		sl = sockaddr_make(&ss, d->family, rs->o->bind_addr, d->port);
		if (bind(s, (struct sockaddr *)&ss, sl) == 0)
			return 0;
		return -1;
	}
	sl = sockaddr_make(&ss, d->family, d->addr, d->port);
	if (bind(s, (struct sockaddr *)&ss, sl) == 0)
		return 0;
	if (errno != EADDRNOTAVAIL || is_wildcard(d->addr, d->family))
		return -1;
	sl = sockaddr_make(&ss, d->family, any, d->port);
	return bind(s, (struct sockaddr *)&ss, sl);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int restore_one(struct restore *rs, const struct hop_fd *d)
{
	const struct hop_fds *f = rs->f;
	int s = -1;
	switch (d->kind) {
	case HOP_FD_STDIO:
	case HOP_FD_PIPE_W: /* made with its read end */
		return 0;
	case HOP_FD_FILE:
	case HOP_FD_DEVNULL: {
		struct stat st;
		int fl = portable_to_open_flags(d->flags) | O_CLOEXEC | O_NOCTTY;
		if (stat(d->path, &st) == 0 && S_ISDIR(st.st_mode))
			fl = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (fl & O_NONBLOCK);
		s = open(d->path, fl);
		if (s < 0 && errno == ENOENT)
			return hop__fail(HOP_ENOENT, "fd %d: file %s does not exist on this machine (is it in the synced data directory?)",
					 d->fd, d->path);
		if (s < 0)
			return hop__sysfail("fd %d: cannot reopen %s", d->fd, d->path);
		if (d->kind == HOP_FD_FILE && d->offset && lseek(s, (off_t)d->offset, SEEK_SET) < 0) {
			close(s);
			return hop__sysfail("fd %d: cannot seek %s to %llu", d->fd, d->path, (unsigned long long)d->offset);
		}
		break;
	}
	case HOP_FD_LISTEN:
	case HOP_FD_UDP:
	case HOP_FD_TCP_FRESH: {
		int type = d->kind == HOP_FD_UDP ? SOCK_DGRAM : SOCK_STREAM;
		s = socket(d->family == 4 ? AF_INET : AF_INET6, type | SOCK_CLOEXEC, 0);
		if (s < 0)
			return hop__sysfail("fd %d: socket for the %s", d->fd, hop__fd_kind_name(d->kind));
		if (set_sockopts(s, d) < 0) {
			close(s);
			return hop__sysfail("fd %d: socket options", d->fd);
		}
		if (d->kind != HOP_FD_TCP_FRESH && d->port && bind_like(rs, s, d) < 0) {
			int e = errno;
			close(s);
			if (e == EADDRINUSE)
				return hop__fail(HOP_EBUSY,
						 "fd %d: port %u is in use on this machine; cannot recreate the %s "
						 "(on one machine the origin's own socket still holds it: use two network namespaces)",
						 d->fd, d->port, hop__fd_kind_name(d->kind));
			errno = e;
			return hop__sysfail("fd %d: cannot bind the %s to port %u", d->fd, hop__fd_kind_name(d->kind), d->port);
		}
		if (d->kind == HOP_FD_LISTEN && listen(s, (int)d->backlog) < 0) {
			close(s);
			return hop__sysfail("fd %d: listen on port %u", d->fd, d->port);
		}
		if (d->kind == HOP_FD_UDP && d->peer_port) {
			struct sockaddr_storage ss;
			socklen_t sl = sockaddr_make(&ss, d->family, d->peer, d->peer_port);
			if (connect(s, (struct sockaddr *)&ss, sl) < 0) {
				close(s);
				return hop__sysfail("fd %d: connect the UDP socket to its peer", d->fd);
			}
		}
		break;
	}
	case HOP_FD_CONN: {
		/* connect without waiting: all relayed connections are set up
		 * at once and finished together (finish_conns), so a thousand
		 * clients cost one round trip to the relay, not a thousand */
		struct sockaddr_storage ss;
		socklen_t sl = sockaddr_make(&ss, f->relay.family, f->relay.addr, f->relay.port);
		s = socket(f->relay.family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (s < 0)
			return hop__sysfail("fd %d: socket for the relayed connection", d->fd);
		int one = 1;
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		/* only what matters to a connected socket: SO_REUSEADDR here
		 * would let connect() pick a source port a listener holds */
		struct hop_fd opts = *d;
		opts.sockopts &= HOP_SO_NODELAY | HOP_SO_KEEPALIVE;
		if (set_sockopts(s, &opts) < 0 ||
		    (connect(s, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS)) {
			close(s);
			return hop__sysfail("fd %d: cannot reach the origin's relay (port %u)", d->fd, f->relay.port);
		}
		s = lift(rs, s);
		if (s < 0)
			return hop__sysfail("fd %d: moving the relayed connection", d->fd);
		int rc = place(rs, s, d);
		if (rc < 0)
			return rc;
		/* non-blocking until finished; its own flag after */
		fcntl(d->fd, F_SETFL, fcntl(d->fd, F_GETFL) | O_NONBLOCK);
		rs->pending[rs->npending].fd = d->fd;
		rs->pending[rs->npending].events = POLLOUT;
		rs->npending++;
		return 0;
	}
	case HOP_FD_EPOLL:
		s = epoll_create1(EPOLL_CLOEXEC);
		if (s < 0)
			return hop__sysfail("fd %d: epoll_create1", d->fd);
		break;
	case HOP_FD_EVENTFD:
		s = eventfd(0, EFD_CLOEXEC | ((d->flags & HOP_FDF_SEMAPHORE) ? EFD_SEMAPHORE : 0));
		if (s < 0)
			return hop__sysfail("fd %d: eventfd", d->fd);
		if (d->count) {
			uint64_t c = d->count;
			if (write(s, &c, sizeof c) != (ssize_t)sizeof c) {
				close(s);
				return hop__sysfail("fd %d: setting the eventfd counter", d->fd);
			}
		}
		break;
	case HOP_FD_TIMERFD: {
		struct itimerspec its;
		s = timerfd_create((clockid_t)d->clock, TFD_CLOEXEC);
		if (s < 0)
			return hop__sysfail("fd %d: timerfd_create (clock %u)", d->fd, d->clock);
		its.it_value.tv_sec = (time_t)(d->value_ns / 1000000000ull);
		its.it_value.tv_nsec = (long)(d->value_ns % 1000000000ull);
		its.it_interval.tv_sec = (time_t)(d->interval_ns / 1000000000ull);
		its.it_interval.tv_nsec = (long)(d->interval_ns % 1000000000ull);
		if (timerfd_settime(s, 0, &its, NULL) < 0) {
			close(s);
			return hop__sysfail("fd %d: timerfd_settime", d->fd);
		}
		break;
	}
	case HOP_FD_PIPE_R: {
		int p[2];
		const struct hop_fd *w = NULL;
		for (uint32_t i = 0; i < f->n; i++)
			if (f->v[i].fd == d->other)
				w = &f->v[i];
		if (!w)
			return hop__fail(HOP_EFORMAT, "fd %d: pipe without its write end %d", d->fd, d->other);
		if (pipe2(p, O_CLOEXEC) < 0)
			return hop__sysfail("fd %d: pipe", d->fd);
		if (d->pipe_size > 65536)
			fcntl(p[1], F_SETPIPE_SZ, (int)d->pipe_size);
		if (d->buflen && write_all(p[1], d->buf, d->buflen) < 0) {
			close(p[0]);
			close(p[1]);
			return hop__sysfail("fd %d: refilling the pipe with %u bytes", d->fd, d->buflen);
		}
		int r = lift(rs, p[0]), wr = lift(rs, p[1]);
		if (r < 0 || wr < 0)
			return hop__sysfail("fd %d: moving the new pipe", d->fd);
		int rc = place(rs, r, d);
		if (rc == 0)
			rc = place(rs, wr, w);
		return rc;
	}
	default:
		return hop__fail(HOP_EINVAL, "fd %d: cannot restore kind %u", d->fd, d->kind);
	}
	s = lift(rs, s);
	if (s < 0)
		return hop__sysfail("fd %d: moving the new %s", d->fd, hop__fd_kind_name(d->kind));
	return place(rs, s, d);
}

/* The value epoll_data must hold here for the origin's value. */
static int epoll_data_here(struct restore *rs, const struct hop_fd *ep, const struct hop_fd_epitem *it, uint64_t *out)
{
	const struct hop_fds *f = rs->f;
	if (rs->o && rs->o->map_epoll_data) {
		int rc = rs->o->map_epoll_data(rs->o->ctx, it->data, out);
		if (rc == 0)
			return 0;
		if (rc != HOP_ENOENT)
			return rc;
	}
	if (f->origin_big_endian == host_big_endian()) {
		*out = it->data;
		return 0;
	}
	/* Across byte orders the union member matters: an int in data.fd sits
	 * in the other half of the uint64_t. Only the data.fd = fd idiom is
	 * unambiguous enough to carry; anything else is refused. */
	uint64_t as_fd = f->origin_big_endian ? (uint64_t)(uint32_t)it->tfd << 32 : (uint64_t)(uint32_t)it->tfd;
	if (it->data == as_fd) {
		*out = host_big_endian() ? (uint64_t)(uint32_t)it->tfd << 32 : (uint64_t)(uint32_t)it->tfd;
		return 0;
	}
	return hop__fail(HOP_EXLATE,
			 "fd %d: epoll data 0x%llx for fd %d cannot be carried across byte orders (only data.fd = fd is)",
			 ep->fd, (unsigned long long)it->data, it->tfd);
}

static int fill_epoll(struct restore *rs, const struct hop_fd *d)
{
	for (uint32_t j = 0; j < d->nep; j++) {
		struct epoll_event ev;
		uint64_t data;
		int rc = epoll_data_here(rs, d, &d->ep[j], &data);
		if (rc < 0)
			return rc;
		memset(&ev, 0, sizeof ev);
		ev.events = d->ep[j].events;
		ev.data.u64 = data;
		if (epoll_ctl(d->fd, EPOLL_CTL_ADD, d->ep[j].tfd, &ev) < 0)
			return hop__sysfail("fd %d: epoll_ctl ADD fd %d (events 0x%x)", d->fd, d->ep[j].tfd, d->ep[j].events);
	}
	return 0;
}

/* Clear the numbers the table needs: hop's own descriptors move above them,
 * everything else the destination's start-up opened is closed (the origin's
 * table is the program's table from now on). */
static int clear_numbers(struct restore *rs, void (*moved)(void *, int, int), void *ctx)
{
	DIR *dir = opendir("/proc/self/fd");
	if (!dir)
		return hop__sysfail("fds: cannot list /proc/self/fd");
	int dfd = dirfd(dir), n = 0;
	int list[1024];
	struct dirent *de;
	while ((de = readdir(dir)) && n < 1024) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		int fd = atoi(de->d_name);
		if (fd != dfd && fd > 2)
			list[n++] = fd;
	}
	closedir(dir);
	for (int i = 0; i < n; i++) {
		int fd = list[i];
		pthread_mutex_lock(&own_mu);
		struct own_fd *o = own_find(fd);
		if (o) {
			int nfd = -1;
			if (wanted(rs->f, fd)) {
				/* dup first, then publish, then close: a thread using
				 * the variable always finds an open descriptor */
				nfd = fcntl(fd, F_DUPFD_CLOEXEC, rs->floor);
				if (nfd >= 0) {
					if (o->var)
						*o->var = nfd;
					else
						o->fd = nfd;
				}
			}
			pthread_mutex_unlock(&own_mu);
			if (wanted(rs->f, fd) && nfd < 0)
				return hop__sysfail("fds: moving hop's own fd %d out of the way", fd);
			if (nfd >= 0) {
				close(fd);
				if (moved)
					moved(ctx, fd, nfd);
			}
			continue;
		}
		pthread_mutex_unlock(&own_mu);
		if (is_inherited(fd)) {
			/* this machine's environment: keep it, elsewhere if need be */
			if (wanted(rs->f, fd)) {
				int nfd = fcntl(fd, F_DUPFD, rs->floor);
				if (nfd < 0)
					return hop__sysfail("fds: moving inherited fd %d out of the way", fd);
				if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
					fcntl(nfd, F_SETFD, 0);
				inherited_moved(fd, nfd);
				close(fd);
			}
			continue;
		}
		close(fd);
	}
	return 0;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for every relayed connection, then say which client each one is.
 * They were all started before; by now most are established, so each is
 * waited for on its own (a poll over all of them per completion would cost
 * n^2). */
static int finish_conns(struct restore *rs)
{
	int ms = rs->o && rs->o->relay_timeout_ms > 0 ? rs->o->relay_timeout_ms : 5000;
	long long end = mono_ms() + ms;
	for (uint32_t i = 0; i < rs->npending; i++) {
		struct pollfd *p = &rs->pending[i];
		int fd = p->fd, n;
		for (;;) {
			long long left = end - mono_ms();
			n = poll(p, 1, left > 0 ? (int)left : 0);
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		if (n < 0)
			return hop__sysfail("fds: waiting for the relay");
		if (n == 0)
			return hop__fail(HOP_ETIMEDOUT, "fd %d: the origin's relay did not answer within %d ms", fd, ms);
		int err = 0;
		socklen_t el = sizeof err;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err) {
			errno = err;
			return hop__sysfail("fd %d: cannot reach the origin's relay (port %u)", fd, rs->f->relay.port);
		}
		uint8_t hello[HOP_FDS_HELLO_LEN];
		hop__fds_hello(hello, fd, rs->f->relay.key);
		if (write_all(fd, hello, sizeof hello) < 0)
			return hop__sysfail("fd %d: sending the relay hello", fd);
		/* the pending list follows the table's order */
		while (rs->f->v[rs->next_conn].fd != fd)
			rs->next_conn++;
		if (!(rs->f->v[rs->next_conn].flags & HOP_FDF_NONBLOCK))
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	}
	return 0;
}

int hop__fds_restore(const struct hop_fds *f, const struct hop_fds_restore_opts *opts)
{
	struct restore rs = { .f = f, .o = opts, .floor = 3 };
	for (uint32_t i = 0; i < f->n; i++)
		if (f->v[i].fd + 1 > rs.floor)
			rs.floor = f->v[i].fd + 1;
	rs.pending = fds_alloc(sizeof(*rs.pending) * (f->n ? f->n : 1));
	if (!rs.pending)
		return hop__fail(HOP_ENOMEM, "fds: no memory to restore %u descriptors", f->n);
	int rc = clear_numbers(&rs, opts ? opts->own_moved : NULL, opts ? opts->ctx : NULL);
	for (uint32_t i = 0; rc == 0 && i < f->n; i++)
		rc = restore_one(&rs, &f->v[i]);
	if (rc == 0)
		rc = finish_conns(&rs);
	for (uint32_t i = 0; rc == 0 && i < f->n; i++)
		if (f->v[i].kind == HOP_FD_EPOLL)
			rc = fill_epoll(&rs, &f->v[i]);
	fds_release(rs.pending);
	return rc;
}

/* ---- the hand-off to the relay ---------------------------------------------------- */

int hop__fds_relay_open(int mig_fd, struct hop_fds_relay *r, int *lfd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	uint8_t family, addr[16];
	uint16_t port;
	memset(&ss, 0, sizeof ss);
	if (getsockname(mig_fd, (struct sockaddr *)&ss, &sl) < 0)
		return hop__sysfail("fds: address of the migration connection");
	if (sockaddr_split(&ss, &family, addr, &port) < 0)
		return hop__fail(HOP_ENOTSUP, "fds: the migration connection is not TCP/IP; connected clients cannot be relayed");
	return hop__fds_relay_open_addr(family, addr, r, lfd);
}

int hop__fds_relay_open_addr(uint8_t family, const uint8_t addr[16], struct hop_fds_relay *r, int *lfd)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(r, 0, sizeof *r);
	r->family = family;
	memcpy(r->addr, addr, 16);
	sl = sockaddr_make(&ss, r->family, r->addr, 0);
	int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return hop__sysfail("fds: relay socket");
	/* the backlog holds every relayed connection until COMMIT */
	if (bind(s, (struct sockaddr *)&ss, sl) < 0 || listen(s, 4096) < 0) {
		close(s);
		return hop__sysfail("fds: relay socket bind/listen");
	}
	sl = sizeof ss;
	getsockname(s, (struct sockaddr *)&ss, &sl);
	sockaddr_split(&ss, &r->family, r->addr, &r->port);
	int rnd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t got = rnd >= 0 ? read(rnd, r->key, sizeof r->key) : -1;
	if (rnd >= 0)
		close(rnd);
	if (got != (ssize_t)sizeof r->key) {
		close(s);
		return hop__sysfail("fds: no random bytes for the relay key");
	}
	*lfd = s;
	return 0;
}

uint32_t hop__fds_relayed(const struct hop_fds *f)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < f->n; i++)
		n += f->v[i].kind == HOP_FD_CONN || f->v[i].kind == HOP_FD_LISTEN;
	return n;
}

static int send_fds(int sock, const uint8_t *data, size_t len, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * HOP_FDS_BATCH)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)data, len };
	struct msghdr m;
	memset(&m, 0, sizeof m);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	ssize_t w;
	do
		w = sendmsg(sock, &m, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return hop__sysfail("fds: handing descriptors to hop migrate");
	/* the descriptors went with the first byte; the rest is plain data */
	size_t off = (size_t)w;
	while (off < len) {
		w = send(sock, data + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return hop__sysfail("fds: handing descriptors to hop migrate");
		off += (size_t)w;
	}
	return 0;
}

int hop__fds_handoff_send(int sock, const struct hop_fds *f, int relay_lfd)
{
	uint8_t hdr[HOP_FDS_HANDOFF_HDR];
	uint32_t n = hop__fds_relayed(f);
	hop__put32(hdr, HOP_FDS_HANDOFF_MAGIC);
	hop__put16(hdr + 4, FDS_VERSION);
	hop__put32(hdr + 6, n);
	memcpy(hdr + 10, f->relay.key, 16);
	int rc = send_fds(sock, hdr, sizeof hdr, &relay_lfd, 1);
	uint32_t i = 0;
	while (rc == 0 && n) {
		uint8_t rec[HOP_FDS_BATCH * HOP_FDS_REC];
		int fds[HOP_FDS_BATCH], k = 0;
		for (; i < f->n && k < HOP_FDS_BATCH; i++) {
			const struct hop_fd *d = &f->v[i];
			if (d->kind != HOP_FD_CONN && d->kind != HOP_FD_LISTEN)
				continue;
			fds[k] = d->fd;
			hop__put32(rec + HOP_FDS_REC * k, (uint32_t)d->fd);
			rec[HOP_FDS_REC * k + 4] = d->kind;
			hop__put16(rec + HOP_FDS_REC * k + 5, d->port);
			k++;
		}
		rc = send_fds(sock, rec, (size_t)(HOP_FDS_REC * k), fds, k);
		n -= (uint32_t)k;
	}
	return rc;
}

/* ---- a migration's session (ctl.c, out.c, in.c) ------------------------------------ */

static int sess_ctl = -1, sess_mig = -1;

void hop__fds_session(int ctl_fd, int mig_fd)
{
	static int registered;
	if (!registered) {
		hop__fds_own_var(&sess_ctl);
		hop__fds_own_var(&sess_mig);
		registered = 1;
	}
	sess_ctl = ctl_fd;
	sess_mig = mig_fd;
}

#define FDS_TABLE_MAX (2u << 20) /* fits the destination's frame bound */

int hop__fds_freeze(uint8_t **buf, size_t *len)
{
	struct hop_fds f;
	int rl = -1;
	int rc = hop__fds_capture_frozen(&f);
	if (rc < 0)
		return rc;
	if (hop__fds_relayed(&f)) {
		if (sess_ctl < 0 || sess_mig < 0)
			rc = hop__fail(HOP_ENOTSUP, "fds: connected and listening sockets need `hop migrate` to relay them, "
						    "and none is attached");
		else
			rc = hop__fds_relay_open(sess_mig, &f.relay, &rl);
		if (rc == 0) {
			/* announce the hand-off on the framed control stream, then
			 * the descriptors themselves */
			struct hop_conn c;
			hop__conn_fd(&c, sess_ctl, 5000, "control");
			rc = hop__frame_send(&c, HOP_F_CTL_FDS, 0, NULL, 0);
			free(c.buf);
			if (rc == 0)
				rc = hop__fds_handoff_send(sess_ctl, &f, rl);
		}
		if (rl >= 0)
			close(rl); /* `hop migrate` holds it now */
	}
	if (rc == 0)
		rc = hop__fds_encode(&f, buf, len);
	if (rc == 0 && *len > FDS_TABLE_MAX) {
		hop__fds_buf_free(*buf, *len);
		rc = hop__fail(HOP_ENOTSUP, "fds: the descriptor table takes %zu bytes, more than %u (pipes holding too much?)",
			       *len, FDS_TABLE_MAX);
	}
	hop__fds_free(&f);
	return rc;
}

int hop__fds_thaw(const uint8_t *buf, size_t len, int *mig_fd)
{
	struct hop_fds f;
	int rc = hop__fds_decode(buf, len, &f);
	if (rc < 0)
		return rc;
	hop__fds_own_var(mig_fd);
	rc = hop__fds_restore(&f, NULL);
	hop__fds_unown_var(mig_fd);
	hop__fds_free(&f);
	return rc;
}

int hop__fds_gate(void)
{
	if (sess_ctl < 0)
		return hop__fail(HOP_EPROTO, "data directory pass requested but no hop migrate is attached");
	struct hop_conn c;
	struct hop_frame f;
	/* the final pass copies what changed since the last round: bounded by
	 * the link, not by us; a generous limit still ends a hung peer */
	hop__conn_fd(&c, sess_ctl, 600000, "control");
	int rc = hop__frame_send(&c, HOP_F_CTL_FROZEN, 0, NULL, 0);
	if (rc == 0)
		rc = hop__frame_expect(&c, HOP_F_CTL_GO, &f, 1);
	if (rc == 0 && (f.len != 1 || f.payload[0] != 1))
		rc = hop__fail(HOP_EABORTED, "hop migrate: the data directory's final pass failed");
	free(c.buf);
	return rc;
}
