/* track_uffd.c -- the fast dirty tracker: userfaultfd write-protect in
 * asynchronous mode, read and re-armed with the PAGEMAP_SCAN ioctl.
 *
 * With UFFD_FEATURE_WP_ASYNC the kernel resolves a write to a protected page
 * itself (no signal, no handler thread) and only records that the page was
 * written; PAGEMAP_SCAN with PM_SCAN_WP_MATCHING reports the written pages
 * and protects them again in one atomic pass. Kernel writes (read(2) into
 * tracked memory) just work. UFFD_FEATURE_WP_UNPOPULATED makes pages never
 * touched count as protected too. Needs Linux >= 6.7; probed at run time.
 * The installed headers may be older: the constants below are from the
 * kernel's uapi (include/uapi/linux/userfaultfd.h and fs.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>

#include "err.h"
#include "fds.h"
#include "track.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif

#ifndef PAGEMAP_SCAN
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
struct page_region {
	uint64_t start;
	uint64_t end;
	uint64_t categories;
};
struct pm_scan_arg {
	uint64_t size;
	uint64_t flags;
	uint64_t start;
	uint64_t end;
	uint64_t walk_end;
	uint64_t vec;
	uint64_t vec_len;
	uint64_t max_pages;
	uint64_t category_inverted;
	uint64_t category_mask;
	uint64_t category_anyof_mask;
	uint64_t return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

#define NVEC 512

static int uffd = -1, pagemap = -1;
static struct page_region *vec; /* mmap'ed: kept out of the tracked .bss */

static int uf_open(void)
{
#ifndef __NR_userfaultfd
	return hop__fail(HOP_ENOTSUP, "uffd tracker: no userfaultfd system call on this target");
#else
	int fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == EPERM) /* unprivileged: async WP needs no kernel-mode faults */
		fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return errno == ENOSYS ? hop__fail(HOP_ENOTSUP, "uffd tracker: userfaultfd is not available here (ENOSYS)")
				       : hop__sysfail("uffd tracker: userfaultfd()");
	struct uffdio_api api;
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	api.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		close(fd);
		return hop__fail(HOP_ENOTSUP, "uffd tracker: the kernel lacks UFFD_FEATURE_WP_ASYNC/WP_UNPOPULATED (%s)",
				 strerror(errno));
	}
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0) {
		close(fd);
		return hop__sysfail("uffd tracker: open /proc/self/pagemap");
	}
	/* probe PAGEMAP_SCAN on an empty range */
	struct pm_scan_arg arg;
	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	if (ioctl(pm, PAGEMAP_SCAN, &arg) < 0 && (errno == ENOTTY || errno == EOPNOTSUPP)) {
		close(pm);
		close(fd);
		return hop__fail(HOP_ENOTSUP, "uffd tracker: the kernel lacks the PAGEMAP_SCAN ioctl");
	}
	if (!vec) {
		void *v = mmap(NULL, NVEC * sizeof(*vec), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (v == MAP_FAILED) {
			close(pm);
			close(fd);
			return hop__sysfail("uffd tracker: mmap");
		}
		vec = v;
	}
	uffd = fd;
	pagemap = pm;
	static int own_marked; /* the tracker's descriptors are hop's, never the program's (fds.c) */
	if (!own_marked) {
		hop__fds_own_var(&uffd);
		hop__fds_own_var(&pagemap);
		own_marked = 1;
	}
	return 0;
#endif
}

static int uf_add(struct hop__trange *r)
{
	struct uffdio_register reg;
	memset(&reg, 0, sizeof(reg));
	reg.range.start = r->start;
	reg.range.len = r->end - r->start;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
		return hop__sysfail("uffd tracker: UFFDIO_REGISTER %#lx-%#lx", (unsigned long)r->start,
				    (unsigned long)r->end);
	struct uffdio_writeprotect wp;
	memset(&wp, 0, sizeof(wp));
	wp.range.start = r->start;
	wp.range.len = r->end - r->start;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) < 0)
		return hop__sysfail("uffd tracker: UFFDIO_WRITEPROTECT %#lx-%#lx", (unsigned long)r->start,
				    (unsigned long)r->end);
	return 0;
}

static int uf_collect(struct hop__trange *r, int (*emit)(uintptr_t s, uintptr_t e), int rearm)
{
	struct pm_scan_arg arg; /* collect runs on one thread (the agent): vec is its own */
	uint64_t start = r->start;
	while (start < r->end) {
		memset(&arg, 0, sizeof(arg));
		arg.size = sizeof(arg);
		arg.flags = rearm ? PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC : 0;
		arg.start = start;
		arg.end = r->end;
		arg.vec = (uintptr_t)vec;
		arg.vec_len = NVEC;
		arg.category_mask = PAGE_IS_WRITTEN;
		arg.return_mask = PAGE_IS_WRITTEN;
		long n = ioctl(pagemap, PAGEMAP_SCAN, &arg);
		if (n < 0)
			return hop__sysfail("uffd tracker: PAGEMAP_SCAN %#lx-%#lx", (unsigned long)start,
					    (unsigned long)r->end);
		for (long i = 0; i < n; i++) {
			int rc = emit((uintptr_t)vec[i].start, (uintptr_t)vec[i].end);
			if (rc < 0)
				return rc;
		}
		if (arg.walk_end <= start)
			break;
		start = arg.walk_end;
	}
	return 0;
}

static void uf_close(void)
{
	size_t n = hop__track_nranges();
	for (size_t i = 0; i < n; i++) {
		struct hop__trange *r = hop__track_range(i);
		struct uffdio_range rg = { .start = r->start, .len = r->end - r->start };
		ioctl(uffd, UFFDIO_UNREGISTER, &rg);
	}
	close(pagemap);
	close(uffd);
	uffd = pagemap = -1;
}

const struct hop__track_ops hop__track_uffd = {
	.name = "uffd",
	.open = uf_open,
	.add = uf_add,
	.collect = uf_collect,
	.close = uf_close,
};
