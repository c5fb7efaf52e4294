/* elf.c -- see elf.h. Reads the ELF header and section headers with the
 * file's own class and byte order, checking every offset against the file's
 * size before using it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf.h"
#include "err.h"

struct elf_file {
	const char *path;
	int fd;
	uint64_t size;
	int bits, be;
	uint8_t ehdr[64];
};

static uint64_t get(const struct elf_file *f, const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[f->be ? n - 1 - i : i] << (8 * i);
	return v;
}

static int read_at(const struct elf_file *f, uint64_t off, void *buf, size_t n)
{
	if (off > f->size || n > f->size - off)
		return hop__fail(HOP_EFORMAT, "%s: ELF offset %llu+%zu beyond the file's %llu bytes", f->path,
				 (unsigned long long)off, n, (unsigned long long)f->size);
	size_t done = 0;
	while (done < n) {
		ssize_t r = pread(f->fd, (char *)buf + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? hop__sysfail("%s: read", f->path)
				     : hop__fail(HOP_EFORMAT, "%s: unexpected end of file", f->path);
		done += (size_t)r;
	}
	return 0;
}

static int elf_open(struct elf_file *f, const char *path)
{
	struct stat st;
	f->path = path;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return hop__sysfail("%s: open", path);
	if (fstat(f->fd, &st) < 0) {
		int rc = hop__sysfail("%s: stat", path);
		close(f->fd);
		return rc;
	}
	f->size = (uint64_t)st.st_size;
	if (f->size < 52 || read_at(f, 0, f->ehdr, f->size < 64 ? 52 : 64) < 0 ||
	    memcmp(f->ehdr, "\177ELF", 4) != 0 || (f->ehdr[4] != 1 && f->ehdr[4] != 2) ||
	    (f->ehdr[5] != 1 && f->ehdr[5] != 2)) {
		close(f->fd);
		return hop__fail(HOP_EFORMAT, "%s: not an ELF file", path);
	}
	f->bits = f->ehdr[4] == 2 ? 64 : 32;
	f->be = f->ehdr[5] == 2;
	return 0;
}

int hop__elf_ident(const char *path, int *bits, int *big_endian, int *machine)
{
	struct elf_file f;
	int rc = elf_open(&f, path);
	if (rc < 0)
		return rc;
	*bits = f.bits;
	*big_endian = f.be;
	*machine = (int)get(&f, f.ehdr + 18, 2);
	close(f.fd);
	return 0;
}

int hop__elf_section(const char *path, const char *name, uint8_t **buf, size_t *len)
{
	struct elf_file f;
	uint8_t *shdrs = NULL, *names = NULL;
	int rc = elf_open(&f, path);

	*buf = NULL;
	*len = 0;
	if (rc < 0)
		return rc;
	int w = f.bits == 64 ? 8 : 4; /* width of addresses and offsets */
	uint64_t shoff = get(&f, f.ehdr + (f.bits == 64 ? 40 : 32), w);
	const uint8_t *h = f.ehdr + (f.bits == 64 ? 58 : 46);
	uint64_t shentsize = get(&f, h, 2), shnum = get(&f, h + 2, 2), shstrndx = get(&f, h + 4, 2);
	uint64_t need = f.bits == 64 ? 64 : 40;

	if (shoff == 0 || shnum == 0 || shentsize < need || shstrndx >= shnum) {
		rc = hop__fail(HOP_EFORMAT, "%s: no section headers", path);
		goto out;
	}
	shdrs = malloc(shentsize * shnum);
	if (!shdrs) {
		rc = hop__fail(HOP_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	if ((rc = read_at(&f, shoff, shdrs, shentsize * shnum)) < 0)
		goto out;

	/* section header fields: name(4) type(4) flags(w) addr(w) offset(w) size(w) */
#define SH_OFFSET(s) get(&f, (s) + 8 + 2 * w, w)
#define SH_SIZE(s) get(&f, (s) + 8 + 3 * w, w)
	const uint8_t *strsh = shdrs + shentsize * shstrndx;
	uint64_t names_size = SH_SIZE(strsh);
	if (names_size == 0 || names_size > (1u << 24)) {
		rc = hop__fail(HOP_EFORMAT, "%s: bad section name table", path);
		goto out;
	}
	names = malloc(names_size + 1);
	if (!names) {
		rc = hop__fail(HOP_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	if ((rc = read_at(&f, SH_OFFSET(strsh), names, names_size)) < 0)
		goto out;
	names[names_size] = '\0';

	rc = hop__fail(HOP_ENOENT, "%s: no section %s", path, name);
	for (uint64_t i = 0; i < shnum; i++) {
		const uint8_t *s = shdrs + shentsize * i;
		uint64_t noff = get(&f, s, 4);
		if (noff >= names_size || strcmp((char *)names + noff, name) != 0)
			continue;
		uint64_t type = get(&f, s + 4, 4), size = SH_SIZE(s);
		if (type == 8 /* SHT_NOBITS */) {
			rc = hop__fail(HOP_EFORMAT, "%s: section %s has no contents", path, name);
			break;
		}
		if (size > f.size) {
			rc = hop__fail(HOP_EFORMAT, "%s: section %s is larger than the file", path, name);
			break;
		}
		*buf = malloc(size ? size : 1);
		if (!*buf) {
			rc = hop__fail(HOP_ENOMEM, "%s: out of memory for section %s", path, name);
			break;
		}
		rc = read_at(&f, SH_OFFSET(s), *buf, size);
		if (rc < 0) {
			free(*buf);
			*buf = NULL;
			break;
		}
		*len = size;
		break;
	}
#undef SH_OFFSET
#undef SH_SIZE
out:
	free(shdrs);
	free(names);
	close(f.fd);
	return rc;
}

int hop__read_file(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return hop__sysfail("%s: open", path);
	size_t cap = 1 << 16, n = 0;
	uint8_t *b = malloc(cap);
	while (b) {
		size_t r = fread(b + n, 1, cap - n, f);
		n += r;
		if (n < cap)
			break;
		uint8_t *nb = cap > (1u << 30) ? NULL : realloc(b, cap * 2);
		if (!nb) {
			free(b);
			b = NULL;
			break;
		}
		b = nb;
		cap *= 2;
	}
	int err = ferror(f);
	fclose(f);
	if (!b)
		return hop__fail(HOP_ENOMEM, "%s: too large or out of memory", path);
	if (err) {
		free(b);
		return hop__fail(HOP_ESYS, "%s: read error", path);
	}
	*buf = b;
	*len = n;
	return 0;
}
