/* xlate.h -- the translator: live state from one build's layout into another's
 * (interface; scan.c, xlate.c and digest.c implement it).
 *
 * The origin side *scans*: starting from its globals it follows typed
 * pointers, finds the heap blocks they reach (hop__heap_find), and gives each
 * block a type and an element count (hints resolve void * and tagged unions).
 * The result is a list of *objects*: globals, heap blocks and read-only
 * literals, each with its origin address, origin type and bytes.
 *
 * The destination side *translates*: for each object as it arrives (any
 * order, any number of times), it converts every value from the origin's
 * layout (index `from`) to its own (index `to`) and stores it in its own
 * globals or in a block it allocates. A pointer to a block that has not
 * arrived yet is parked and patched when the block arrives. finish() fails
 * if anything is still unresolved.
 *
 * Values are never guessed: anything that cannot be translated exactly fails
 * with HOP_EXLATE / HOP_ERANGE / HOP_EHINT and a message naming its path,
 * e.g. "Chat->clients[5]->nick: ...".
 *
 * The digest is a layout-independent hash of the reachable state: values
 * normalised, pointers as (origin block address, logical offset). It is a sum
 * of per-object hashes, so it can be updated object by object.
 */
#ifndef HOP_XLATE_H
#define HOP_XLATE_H

#include <stddef.h>
#include <stdint.h>

#include "index.h"

#define HOP_DIGEST_LEN 16 /* bytes of a state digest (digest.c: a 128-bit sum) */

enum hop_obj_kind {
	HOP_OBJ_GLOBAL = 1,  /* a global variable: `var` is its id in the origin index */
	HOP_OBJ_BLOCK = 2,   /* a heap block: `count` elements of `type` (+ trailing bytes) */
	HOP_OBJ_LITERAL = 3, /* read-only bytes of the executable a pointer reaches (string literal) */
};

/* An object of the origin's state, as the scan finds it and the wire carries it. */
struct hop_obj {
	uint8_t kind;    /* enum hop_obj_kind */
	uint32_t var;    /* GLOBAL: origin variable id; else HOP_NONE */
	uint64_t addr;   /* origin run-time address of the first byte */
	uint64_t size;   /* bytes (BLOCK: what the program asked for) */
	uint32_t type;   /* origin type id of one element; HOP_NONE for LITERAL / raw bytes */
	uint64_t count;  /* BLOCK: number of elements of `type` (size may exceed count * type size) */
};

/* How the runtime's heap is reached: the real one (hop__heap_*) by default;
 * tests may pass their own. */
struct hop_heap_ops {
	/* block containing addr, or ending at it; 1 found, 0 not */
	int (*find)(void *ctx, uint64_t addr, uint64_t *start, uint64_t *size);
	void *(*alloc)(void *ctx, size_t size); /* zeroed memory */
	void (*release)(void *ctx, void *p);
	void *ctx;
	/* optional, like realloc (the block's address after, p when it stayed in
	 * place; NULL and p untouched on failure): lets the destination give a
	 * block that comes back larger the memory of the one dropped there */
	void *(*resize)(void *ctx, void *p, size_t size);
};
extern const struct hop_heap_ops hop__real_heap;

/* ---- origin: scan ------------------------------------------------------- */
struct hop_scan;

/* idx: the origin's own index; bias: its load bias (run-time = index address + bias). */
int hop__scan_new(const struct hop_index *idx, intptr_t bias, const struct hop_heap_ops *heap,
		  struct hop_scan **out);
void hop__scan_free(struct hop_scan *s);
/* Everything reachable from the globals. 0 or HOP_E* (message names the path). */
int hop__scan_all(struct hop_scan *s);
/* Incremental: the bytes of these origin address ranges changed; re-read the
 * pointers in the objects that overlap them, add blocks newly reached.
 * ranges: n pairs [start, end). Objects touched are marked changed. */
int hop__scan_changed(struct hop_scan *s, const uint64_t (*ranges)[2], size_t n);
/* The origin freed this block: forget it (its id stays, hop__scan_obj()
 * returns NULL for it). 0 or HOP_ENOENT. */
int hop__scan_drop(struct hop_scan *s, uint64_t addr);
/* Blocks the last passes found at an address they knew with another size
 * (resized in place by realloc, or freed and reused unheard of), since the
 * last call. Like freed blocks, the destination must drop them before
 * anything of the next phase is translated: a pointer to such an address
 * would otherwise resolve to the old block's memory there. */
size_t hop__scan_take_replaced(struct hop_scan *s, const uint64_t **addrs);
/* The objects found, in a stable order (new ones appended). */
size_t hop__scan_count(const struct hop_scan *s);
const struct hop_obj *hop__scan_obj(const struct hop_scan *s, size_t i);
/* The live object starting at origin address addr, or -1. */
long hop__scan_find(const struct hop_scan *s, uint64_t addr);
/* Mark object id changed (the destination asks for it whole again). */
void hop__scan_mark(struct hop_scan *s, size_t id);
/* Objects marked changed since the last call (ids into hop__scan_obj), cleared. */
size_t hop__scan_take_changed(struct hop_scan *s, size_t **ids);
/* Layout-independent digest of the origin's reachable state. */
int hop__scan_digest(struct hop_scan *s, uint8_t digest[HOP_DIGEST_LEN]);
/* Hash ahead up to max objects hop__scan_digest would hash (the origin does it
 * while its sends wait on the link): 1 if more are left, 0 if none (or on a
 * failure, which hop__scan_digest meets and reports). */
int hop__scan_digest_step(struct hop_scan *s, size_t max);

/* ---- destination: translate --------------------------------------------- */
struct hop_xlate;

/* from: the origin's index; from_bias: the origin's load bias (it sends it;
 * 64 bits, since a 64-bit origin's bias does not fit a 32-bit intptr_t);
 * to / to_bias: this process's own index and bias. */
int hop__xlate_new(const struct hop_index *from, int64_t from_bias, const struct hop_index *to,
		   int64_t to_bias, const struct hop_heap_ops *heap, struct hop_xlate **out);
void hop__xlate_free(struct hop_xlate *x);
/* Translate one object; bytes holds o->size bytes in the origin's layout.
 * Again for an object already translated: its values are replaced. */
int hop__xlate_object(struct hop_xlate *x, const struct hop_obj *o, const void *bytes);
/* Same for a changed byte range [off, off + len) of an object already sent:
 * re-translates only the elements/members overlapping the range. */
int hop__xlate_range(struct hop_xlate *x, const struct hop_obj *o, uint64_t off, const void *bytes,
		     uint64_t len);
/* About n objects are coming (the bulk phase's records): size the address
 * maps for them now, so they never grow (rehash) during the bulk. A hint:
 * 0, or HOP_ENOMEM with the maps as they were (they grow as needed). */
int hop__xlate_reserve(struct hop_xlate *x, uint32_t n);
/* An object at this origin address comes soon: start loading what finding
 * it will read (the records of a frame are looked up one after the other,
 * each a cache miss in a large map unless asked for ahead). */
void hop__xlate_prefetch(const struct hop_xlate *x, uint64_t origin_addr);
/* The origin freed this block (or it is no longer reached): drop it. */
int hop__xlate_drop(struct hop_xlate *x, uint64_t origin_addr);
/* Write the parked pointers whose target has arrived since (between phases),
 * so that finish() at the switch only sees what the final delta parked. 0 or HOP_ENOMEM. */
int hop__xlate_settle(struct hop_xlate *x);
/* All pointers resolved? 0 or HOP_EXLATE naming the first dangling path. */
int hop__xlate_finish(struct hop_xlate *x);
/* Digest of the translated state, comparable with hop__scan_digest(). Kept
 * object by object: only objects translated since the last call are hashed. */
int hop__xlate_digest(struct hop_xlate *x, uint8_t digest[HOP_DIGEST_LEN]);
/* Hash what changed since the last call now (between rounds), so that the
 * digest at the switch costs only the final delta. 0 or HOP_E*. */
int hop__xlate_digest_warm(struct hop_xlate *x);
/* Forget every kept hash: the next digest hashes the whole state again
 * (after something other than the translator wrote translated memory). */
void hop__xlate_digest_reset(struct hop_xlate *x);
/* How many objects the next hop__xlate_digest_warm would hash (every one
 * when the kept hashes cannot be trusted): the destination does a large
 * amount before it acknowledges a phase, so that it never runs into the
 * pause unseen by the origin. */
size_t hop__xlate_digest_pending(const struct hop_xlate *x);

/* ---- objects on the wire / in an image file ----------------------------------
 * Fixed-width big-endian record: kind u8, var u32, addr u64, size u64,
 * type u32, count u64 (33 bytes), followed by the bytes. */
#define HOP_OBJ_HEADER 33
void hop__obj_encode(const struct hop_obj *o, uint8_t out[HOP_OBJ_HEADER]);
/* 0 or HOP_EFORMAT (bad kind, sizes beyond limit). */
int hop__obj_decode(const uint8_t in[HOP_OBJ_HEADER], struct hop_obj *o);

#endif
