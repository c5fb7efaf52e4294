/* selfindex.c -- the running program's own index.
 *
 * `hop cc` attaches the index to the executable as the non-loaded section
 * ".hop_index"; we read it back from /proc/self/exe (qemu-user maps that to
 * the guest executable too). $HOP_INDEX names an index file instead, for
 * programs indexed separately. The load bias of a PIE comes from one known
 * function: its run-time address minus its address in the index. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "elf.h"
#include "err.h"
#include "index.h"

static struct hop_index *self_idx;
static intptr_t self_bias;

int hop__self_index(const struct hop_index **out, intptr_t *bias)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;
	uint8_t arch, psize, be, ld;

	if (self_idx) {
		*out = self_idx;
		*bias = self_bias;
		return 0;
	}
	const char *path = getenv("HOP_INDEX");
	if (path && *path)
		rc = hop__read_file(path, &buf, &len);
	else {
		rc = hop__elf_section("/proc/self/exe", ".hop_index", &buf, &len);
		if (rc == HOP_ENOENT)
			rc = hop__fail(HOP_ENOINDEX, "this executable has no .hop_index section: build it with `hop cc`");
	}
	if (rc < 0)
		return rc;

	struct hop_index *idx;
	rc = hop__index_decode(buf, len, &idx);
	free(buf);
	if (rc < 0)
		return rc;
	hop__native_target(&arch, &psize, &be, &ld);
	if (idx->arch != arch || idx->pointer_size != psize || idx->big_endian != be) {
		rc = hop__fail(HOP_ETARGET, "attached index is for %s (%u-byte pointers, %s endian), this is %s",
			       hop__arch_name(idx->arch), idx->pointer_size, idx->big_endian ? "big" : "little",
			       hop__arch_name(arch));
		hop__index_free(idx);
		return rc;
	}
	const struct hop_func *anchor = hop__index_func(idx, "hop_init");
	if (!anchor) {
		hop__index_free(idx);
		return hop__fail(HOP_EFORMAT, "index lists no function hop_init: was the program linked with libhop?");
	}
	self_bias = (intptr_t)((uintptr_t)&hop_init - (uintptr_t)anchor->address);
	self_idx = idx;
	*out = idx;
	*bias = self_bias;
	return 0;
}
