/* db.c -- the keyspace: hash table, values, lists and expiry (see db.h).
 *
 * The table is Redis's design in small: two tables while resizing, and the
 * entries move from the old to the new one a few buckets at a time (one step
 * per lookup, a time budget per loop tick), so no single command pays for a
 * whole rehash of a million keys and the event loop keeps reaching its
 * transfer point every few milliseconds.
 */
#include "db.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "aof.h"
#include "util.h"

struct kvd_db kvd_db;

#define DB_MIN_SIZE 16

/* ---- hashing: SipHash-1-3, bytes read one by one (any byte order, any word size) ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);     \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                        \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                        \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);     \
	} while (0)

static uint64_t load_le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t db_hash(const char *key, uint32_t len)
{
	const unsigned char *p = (const unsigned char *)key;
	uint64_t k0 = kvd_db.seed[0], k1 = kvd_db.seed[1];
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	uint32_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = load_le64(p + i);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	for (uint32_t j = 0; j < left; j++)
		b |= (uint64_t)p[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void db_init(void)
{
	memset(&kvd_db, 0, sizeof(kvd_db));
	kvd_db.rehashidx = -1;
	/* a random key per fresh start keeps crafted keys from piling into one
	 * bucket; it is part of the state, so a moved process keeps it */
	if (getrandom(kvd_db.seed, sizeof(kvd_db.seed), 0) != (ssize_t)sizeof(kvd_db.seed)) {
		kvd_db.seed[0] = (uint64_t)kvd_now_ms();
		kvd_db.seed[1] = (uint64_t)kvd_mono_us();
	}
}

/* ---- entries -------------------------------------------------------------- */

void db_clear_value(struct kvd_entry *e)
{
	free(e->str);
	e->str = NULL;
	e->slen = e->scap = 0;
	if (e->list)
		list_free(e->list);
	e->list = NULL;
	e->type = 0;
}

static void entry_free(struct kvd_entry *e)
{
	db_clear_value(e);
	if (e->expire_ms)
		kvd_db.expires--;
	free(e->key);
	free(e);
}

/* A new value that fits the old one's block is written in place, as Redis
 * does for INCR: a server under a write load then does not free and allocate
 * a block per write, and a migration's delta is the changed bytes, not a
 * freed block and a new one (which costs the destination far more). */
void db_set_str(struct kvd_entry *e, const char *p, uint32_t len)
{
	if (e->type == KVD_STR && e->str && len <= e->scap && (e->scap - len <= 64 || len * 2 >= e->scap)) {
		memmove(e->str, p, len);
		e->str[len] = 0;
		e->slen = len;
		return;
	}
	db_clear_value(e);
	e->type = KVD_STR;
	e->str = kvd_memdup(p, len);
	e->slen = e->scap = len;
}

void db_set_expire(struct kvd_entry *e, int64_t when_ms)
{
	if (e->expire_ms && !when_ms)
		kvd_db.expires--;
	else if (!e->expire_ms && when_ms)
		kvd_db.expires++;
	e->expire_ms = when_ms;
}

/* ---- the table -------------------------------------------------------------- */

static int rehashing(void)
{
	return kvd_db.rehashidx >= 0;
}

/* Move up to n buckets of t[0] to t[1] (visiting at most 10*n empty ones).
 * Returns 1 while there is more to move. */
static int rehash_step(int n)
{
	int empty_visits = n * 10;
	struct kvd_table *from = &kvd_db.t[0], *to = &kvd_db.t[1];

	if (!rehashing())
		return 0;
	while (n-- && from->used) {
		while (from->bucket[kvd_db.rehashidx] == NULL) {
			kvd_db.rehashidx++;
			if (--empty_visits == 0)
				return 1;
		}
		struct kvd_entry *e = from->bucket[kvd_db.rehashidx];
		while (e) {
			struct kvd_entry *next = e->next;
			uint64_t idx = e->hash & (to->size - 1);
			e->next = to->bucket[idx];
			to->bucket[idx] = e;
			from->used--;
			to->used++;
			e = next;
		}
		from->bucket[kvd_db.rehashidx] = NULL;
		kvd_db.rehashidx++;
	}
	if (from->used == 0) {
		free(from->bucket);
		kvd_db.t[0] = kvd_db.t[1];
		memset(&kvd_db.t[1], 0, sizeof(kvd_db.t[1]));
		kvd_db.rehashidx = -1;
		kvd_db.rehashes++;
		return 0;
	}
	return 1;
}

static void resize_to(uint64_t size)
{
	struct kvd_table *t;

	if (rehashing())
		return;
	if ((size_t)size != size || size > SIZE_MAX / sizeof(struct kvd_entry *))
		return; /* a 32-bit build cannot index that many buckets: stay as we are */
	if (kvd_db.t[0].size == 0)
		t = &kvd_db.t[0];
	else
		t = &kvd_db.t[1];
	t->bucket = kvd_calloc((size_t)size, sizeof(struct kvd_entry *));
	t->size = size;
	t->used = 0;
	if (t == &kvd_db.t[1])
		kvd_db.rehashidx = 0;
}

static void maybe_grow(void)
{
	uint64_t used = kvd_db.t[0].used + kvd_db.t[1].used;
	if (rehashing())
		return;
	if (kvd_db.t[0].size == 0)
		resize_to(DB_MIN_SIZE);
	else if (used >= kvd_db.t[0].size)
		resize_to(kvd_db.t[0].size * 2);
}

static void maybe_shrink(void)
{
	uint64_t used = kvd_db.t[0].used, size = DB_MIN_SIZE;
	if (rehashing() || kvd_db.t[0].size <= DB_MIN_SIZE || used * 8 >= kvd_db.t[0].size)
		return;
	while (size < used)
		size *= 2;
	resize_to(size);
}

/* Entry for key in either table (no expiry check); *slot gets the link that
 * points to it and *table the table that holds it. */
static struct kvd_entry *find(const char *key, uint32_t len, uint64_t h, struct kvd_entry ***slot,
			      struct kvd_table **table)
{
	for (int i = 0; i < 2; i++) {
		struct kvd_table *t = &kvd_db.t[i];
		if (t->size == 0)
			continue;
		struct kvd_entry **pp = &t->bucket[h & (t->size - 1)];
		for (; *pp; pp = &(*pp)->next) {
			struct kvd_entry *e = *pp;
			if (e->hash == h && e->klen == len && memcmp(e->key, key, len) == 0) {
				*slot = pp;
				*table = t;
				return e;
			}
		}
		if (!rehashing())
			break;
	}
	return NULL;
}

static void unlink_free(struct kvd_entry **slot, struct kvd_table *t)
{
	struct kvd_entry *e = *slot;
	*slot = e->next;
	t->used--;
	entry_free(e);
}

static int expired(const struct kvd_entry *e, int64_t now)
{
	return e->expire_ms && !kvd_db.loading && e->expire_ms <= now;
}

struct kvd_entry *db_lookup(const char *key, uint32_t len)
{
	struct kvd_entry **slot, *e;
	struct kvd_table *t;
	uint64_t h = db_hash(key, len);

	rehash_step(1);
	e = find(key, len, h, &slot, &t);
	if (e && expired(e, kvd_now_ms())) {
		/* the AOF gets the DEL before whatever command follows, so a replay
		 * sees the same keyspace this command saw */
		aof_feed_del(key, len);
		unlink_free(slot, t);
		kvd_db.expired++;
		maybe_shrink();
		return NULL;
	}
	return e;
}

struct kvd_entry *db_lookup_or_add(const char *key, uint32_t len, int *created)
{
	struct kvd_entry *e = db_lookup(key, len);
	struct kvd_table *t;

	*created = 0;
	if (e)
		return e;
	maybe_grow();
	t = rehashing() ? &kvd_db.t[1] : &kvd_db.t[0];
	e = kvd_calloc(1, sizeof(*e));
	e->key = kvd_memdup(key, len);
	e->klen = len;
	e->hash = db_hash(key, len);
	uint64_t idx = e->hash & (t->size - 1);
	e->next = t->bucket[idx];
	t->bucket[idx] = e;
	t->used++;
	*created = 1;
	return e;
}

int db_delete(const char *key, uint32_t len)
{
	struct kvd_entry **slot, *e;
	struct kvd_table *t;
	uint64_t h = db_hash(key, len);

	rehash_step(1);
	e = find(key, len, h, &slot, &t);
	if (!e)
		return 0;
	int live = !expired(e, kvd_now_ms());
	unlink_free(slot, t);
	if (!live)
		kvd_db.expired++;
	maybe_shrink();
	return live;
}

uint64_t db_size(void)
{
	return kvd_db.t[0].used + kvd_db.t[1].used;
}

void db_flush(void)
{
	for (int i = 0; i < 2; i++) {
		struct kvd_table *t = &kvd_db.t[i];
		for (uint64_t b = 0; b < t->size; b++) {
			struct kvd_entry *e = t->bucket[b];
			while (e) {
				struct kvd_entry *next = e->next;
				entry_free(e);
				e = next;
			}
		}
		free(t->bucket);
		memset(t, 0, sizeof(*t));
	}
	kvd_db.rehashidx = -1;
	kvd_db.expires = 0;
	kvd_db.expire_cursor = 0;
}

void db_rehash_us(int64_t budget_us)
{
	int64_t start = kvd_mono_us();
	while (rehash_step(100))
		if (kvd_mono_us() - start >= budget_us)
			break;
}

/* Walk buckets from a cursor (over t[1] while rehashing: t[0]'s keys get
 * there soon enough) and delete expired keys, within the time budget. Keys
 * nobody asks for are reclaimed this way; lazy expiry covers the rest. */
void db_active_expire(int64_t now_ms, int64_t budget_us)
{
	int64_t start = kvd_mono_us();
	struct kvd_table *t = rehashing() ? &kvd_db.t[1] : &kvd_db.t[0];
	int n = 0;

	if (kvd_db.expires == 0 || t->size == 0 || kvd_db.loading)
		return;
	for (uint64_t visited = 0; visited < t->size; visited++) {
		uint64_t b = kvd_db.expire_cursor++ & (t->size - 1);
		struct kvd_entry **pp = &t->bucket[b];
		while (*pp) {
			struct kvd_entry *e = *pp;
			if (e->expire_ms && e->expire_ms <= now_ms) {
				aof_feed_del(e->key, e->klen);
				*pp = e->next;
				t->used--;
				entry_free(e);
				kvd_db.expired++;
			} else {
				pp = &e->next;
			}
		}
		/* the clock is read every 64 buckets: cheap enough, bounded enough */
		if ((++n & 63) == 0 && kvd_mono_us() - start >= budget_us)
			break;
	}
	maybe_shrink();
}

/* ---- lists ------------------------------------------------------------------ */

struct kvd_list *list_new(void)
{
	return kvd_calloc(1, sizeof(struct kvd_list));
}

void list_node_free(struct kvd_lnode *n)
{
	free(n->data);
	free(n);
}

void list_free(struct kvd_list *l)
{
	struct kvd_lnode *n = l->head;
	while (n) {
		struct kvd_lnode *next = n->next;
		list_node_free(n);
		n = next;
	}
	free(l);
}

void list_push(struct kvd_list *l, int head, const char *p, uint32_t len)
{
	struct kvd_lnode *n = kvd_malloc(sizeof(*n));
	n->data = kvd_memdup(p, len);
	n->len = len;
	if (head) {
		n->prev = NULL;
		n->next = l->head;
		if (l->head)
			l->head->prev = n;
		else
			l->tail = n;
		l->head = n;
	} else {
		n->next = NULL;
		n->prev = l->tail;
		if (l->tail)
			l->tail->next = n;
		else
			l->head = n;
		l->tail = n;
	}
	l->len++;
}

struct kvd_lnode *list_pop(struct kvd_list *l, int head)
{
	struct kvd_lnode *n = head ? l->head : l->tail;
	if (!n)
		return NULL;
	if (n->prev)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	l->len--;
	n->prev = n->next = NULL;
	return n;
}

struct kvd_lnode *list_index(struct kvd_list *l, int64_t i)
{
	struct kvd_lnode *n;
	if (i < l->len / 2) {
		for (n = l->head; i > 0; i--)
			n = n->next;
	} else {
		for (n = l->tail, i = l->len - 1 - i; i > 0; i--)
			n = n->prev;
	}
	return n;
}
