/* aof.h -- append-only persistence in --dir DIR (see aof.c). */
#ifndef KVD_AOF_H
#define KVD_AOF_H

#include <stdint.h>

#include "util.h"

/* Replay DIR/kvd.aof (if any) into the keyspace, then open it for appending.
 * 0, or -1 after logging why (the server must not start on a bad file). */
int aof_start(void);
/* Queue one write command, in RESP form (no-op without --dir or while loading). */
void aof_feed(int argc, const struct kvd_arg *argv);
void aof_feed_del(const char *key, uint32_t len);
/* Write what is queued; fsync as the policy says (always: now; everysec: if
 * a second has passed). Called before replies are sent. */
void aof_flush(void);
/* Write and fsync everything (shutdown). */
void aof_close(void);

#endif
