/* util.h -- small helpers every part of kvd uses: time, memory, numbers, log.
 *
 * Time is kept as int64 milliseconds of CLOCK_REALTIME, never of
 * CLOCK_MONOTONIC: every stored time (key expiry, client creation, the last
 * tick before a transfer point) may be read again after hop moved the process
 * to another machine, where the monotonic clock counts from that machine's
 * boot and means nothing. Wall-clock time is the one base two machines share.
 */
#ifndef KVD_UTIL_H
#define KVD_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* One argument of a command: bytes and length (binary-safe). Built on the
 * stack for the one command being run; never stored. */
struct kvd_arg {
	const char *p;
	uint32_t len;
};

/* Wall-clock time in ms (CLOCK_REALTIME). */
int64_t kvd_now_ms(void);
/* Monotonic microseconds, only for budgets measured inside one call (never stored). */
int64_t kvd_mono_us(void);

/* Allocation that never returns NULL: out of memory ends the server with a
 * message (as Redis does); a half-done write is worse than a clean stop. */
void *kvd_malloc(size_t n);
void *kvd_calloc(size_t n, size_t size);
void *kvd_realloc(void *p, size_t n);
/* Copy of len bytes plus a terminating NUL (binary-safe: the length is kept apart). */
char *kvd_memdup(const char *p, size_t len);

/* Strict decimal int64 (Redis rules: no spaces, no '+', no leading zeros).
 * 1 if s[0..len) is one, else 0. */
int kvd_str2ll(const char *s, size_t len, int64_t *out);
/* Decimal text of v into buf (at least 21 bytes); returns its length. */
size_t kvd_ll2str(char *buf, int64_t v);
/* Case-insensitive compare of s[0..len) with the NUL-terminated lower-case word. */
int kvd_eq(const char *s, size_t len, const char *word);

/* Log a line to stderr with a time stamp. */
void kvd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
