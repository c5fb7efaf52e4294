/* proto.h -- RESP2: reading requests, writing replies (see proto.c). */
#ifndef KVD_PROTO_H
#define KVD_PROTO_H

#include <stdint.h>

#include "net.h"

#define PROTO_INLINE_MAX (64 * 1024)
#define PROTO_BULK_MAX (512 * 1024 * 1024)
#define PROTO_MBULK_MAX (1024 * 1024)
#define PROTO_OUT_MAX (1024u * 1024 * 1024)

/* 1: a complete request is in c->argv; 0: more input needed; -1: protocol
 * error (an error reply is queued and c->closing set). */
int proto_parse(struct kvd_client *c);
/* Forget the request just run; the next one starts at c->in_pos. */
void proto_reset(struct kvd_client *c);
/* Bytes the request being read still needs, at least (for sizing reads). */
uint32_t proto_needed(const struct kvd_client *c);
/* Drop consumed input from the front of the buffer. */
void proto_compact(struct kvd_client *c);

void reply_raw(struct kvd_client *c, const char *p, uint32_t len);
void reply_status(struct kvd_client *c, const char *s);        /* +s */
void reply_error(struct kvd_client *c, const char *fmt, ...)   /* -fmt (starts with ERR, WRONGTYPE ...) */
	__attribute__((format(printf, 2, 3)));
void reply_int(struct kvd_client *c, int64_t v);
void reply_bulk(struct kvd_client *c, const char *p, uint32_t len);
void reply_cstr(struct kvd_client *c, const char *s);          /* bulk of a C string */
void reply_nil(struct kvd_client *c);                          /* $-1 */
void reply_array(struct kvd_client *c, int64_t n);             /* *n */

#endif
