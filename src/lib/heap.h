/* heap.h -- hop's allocator and block table (interface; heap.c implements).
 *
 * Every allocation of a hop program goes through here (`hop cc` wraps
 * malloc, calloc, realloc, free, posix_memalign, aligned_alloc, strdup ...),
 * so hop knows where each live block starts and how many bytes the program
 * asked for: the translator finds blocks by address and infers array lengths
 * from sizes; the tracker maps dirty pages to blocks; the destination
 * allocates the origin's blocks in its own heap. All heap memory lies in
 * mappings ("arenas" of slabs, and one mapping per huge block) that
 * hop__heap_ranges() lists (mmap'ed by the heap, never brk), so dirty
 * tracking can protect exactly them. Block metadata (sizes, free lists) lives
 * in a side table outside those mappings, so bookkeeping never dirties a data
 * page. See docs/runtime-memory.md.
 *
 * Threads: malloc/free of small blocks take no lock in the common case (a
 * per-thread cache of free slots); everything else takes one uncontended
 * spinlock. hop__heap_find() and hop__heap_size() take no lock: they may run
 * on the agent thread while the program allocates and then see the table
 * either before or after a concurrent change, never a torn block. Slab memory
 * is never unmapped, and while a hold is in force (hop__heap_hold) neither is
 * a freed huge block, so a reader may always touch what find() returned.
 */
#ifndef HOP_HEAP_H
#define HOP_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* hop's heap, always (the wrappers in wrap.c add the choice between hop's
 * heap and libc's for pointers hop does not own). NULL / ENOMEM like libc. */
void *hop__malloc(size_t n);
void *hop__calloc(size_t n, size_t size);
void *hop__realloc(void *p, size_t n);
void hop__free(void *p);
int hop__posix_memalign(void **out, size_t align, size_t n);

/* 1 if p lies in one of hop's heap mappings (live block or not), else 0.
 * Lock-free; wrap.c uses it to send pointers libc allocated back to libc. */
int hop__heap_owns(const void *p);

/* Transparent huge pages for [p, p + n) when n is large: for the runtime's
 * own big tables (address maps, object arrays), which are read at random, so
 * that a look-up misses the cache but not also the TLB. A hint to the kernel
 * (madvise), for memory not yet touched; nothing happens where unsupported. */
void hop__mem_huge(void *p, size_t n);

/* The live block containing addr (start <= addr < start + size); else a
 * zero-sized block starting at addr (malloc(0)); else the block that ends
 * exactly at addr (a one-past-the-end pointer). size is the size the program
 * asked for. 1 if found, 0 if not. O(1), lock-free. */
int hop__heap_find(uintptr_t addr, uintptr_t *start, size_t *size);

/* Size the program asked for, of the block starting at p; 0 if p starts no block. */
size_t hop__heap_size(const void *p);

/* Call fn for each live block, in address order, until it returns non-zero
 * (which is returned). Not safe against concurrent allocation: the caller
 * (the agent, at a freeze, or the program's own thread) makes sure. fn may
 * not allocate or free. */
int hop__heap_foreach(int (*fn)(void *ctx, uintptr_t start, size_t size), void *ctx);

/* Address ranges the heap occupies now: up to max pairs [start, end), in
 * address order, page aligned. Returns how many (may exceed max: call again
 * with more room). */
size_t hop__heap_ranges(uintptr_t (*ranges)[2], size_t max);

/* Number of live blocks and bytes the program asked for. */
void hop__heap_stats(size_t *blocks, size_t *bytes);

/* ---- for the tracker and the migration engine ---------------------------- */

/* Watch the heap's mappings: fn(ctx, start, end, 1) is called at once for
 * every existing mapping and then for each new one *before* any block in it
 * is handed out; fn(ctx, start, end, 0) before a mapping is unmapped. fn runs
 * with the heap lock held (in whichever thread allocates): it must not
 * allocate or free. One watcher at a time; fn NULL removes it. */
void hop__heap_watch(void (*fn)(void *ctx, uintptr_t start, uintptr_t end, int added), void *ctx);

/* Hold (on = 1) / release (on = 0): while held, freeing a huge block does not
 * unmap it (it leaves the table at once; its pages stay mapped and listed by
 * hop__heap_ranges until the release), so the agent can read any address
 * find() gave it, even while the program frees. Holds nest. */
void hop__heap_hold(int on);

/* The alloc/free log: what happened to blocks since the last take. While
 * logging is on, every malloc/free/realloc appends {addr, size, op}; a
 * realloc that moves the block is a free of the old and an alloc of the
 * new, one that stays in place is an alloc of the same address with the new
 * size. hop__heap_log_take() hands the entries since the last take to fn
 * (outside the heap lock, on the caller's thread) and empties the log. If more
 * than HOP_HEAP_LOG_MAX entries pile up between takes, the log stops
 * recording and take reports overflow = 1: the consumer must then treat
 * every block as changed (rescan everything). */
#define HOP_HEAP_LOG_MAX (1u << 20)
enum { HOP_HEAP_ALLOC = 1, HOP_HEAP_FREE = 2 };
struct hop_heap_event {
	uintptr_t addr;
	size_t size; /* asked-for size (ALLOC); size of the freed block (FREE) */
	int op;      /* HOP_HEAP_ALLOC or HOP_HEAP_FREE */
};
void hop__heap_log(int on);
/* Returns the number of entries handed to fn (0 or more), or HOP_ENOMEM.
 * fn may allocate. *overflow (if not NULL) tells whether entries were lost. */
long hop__heap_log_take(void (*fn)(void *ctx, const struct hop_heap_event *ev, size_t n), void *ctx,
			int *overflow);

/* A thread that belongs to hop's runtime (the agent) calls
 * hop__heap_runtime_thread(1) once: from then on the program-facing wrappers
 * (malloc, strdup, ... in wrap.c) serve that thread from libc's allocator, so
 * hop's own buffers never mix with the program's blocks (they are not
 * migrated, not tracked, and not freed by the destination's clean-up).
 * hop__malloc() and friends always use hop's heap, on any thread. Returns the
 * previous setting, so the program's thread can bracket runtime work
 * (hop_init loading the index) with it. */
int hop__heap_runtime_thread(int on);
extern __thread int hop__heap_in_runtime __attribute__((tls_model("initial-exec")));

#endif
