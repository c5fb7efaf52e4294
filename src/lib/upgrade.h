/* upgrade.h -- what an upgrade hook (hop.h HOP_UPGRADE) sees of the old
 * version: one object's bytes in the old build's layout, read by member name
 * through hop_old_int() and friends (upgrade.c). xlate.c builds one per call.
 */
#ifndef HOP_UPGRADE_H
#define HOP_UPGRADE_H

#include <stdint.h>

#include "index.h"

struct hop_old {
	const struct hop_index *idx; /* the old build's index */
	uint32_t type;               /* type of the object (one element) in idx */
	const uint8_t *bytes;        /* its bytes, as the old build laid them out */
	uint64_t size;               /* bytes readable at `bytes` */
};

#endif
