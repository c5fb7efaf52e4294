/* thread.h -- hop's own threads (the agent, a migration's worker) and the
 * thread pointer under qemu-i386. See thread.c. */
#ifndef HOP_THREAD_H
#define HOP_THREAD_H

#include <pthread.h>

/* pthread_create for hop's threads: they block asynchronous signals (the
 * program's); under i386 the new thread gets a TLS
 * descriptor of its own and the caller's is put back. 0 or an errno value,
 * as pthread_create. */
int hop__thread_create(pthread_t *th, const pthread_attr_t *at, void *(*fn)(void *), void *arg);

/* The same, joinable, default attributes, without waiting for a free TLS
 * descriptor under i386: EAGAIN if none is free now. */
int hop__thread_create_now(pthread_t *th, void *(*fn)(void *), void *arg);

/* Write this thread's own base into the TLS descriptor its %gs selects
 * (i386; nothing elsewhere). Signal safe: no libc call. */
void hop__tls_keep(void);

#endif
