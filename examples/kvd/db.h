/* db.h -- kvd's keyspace: a chained hash table with incremental rehash, the
 * values it holds (strings and doubly linked lists) and key expiry.
 *
 * Shaped for hop: every heap block has one C type and is reached from the
 * global `kvd_db` through typed pointers only (no void *, no unions, no
 * pointers into the middle of a block), so the translator can move it to a
 * build with another word size or byte order. Keys and string values are
 * separate `char` blocks (length kept beside the pointer, a NUL after the last
 * byte only for convenience: they are binary-safe). The hash function reads
 * bytes one at a time and computes in uint64_t, so a key lands in the same
 * bucket on every target, and the cached hash in each entry stays valid after
 * a move.
 */
#ifndef KVD_DB_H
#define KVD_DB_H

#include <stdint.h>

enum kvd_type { KVD_STR = 1, KVD_LIST = 2 };

struct kvd_lnode {
	struct kvd_lnode *prev, *next;
	char *data;   /* len bytes + NUL */
	uint32_t len;
};

struct kvd_list {
	struct kvd_lnode *head, *tail;
	int64_t len;
};

struct kvd_entry {
	struct kvd_entry *next; /* bucket chain */
	char *key;              /* klen bytes + NUL */
	uint32_t klen;
	uint32_t slen;          /* KVD_STR: value length */
	uint8_t type;           /* enum kvd_type */
	uint32_t scap;          /* KVD_STR: bytes str can hold before its NUL */
	char *str;              /* KVD_STR: slen bytes + NUL; else NULL */
	struct kvd_list *list;  /* KVD_LIST; else NULL */
	int64_t expire_ms;      /* absolute CLOCK_REALTIME ms; 0: never */
	uint64_t hash;          /* kvd_hash(key): same on every target */
#ifdef KVD_V2
	uint64_t hits;          /* v2 (docs/upgrade.md): GETs of this key; 0 for keys from v1 */
#endif
};

struct kvd_table {
	struct kvd_entry **bucket; /* size chains */
	uint64_t size;             /* power of two, or 0 */
	uint64_t used;
};

struct kvd_db {
	struct kvd_table t[2]; /* t[1] is the new table while rehashing */
	int64_t rehashidx;     /* next bucket of t[0] to move; -1: not rehashing */
	uint64_t seed[2];      /* hash key, random per fresh start, moves with the state */
	int64_t expires;       /* keys with an expiry */
	uint64_t expire_cursor;/* active expiry walks the buckets from here */
	int64_t rehashes;      /* completed rehashes (INFO) */
	int64_t expired;       /* keys removed by expiry (INFO) */
	int loading;           /* replaying the AOF: no expiry (see aof.c) */
};

extern struct kvd_db kvd_db;

void db_init(void);
uint64_t db_hash(const char *key, uint32_t len);

/* The live entry for key, or NULL. Expired keys are deleted first (lazy
 * expiry) unless loading. Does a rehash step. */
struct kvd_entry *db_lookup(const char *key, uint32_t len);
/* The entry for key, created empty (type 0, no value) if missing; *created says which. */
struct kvd_entry *db_lookup_or_add(const char *key, uint32_t len, int *created);
/* Remove key; 1 if it existed. */
int db_delete(const char *key, uint32_t len);
/* Drop the entry's value (keeps key and expiry). */
void db_clear_value(struct kvd_entry *e);
void db_set_str(struct kvd_entry *e, const char *p, uint32_t len);
void db_set_expire(struct kvd_entry *e, int64_t when_ms);
uint64_t db_size(void);
void db_flush(void);

/* Work done on every loop tick: up to budget_us of rehashing and of active
 * expiry (sampling buckets for expired keys). */
void db_rehash_us(int64_t budget_us);
void db_active_expire(int64_t now_ms, int64_t budget_us);

/* Lists. */
struct kvd_list *list_new(void);
void list_free(struct kvd_list *l);
void list_push(struct kvd_list *l, int head, const char *p, uint32_t len);
/* Unlinks and returns the first (head) or last node; caller frees it with list_node_free. */
struct kvd_lnode *list_pop(struct kvd_list *l, int head);
void list_node_free(struct kvd_lnode *n);
/* Node at index i (0 <= i < len), walking from the nearer end. */
struct kvd_lnode *list_index(struct kvd_list *l, int64_t i);

#endif
