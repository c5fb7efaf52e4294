/* fuzz_index.c -- libFuzzer target: hop__index_decode() over damaged indexes.
 * A decoded index is then verified and given to the layout cache and the
 * hint parser, which must cope with whatever the decoder accepted. */
#include <stdlib.h>

#include "digest.h"
#include "fuzz_common.h"
#include "index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b = malloc(size ? size : 1);
	if (!b)
		return 0;
	memcpy(b, data, size);
	fix_index(b, size);
	struct hop_index *idx;
	if (hop__index_decode(b, size, &idx) == 0) {
		struct hop_lay *l;
		if (hop__lay_new(idx, &l) == 0) {
			for (uint32_t t = 0; t < idx->ntypes; t++)
				hop__lay_has_ptr(l, t);
			hop__lay_free(l);
		}
		hop__index_free(idx);
	}
	free(b);
	return 0;
}
