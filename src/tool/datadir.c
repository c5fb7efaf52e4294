/* datadir.c -- copy the data directory while the program runs, then what
 * changed, then a final pass at the freeze.
 *
 * Why this shape: the program's files are its business (hop never reads
 * their format), so the unit is bytes: files cut into 64 KiB blocks, each
 * known by a BLAKE2b hash. Both sides keep a manifest (path -> type, mode,
 * size, mtime, block hashes). The destination sends its manifest first; the
 * origin then sends, each round, only what differs from it: new and changed
 * blocks, sizes, modes, times, deletions. A file whose size and mtime are
 * unchanged is not read again -- unless its mtime was too close to when we
 * last hashed it to be trusted (coarse timestamps: a write in the same tick
 * would not change it; git calls this "racily clean"). The final round runs
 * while the program is frozen, with the same rule, so it reads only files
 * that changed or are racy. At the end both sides hash their manifests; the
 * digests must agree.
 *
 * Frames on the socket: type u8, length u32, payload (big-endian fields).
 *   destination -> origin:  'M' manifest entry ... 'E' end;  'A' round acknowledged
 *   origin -> destination:  'D' mkdir, 'L' symlink, 'X' delete,
 *                           'F' file header, 'B' block, 'C' file done,
 *                           'R' round end (final flag, digest)
 * Paths are relative, without "." or ".." components; nothing is written
 * through a symlink.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "datadir.h"
#include "err.h"

#define HASH_LEN 16
#define MAX_PATH 4096
#define MAX_BLOCKS 65536 /* 4 GiB per file */
#define MAX_FRAME (MAX_PATH + 64 + MAX_BLOCKS * HASH_LEN)
/* mtimes this close to the hashing are not trusted: a write within the
 * timestamp granularity after we hashed would leave the mtime unchanged.
 * Local Linux file systems stamp at a jiffy (<= 10 ms) or finer; 100 ms
 * leaves room. (git uses a second, for file systems that stamp seconds.) */
#define RACY_NS 100000000ull

struct entry {
	char *path;
	char type; /* 'F' file, 'D' directory, 'L' symlink */
	uint32_t mode;
	uint64_t size, mtime_ns, hashed_at_ns;
	uint32_t nblk;
	uint8_t *hashes;
	char *target;
	int seen;
};

struct manifest {
	struct entry *v;
	size_t n, cap;
};

struct datadir_out {
	char *dir;
	int sock;
	struct manifest dest; /* what the destination holds */
	uint32_t round;
	uint64_t last_bytes;
};

/* ---- frames ----------------------------------------------------------------- */

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return hop__sysfail("datadir: sending");
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	while (n) {
		ssize_t r = read(fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return hop__fail(HOP_ECLOSED, "datadir: connection closed by peer");
		if (r < 0)
			return hop__sysfail("datadir: receiving");
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static int send_frame(int fd, char type, const uint8_t *p, size_t n, const uint8_t *tail, size_t tn)
{
	uint8_t h[5];
	h[0] = (uint8_t)type;
	hop__put32(h + 1, (uint32_t)(n + tn));
	if (write_all(fd, h, 5) < 0 || write_all(fd, p, n) < 0 || (tn && write_all(fd, tail, tn) < 0))
		return HOP_ESYS;
	return 0;
}

/* Receive a frame into *buf (grown as needed, bounded by MAX_FRAME). */
static int recv_frame(int fd, char *type, uint8_t **buf, size_t *cap, size_t *len)
{
	uint8_t h[5];
	int rc = read_all(fd, h, 5);
	if (rc < 0)
		return rc;
	uint32_t n = hop__get32(h + 1);
	if (n > MAX_FRAME)
		return hop__fail(HOP_EPROTO, "datadir: frame '%c' of %u bytes exceeds %u", h[0], n, (unsigned)MAX_FRAME);
	if (n > *cap) {
		uint8_t *b = realloc(*buf, n);
		if (!b)
			return hop__fail(HOP_ENOMEM, "datadir: no memory for a frame of %u bytes", n);
		*buf = b;
		*cap = n;
	}
	*type = (char)h[0];
	*len = n;
	return read_all(fd, *buf, n);
}

/* Path field: length u16 then bytes. */
static size_t put_path(uint8_t *p, const char *path)
{
	size_t n = strlen(path);
	hop__put16(p, (uint16_t)n);
	memcpy(p + 2, path, n);
	return n + 2;
}

static int safe_path(const char *p)
{
	if (!*p || p[0] == '/')
		return 0;
	for (const char *s = p; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		s += n + (e ? 1 : 0);
		if (e && !*s)
			return 0;
	}
	return 1;
}

/* Read a path field; the result is NUL-terminated in out. */
static int rd_path(struct hop_rd *r, char out[MAX_PATH + 1])
{
	uint16_t n = hop__rd16(r);
	const uint8_t *s = hop__rd_take(r, n);
	if (!s || n == 0 || n > MAX_PATH || memchr(s, 0, n))
		return hop__fail(HOP_EPROTO, "datadir: bad path field");
	memcpy(out, s, n);
	out[n] = 0;
	if (!safe_path(out))
		return hop__fail(HOP_EPROTO, "datadir: refused path '%s' (absolute or with . or ..)", out);
	return 0;
}

/* ---- manifests ------------------------------------------------------------------ */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void entry_free(struct entry *e)
{
	free(e->path);
	free(e->hashes);
	free(e->target);
	memset(e, 0, sizeof *e);
}

static void man_free(struct manifest *m)
{
	for (size_t i = 0; i < m->n; i++)
		entry_free(&m->v[i]);
	free(m->v);
	memset(m, 0, sizeof *m);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

static struct entry *man_find(struct manifest *m, const char *path)
{
	struct entry key = { .path = (char *)path };
	return m->n ? bsearch(&key, m->v, m->n, sizeof *m->v, cmp_entry) : NULL;
}

static struct entry *man_add(struct manifest *m, const char *path)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 64;
		struct entry *v = realloc(m->v, cap * sizeof *v);
		if (!v)
			return NULL;
		m->v = v;
		m->cap = cap;
	}
	struct entry *e = &m->v[m->n++];
	memset(e, 0, sizeof *e);
	e->path = strdup(path);
	return e->path ? e : NULL;
}

/* Insert or find, keeping the manifest sorted (used by the destination). */
static struct entry *man_get(struct manifest *m, const char *path)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(m->v[mid].path, path);
		if (c == 0)
			return &m->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!man_add(m, path))
		return NULL;
	struct entry e = m->v[m->n - 1];
	memmove(&m->v[lo + 1], &m->v[lo], (m->n - 1 - lo) * sizeof *m->v);
	m->v[lo] = e;
	return &m->v[lo];
}

static void man_del(struct manifest *m, const char *path)
{
	struct entry *e = man_find(m, path);
	if (!e)
		return;
	size_t i = (size_t)(e - m->v);
	entry_free(e);
	memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof *m->v);
	m->n--;
}

/* Hash the blocks of an open file of `size` bytes into e (replacing its
 * hashes; e->size becomes what was read); if data is not NULL, keep the
 * file's bytes there too. */
static int hash_file(int fd, const char *path, uint64_t size, struct entry *e, uint8_t **data)
{
	uint64_t nblk = (size + DATADIR_BLOCK - 1) / DATADIR_BLOCK;
	if (nblk > MAX_BLOCKS)
		return hop__fail(HOP_ENOTSUP, "datadir: %s is larger than %u blocks of %u bytes", path, MAX_BLOCKS, DATADIR_BLOCK);
	uint8_t *h = malloc(nblk ? nblk * HASH_LEN : 1);
	uint8_t *buf = malloc(DATADIR_BLOCK);
	uint8_t *all = data ? malloc(size ? size : 1) : NULL;
	if (!h || !buf || (data && !all)) {
		free(h), free(buf), free(all);
		return hop__fail(HOP_ENOMEM, "datadir: no memory to hash %s", path);
	}
	uint64_t off = 0;
	uint32_t k = 0;
	while (off < size) {
		size_t want = size - off < DATADIR_BLOCK ? (size_t)(size - off) : DATADIR_BLOCK;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(h), free(buf), free(all);
			return hop__sysfail("datadir: reading %s", path);
		}
		if (n == 0)
			break; /* shrank while we read: what we read is the file now */
		crypto_generichash(h + (size_t)k * HASH_LEN, HASH_LEN, buf, (size_t)n, NULL, 0);
		if (all)
			memcpy(all + off, buf, (size_t)n);
		off += (uint64_t)n;
		k++;
		if ((size_t)n < want)
			break;
	}
	free(buf);
	free(e->hashes);
	e->hashes = h;
	e->nblk = k;
	e->size = off;
	if (data)
		*data = all;
	return 0;
}

struct scan {
	struct manifest *m;
	char root[MAX_PATH];
	int hash; /* hash every file (the destination's manifest) */
};

static int scan_dir(struct scan *s, const char *rel)
{
	char abs[MAX_PATH * 2];
	snprintf(abs, sizeof abs, "%s%s%s", s->root, *rel ? "/" : "", rel);
	DIR *d = opendir(abs);
	if (!d)
		return hop__sysfail("datadir: cannot list %s", abs);
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char r[MAX_PATH + 1], a[MAX_PATH * 2 + 2];
		if ((size_t)snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", de->d_name) >= MAX_PATH) {
			rc = hop__fail(HOP_ENOTSUP, "datadir: path too long under %s", abs);
			break;
		}
		snprintf(a, sizeof a, "%s/%s", s->root, r);
		struct stat st;
		if (lstat(a, &st) < 0) {
			if (errno == ENOENT)
				continue; /* removed while we looked: next round */
			rc = hop__sysfail("datadir: stat %s", a);
			break;
		}
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode))
			continue; /* sockets, FIFOs, devices are not data */
		struct entry *e = man_add(s->m, r);
		if (!e) {
			rc = hop__fail(HOP_ENOMEM, "datadir: no memory");
			break;
		}
		e->mode = st.st_mode & 07777;
		e->mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
		if (S_ISDIR(st.st_mode)) {
			e->type = 'D';
			rc = scan_dir(s, r);
		} else if (S_ISLNK(st.st_mode)) {
			char t[MAX_PATH + 1];
			ssize_t n = readlink(a, t, MAX_PATH);
			e->type = 'L';
			if (n < 0)
				n = 0;
			t[n] = 0;
			e->target = strdup(t);
		} else {
			e->type = 'F';
			e->size = (uint64_t)st.st_size;
			if (s->hash) {
				int fd = open(a, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
				if (fd < 0) {
					rc = hop__sysfail("datadir: open %s", a);
					break;
				}
				e->hashed_at_ns = now_ns();
				rc = hash_file(fd, a, e->size, e, NULL);
				close(fd);
			}
		}
	}
	closedir(d);
	return rc;
}

static int scan(const char *root, int hash, struct manifest *m)
{
	struct scan s = { .m = m, .hash = hash };
	memset(m, 0, sizeof *m);
	snprintf(s.root, sizeof s.root, "%s", root);
	int rc = scan_dir(&s, "");
	if (rc < 0) {
		man_free(m);
		return rc;
	}
	if (m->n)
		qsort(m->v, m->n, sizeof *m->v, cmp_entry);
	return 0;
}

/* Digest of a manifest: what both ends must agree on after the final round. */
static void digest(const struct manifest *m, uint8_t out[32])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	for (size_t i = 0; i < m->n; i++) {
		const struct entry *e = &m->v[i];
		uint8_t f[1 + 4 + 8 + 8 + 4];
		f[0] = (uint8_t)e->type;
		hop__put32(f + 1, e->mode);
		hop__put64(f + 5, e->type == 'F' ? e->size : 0);
		hop__put64(f + 13, e->type == 'F' ? e->mtime_ns : 0);
		hop__put32(f + 21, e->type == 'F' ? e->nblk : 0);
		crypto_generichash_update(&st, (const uint8_t *)e->path, strlen(e->path) + 1);
		crypto_generichash_update(&st, f, sizeof f);
		if (e->type == 'F' && e->nblk)
			crypto_generichash_update(&st, e->hashes, (size_t)e->nblk * HASH_LEN);
		if (e->type == 'L' && e->target)
			crypto_generichash_update(&st, (const uint8_t *)e->target, strlen(e->target) + 1);
	}
	crypto_generichash_final(&st, out, 32);
}

/* ---- the origin's side ------------------------------------------------------------- */

static int send_manifest_entry(int sock, const struct entry *e)
{
	size_t pl = strlen(e->path), tl = e->target ? strlen(e->target) : 0;
	uint8_t *f = malloc(1 + 4 + 8 + 8 + 4 + 2 + pl + 2 + tl), *p = f;
	if (!f)
		return hop__fail(HOP_ENOMEM, "datadir: no memory");
	*p++ = (uint8_t)e->type;
	hop__put32(p, e->mode), p += 4;
	hop__put64(p, e->size), p += 8;
	hop__put64(p, e->mtime_ns), p += 8;
	hop__put32(p, e->nblk), p += 4;
	p += put_path(p, e->path);
	hop__put16(p, (uint16_t)tl), p += 2;
	memcpy(p, e->target ? e->target : "", tl), p += tl;
	int rc = send_frame(sock, 'M', f, (size_t)(p - f), e->hashes, (size_t)e->nblk * HASH_LEN);
	free(f);
	return rc;
}

int datadir_out_open(const char *dir, int sock, struct datadir_out **out)
{
	if (sodium_init() < 0)
		return hop__fail(HOP_ESYS, "datadir: libsodium failed to initialise");
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return hop__fail(HOP_EINVAL, "datadir: %s is not a directory", dir);
	struct datadir_out *o = calloc(1, sizeof *o);
	if (!o || !(o->dir = strdup(dir))) {
		free(o);
		return hop__fail(HOP_ENOMEM, "datadir: no memory");
	}
	o->sock = sock;
	/* the destination's manifest: what it holds already */
	uint8_t *buf = NULL;
	size_t cap = 0, len;
	char type;
	int rc;
	while ((rc = recv_frame(sock, &type, &buf, &cap, &len)) == 0 && type == 'M') {
		struct hop_rd r;
		char path[MAX_PATH + 1];
		hop__rd_init(&r, buf, len);
		char t = (char)hop__rd8(&r);
		uint32_t mode = hop__rd32(&r);
		uint64_t size = hop__rd64(&r), mtime = hop__rd64(&r);
		uint32_t nblk = hop__rd32(&r);
		if ((rc = rd_path(&r, path)) < 0)
			break;
		uint16_t tl = hop__rd16(&r);
		const uint8_t *tgt = hop__rd_take(&r, tl);
		const uint8_t *h = hop__rd_take(&r, (size_t)nblk * HASH_LEN);
		if (r.bad || hop__rd_left(&r) || nblk > MAX_BLOCKS || (t != 'F' && t != 'D' && t != 'L') ||
		    (uint64_t)nblk != (size + DATADIR_BLOCK - 1) / DATADIR_BLOCK) {
			rc = hop__fail(HOP_EPROTO, "datadir: malformed manifest entry for %s", path);
			break;
		}
		struct entry *e = man_get(&o->dest, path);
		if (!e) {
			rc = hop__fail(HOP_ENOMEM, "datadir: no memory");
			break;
		}
		e->type = t;
		e->mode = mode & 07777;
		e->size = size;
		e->mtime_ns = mtime;
		e->nblk = nblk;
		/* never trusted by timestamp: the origin compares hashes */
		e->hashed_at_ns = 0;
		if (nblk && (e->hashes = malloc((size_t)nblk * HASH_LEN)))
			memcpy(e->hashes, h, (size_t)nblk * HASH_LEN);
		if (t == 'L' && (e->target = malloc(tl + 1u))) {
			memcpy(e->target, tgt, tl);
			e->target[tl] = 0;
		}
	}
	free(buf);
	if (rc == 0 && type != 'E')
		rc = hop__fail(HOP_EPROTO, "datadir: unexpected frame '%c' in the destination's manifest", type);
	if (rc < 0) {
		datadir_out_close(o);
		return rc;
	}
	*out = o;
	return 0;
}

/* Send one file's differences from k (NULL: the destination has nothing). */
static int send_file(struct datadir_out *o, struct entry *c, const struct entry *k, int final, struct datadir_stats *st)
{
	char abs[MAX_PATH * 2];
	snprintf(abs, sizeof abs, "%s/%s", o->dir, c->path);
	(void)final; /* the racy rule below is sound frozen or not */
	if (k && k->type == 'F' && k->size == c->size && k->mtime_ns == c->mtime_ns && k->mode == c->mode &&
	    c->mtime_ns + RACY_NS < k->hashed_at_ns) {
		/* provably unchanged: keep what we know */
		c->hashed_at_ns = k->hashed_at_ns;
		c->nblk = k->nblk;
		c->hashes = k->nblk ? malloc((size_t)k->nblk * HASH_LEN) : NULL;
		if (k->nblk && !c->hashes)
			return hop__fail(HOP_ENOMEM, "datadir: no memory");
		if (k->nblk)
			memcpy(c->hashes, k->hashes, (size_t)k->nblk * HASH_LEN);
		return 0;
	}
	int fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : hop__sysfail("datadir: open %s", abs);
	struct stat s;
	fstat(fd, &s);
	c->size = (uint64_t)s.st_size;
	c->mtime_ns = (uint64_t)s.st_mtim.tv_sec * 1000000000ull + (uint64_t)s.st_mtim.tv_nsec;
	c->hashed_at_ns = now_ns();
	int rc = hash_file(fd, abs, c->size, c, NULL);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	int header = 0;
	uint8_t *blk = malloc(8 + DATADIR_BLOCK);
	if (!blk) {
		close(fd);
		return hop__fail(HOP_ENOMEM, "datadir: no memory");
	}
	int meta = !k || k->type != 'F' || k->size != c->size || k->mtime_ns != c->mtime_ns || k->mode != c->mode;
	for (uint32_t j = 0; j <= c->nblk && rc == 0; j++) {
		int differs = j < c->nblk &&
			      (!k || k->type != 'F' || j >= k->nblk || memcmp(k->hashes + (size_t)j * HASH_LEN, c->hashes + (size_t)j * HASH_LEN, HASH_LEN));
		if (!header && (differs || (j == c->nblk && meta))) {
			uint8_t f[2 + MAX_PATH + 4 + 8 + 8];
			size_t n = put_path(f, c->path);
			hop__put32(f + n, c->mode), n += 4;
			hop__put64(f + n, c->size), n += 8;
			hop__put64(f + n, c->mtime_ns), n += 8;
			rc = send_frame(o->sock, 'F', f, n, NULL, 0);
			header = 1;
			st->files_sent++;
		}
		if (!differs || rc < 0)
			continue;
		uint64_t off = (uint64_t)j * DATADIR_BLOCK;
		size_t want = c->size - off < DATADIR_BLOCK ? (size_t)(c->size - off) : DATADIR_BLOCK;
		ssize_t got = pread(fd, blk + 8, want, (off_t)off);
		if (got < 0) {
			rc = hop__sysfail("datadir: reading %s", abs);
			break;
		}
		/* what we send is what the destination will hold */
		crypto_generichash(c->hashes + (size_t)j * HASH_LEN, HASH_LEN, blk + 8, (size_t)got, NULL, 0);
		hop__put64(blk, off);
		rc = send_frame(o->sock, 'B', blk, 8 + (size_t)got, NULL, 0);
		st->blocks_sent++;
		st->bytes_sent += (uint64_t)got;
		o->last_bytes += (uint64_t)got;
	}
	free(blk);
	close(fd);
	if (rc == 0 && header)
		rc = send_frame(o->sock, 'C', NULL, 0, NULL, 0);
	return rc;
}

int datadir_out_round(struct datadir_out *o, int final, struct datadir_stats *st)
{
	struct manifest cur;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	o->last_bytes = 0;
	int rc = scan(o->dir, 0, &cur);
	if (rc < 0)
		return rc;
	/* deletions first, deepest first, so a path can change type */
	for (size_t i = o->dest.n; rc == 0 && i-- > 0;) {
		struct entry *e = &o->dest.v[i];
		struct entry *c = man_find(&cur, e->path);
		if (c && c->type == e->type)
			continue;
		uint8_t f[2 + MAX_PATH];
		rc = send_frame(o->sock, 'X', f, put_path(f, e->path), NULL, 0);
		st->deleted++;
		entry_free(e);
		memmove(e, e + 1, (o->dest.n - i - 1) * sizeof *e);
		o->dest.n--;
	}
	for (size_t i = 0; rc == 0 && i < cur.n; i++) {
		struct entry *c = &cur.v[i];
		const struct entry *k = man_find(&o->dest, c->path);
		uint8_t f[2 + MAX_PATH + 2 + MAX_PATH + 4];
		size_t n;
		switch (c->type) {
		case 'D':
			if (k && k->mode == c->mode)
				break;
			n = put_path(f, c->path);
			hop__put32(f + n, c->mode), n += 4;
			rc = send_frame(o->sock, 'D', f, n, NULL, 0);
			break;
		case 'L':
			if (k && k->target && c->target && strcmp(k->target, c->target) == 0)
				break;
			n = put_path(f, c->path);
			n += put_path(f + n, c->target && *c->target ? c->target : "?");
			rc = send_frame(o->sock, 'L', f, n, NULL, 0);
			break;
		default:
			rc = send_file(o, c, k, final, st);
			break;
		}
	}
	/* what the destination holds now is what we just scanned */
	man_free(&o->dest);
	o->dest = cur;
	o->round++;
	if (rc == 0) {
		uint8_t f[4 + 1 + 32];
		hop__put32(f, o->round);
		f[4] = (uint8_t)final;
		digest(&o->dest, f + 5);
		rc = send_frame(o->sock, 'R', f, sizeof f, NULL, 0);
	}
	if (rc == 0) {
		uint8_t *buf = NULL;
		size_t cap = 0, len;
		char type;
		rc = recv_frame(o->sock, &type, &buf, &cap, &len);
		if (rc == 0 && (type != 'A' || len != 5 || hop__get32(buf) != o->round))
			rc = hop__fail(HOP_EPROTO, "datadir: bad acknowledgement of round %u", o->round);
		else if (rc == 0 && buf[4] != 1)
			rc = hop__fail(HOP_EDIGEST, "datadir: after round %u the destination's directory differs from the origin's",
				       o->round);
		free(buf);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st->rounds++;
	st->last_round_us = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
	return rc;
}

uint64_t datadir_out_last_bytes(const struct datadir_out *o)
{
	return o->last_bytes;
}

void datadir_out_close(struct datadir_out *o)
{
	if (!o)
		return;
	man_free(&o->dest);
	free(o->dir);
	free(o);
}

/* ---- the destination's side ---------------------------------------------------------- */

/* Open the directory that holds rel's last component, walking each
 * component without following symlinks. *leaf points into rel. */
static int open_parent(int root, const char *rel, char *tmp, const char **leaf)
{
	strcpy(tmp, rel);
	int d = dup(root);
	char *s = tmp, *slash;
	while (d >= 0 && (slash = strchr(s, '/'))) {
		*slash = 0;
		int n = openat(d, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(d);
		d = n;
		s = slash + 1;
	}
	*leaf = rel + (s - tmp);
	return d;
}

static int remove_tree(int at, const char *name)
{
	if (unlinkat(at, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	int d = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0)
		return -1;
	DIR *dd = fdopendir(d);
	struct dirent *de;
	while (dd && (de = readdir(dd)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			remove_tree(dirfd(dd), de->d_name);
	if (dd)
		closedir(dd);
	return unlinkat(at, name, AT_REMOVEDIR);
}

int datadir_in_serve(const char *dir, int sock, struct datadir_stats *st)
{
	if (sodium_init() < 0)
		return hop__fail(HOP_ESYS, "datadir: libsodium failed to initialise");
	mkdir(dir, 0755);
	int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return hop__sysfail("datadir: cannot open %s", dir);
	struct manifest m;
	int rc = scan(dir, 1, &m);
	for (size_t i = 0; rc == 0 && i < m.n; i++)
		rc = send_manifest_entry(sock, &m.v[i]);
	if (rc == 0)
		rc = send_frame(sock, 'E', NULL, 0, NULL, 0);
	uint8_t *buf = NULL;
	size_t cap = 0, len;
	char type;
	int fd = -1, done = 0;
	struct entry *cur = NULL;
	char tmp[MAX_PATH + 1];
	while (rc == 0 && !done && (rc = recv_frame(sock, &type, &buf, &cap, &len)) == 0) {
		struct hop_rd r;
		char path[MAX_PATH + 1], target[MAX_PATH + 1];
		const char *leaf;
		int pd;
		hop__rd_init(&r, buf, len);
		switch (type) {
		case 'X':
		case 'D':
		case 'L':
		case 'F':
			if ((rc = rd_path(&r, path)) < 0)
				break;
			if (fd >= 0) {
				rc = hop__fail(HOP_EPROTO, "datadir: '%c' inside a file", type);
				break;
			}
			pd = open_parent(root, path, tmp, &leaf);
			if (pd < 0) {
				rc = hop__sysfail("datadir: the directory of %s", path);
				break;
			}
			if (type == 'X') {
				if (remove_tree(pd, leaf) < 0)
					rc = hop__sysfail("datadir: removing %s", path);
				size_t pl = strlen(path);
				for (size_t i = m.n; i-- > 0;)
					if (!strncmp(m.v[i].path, path, pl) && (m.v[i].path[pl] == 0 || m.v[i].path[pl] == '/'))
						man_del(&m, m.v[i].path);
				st->deleted++;
			} else if (type == 'D') {
				uint32_t mode = hop__rd32(&r) & 07777;
				if (mkdirat(pd, leaf, mode) < 0 && errno != EEXIST)
					rc = hop__sysfail("datadir: mkdir %s", path);
				else if (fchmodat(pd, leaf, mode, 0) < 0)
					rc = hop__sysfail("datadir: chmod %s", path);
				struct entry *e = man_get(&m, path);
				if (e) {
					e->type = 'D';
					e->mode = mode;
				}
			} else if (type == 'L') {
				uint16_t tl = hop__rd16(&r);
				const uint8_t *t = hop__rd_take(&r, tl);
				if (!t || tl > MAX_PATH) {
					rc = hop__fail(HOP_EPROTO, "datadir: bad symlink target for %s", path);
				} else {
					memcpy(target, t, tl);
					target[tl] = 0;
					unlinkat(pd, leaf, 0);
					if (symlinkat(target, pd, leaf) < 0)
						rc = hop__sysfail("datadir: symlink %s", path);
					struct entry *e = man_get(&m, path);
					if (e) {
						e->type = 'L';
						free(e->target);
						e->target = strdup(target);
						struct stat ls;
						e->mode = fstatat(pd, leaf, &ls, AT_SYMLINK_NOFOLLOW) == 0 ? ls.st_mode & 07777 : 0777;
					}
				}
			} else {
				uint32_t mode = hop__rd32(&r) & 07777;
				uint64_t size = hop__rd64(&r), mtime = hop__rd64(&r);
				uint64_t nblk = (size + DATADIR_BLOCK - 1) / DATADIR_BLOCK;
				if (r.bad || nblk > MAX_BLOCKS) {
					rc = hop__fail(HOP_EPROTO, "datadir: bad file header for %s", path);
				} else if ((fd = openat(pd, leaf, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
					rc = hop__sysfail("datadir: open %s", path);
				} else if (ftruncate(fd, (off_t)size) < 0) {
					rc = hop__sysfail("datadir: truncate %s", path);
				} else if (!(cur = man_get(&m, path))) {
					rc = hop__fail(HOP_ENOMEM, "datadir: no memory");
				} else {
					uint8_t *h = realloc(cur->hashes, nblk ? nblk * HASH_LEN : 1);
					if (!h) {
						rc = hop__fail(HOP_ENOMEM, "datadir: no memory");
					} else {
						if (cur->type != 'F')
							cur->nblk = 0;
						if (nblk > cur->nblk)
							memset(h + (size_t)cur->nblk * HASH_LEN, 0, (nblk - cur->nblk) * HASH_LEN);
						cur->hashes = h;
						cur->type = 'F';
						cur->nblk = (uint32_t)nblk;
						cur->size = size;
						cur->mode = mode;
						cur->mtime_ns = mtime;
						st->files_sent++;
					}
				}
			}
			close(pd);
			break;
		case 'B': {
			uint64_t off = hop__rd64(&r);
			size_t n = hop__rd_left(&r);
			const uint8_t *data = hop__rd_take(&r, n);
			if (fd < 0 || !cur || off % DATADIR_BLOCK || n > DATADIR_BLOCK || off / DATADIR_BLOCK >= cur->nblk ||
			    off + n > cur->size) {
				rc = hop__fail(HOP_EPROTO, "datadir: block outside its file");
				break;
			}
			if (pwrite(fd, data, n, (off_t)off) != (ssize_t)n) {
				rc = hop__sysfail("datadir: writing %s", cur->path);
				break;
			}
			crypto_generichash(cur->hashes + (off / DATADIR_BLOCK) * HASH_LEN, HASH_LEN, data, n, NULL, 0);
			st->blocks_sent++;
			st->bytes_sent += n;
			break;
		}
		case 'C': {
			if (fd < 0 || !cur) {
				rc = hop__fail(HOP_EPROTO, "datadir: file end without a file");
				break;
			}
			struct timespec ts[2] = { { 0, UTIME_OMIT },
						  { (time_t)(cur->mtime_ns / 1000000000ull), (long)(cur->mtime_ns % 1000000000ull) } };
			/* durable file by file (syncfs would flush the whole file
			 * system, other programs' writes included, inside the pause) */
			if (fchmod(fd, cur->mode) < 0 || futimens(fd, ts) < 0 || fdatasync(fd) < 0)
				rc = hop__sysfail("datadir: mode, time or sync of %s", cur->path);
			close(fd);
			fd = -1;
			cur = NULL;
			break;
		}
		case 'R': {
			if (len != 37 || fd >= 0) {
				rc = hop__fail(HOP_EPROTO, "datadir: bad round end");
				break;
			}
			uint8_t mine[32], a[5];
			digest(&m, mine);
			int ok = sodium_memcmp(mine, buf + 5, 32) == 0;
			st->rounds++;
			if (buf[4])
				done = 1;
			memcpy(a, buf, 4);
			a[4] = (uint8_t)ok;
			rc = send_frame(sock, 'A', a, 5, NULL, 0);
			if (rc == 0 && done && !ok)
				rc = hop__fail(HOP_EDIGEST, "datadir: %s differs from the origin's after the final round", dir);
			break;
		}
		default:
			rc = hop__fail(HOP_EPROTO, "datadir: unknown frame type 0x%02x", (unsigned char)type);
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	man_free(&m);
	close(root);
	return rc;
}
