/* heap.h -- hop's allocator and block table (interface; heap.c implements).
 *
 * Every allocation of a hop program goes through here (`hop cc` wraps
 * malloc, calloc, realloc, free, posix_memalign, aligned_alloc, strdup ...),
 * so hop knows where each live block starts and how many bytes the program
 * asked for: the translator finds blocks by address and infers array lengths
 * from sizes; the tracker maps dirty pages to blocks; the destination
 * allocates the origin's blocks in its own heap. All heap memory lies in
 * arenas that hop__heap_ranges() lists (mmap'ed by the heap, never brk), so
 * dirty tracking can protect exactly them.
 */
#ifndef HOP_HEAP_H
#define HOP_HEAP_H

#include <stddef.h>
#include <stdint.h>

void *hop__malloc(size_t n);
void *hop__calloc(size_t n, size_t size);
void *hop__realloc(void *p, size_t n);
void hop__free(void *p);
int hop__posix_memalign(void **out, size_t align, size_t n);

/* The live block containing addr (start <= addr < start + size), or, when no
 * block contains it, the block that ends exactly at addr (a one-past-the-end
 * pointer). size is the size the program asked for. 1 if found, 0 if not. */
int hop__heap_find(uintptr_t addr, uintptr_t *start, size_t *size);

/* Size the program asked for, of the block starting at p; 0 if p starts no block. */
size_t hop__heap_size(const void *p);

/* Call fn for each live block, in address order, until it returns non-zero
 * (which is returned). Not safe against concurrent allocation: the caller
 * (the agent, at a freeze, or the program's own thread) makes sure. */
int hop__heap_foreach(int (*fn)(void *ctx, uintptr_t start, size_t size), void *ctx);

/* Address ranges the heap occupies now: up to max pairs [start, end).
 * Returns how many (may exceed max: call again with more room). */
size_t hop__heap_ranges(uintptr_t (*ranges)[2], size_t max);

/* Number of live blocks and bytes the program asked for. */
void hop__heap_stats(size_t *blocks, size_t *bytes);

#endif
