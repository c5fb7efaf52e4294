/* bg.h -- hop's work that nothing but the migration waits for, run at
 * background priority (the pre-copy). See bg.c. */
#ifndef HOP_BG_H
#define HOP_BG_H

/* Run fn(arg) at background priority: on a thread of its own, waited for;
 * the calling thread's own priority never changes. Returns fn's result,
 * with its error message carried over (hop_last_error). Runs fn on the
 * calling thread instead when HOP_BACKGROUND=0, when already in background
 * work, or when no thread can be had (qemu-i386: no free TLS descriptor).
 * what names the work in HOP_TRACE lines. */
int hop__background(const char *what, int (*fn)(void *), void *arg);

/* From background work: run fn(arg) on the thread that waits for it, at its
 * priority, and return its result (message carried over). For short
 * sections that hold a lock the program's thread may wait for. Elsewhere:
 * fn(arg). */
int hop__urgent(int (*fn)(void *), void *arg);

/* The calling thread's scheduling as text when it is not the normal one
 * ("SCHED_IDLE", "nice 10"), else NULL. For HOP_TRACE. */
const char *hop__sched_note(char *buf, unsigned len);

#endif
