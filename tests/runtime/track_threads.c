/* track_threads.c -- fixture for t_track_qemu.sh and t_track_wrap.sh: the
 * program's thread and threads of hop's shape (an agent that starts one
 * migration worker after the other, a short-lived cleanup thread the
 * program starts, all serving themselves from libc) all take the dirty
 * tracker's write faults at once, while the worker re-arms the pages. Each
 * thread must keep running on its own thread-local storage: under
 * qemu-i386 a signal handler's return reloads %gs from a GDT that qemu
 * shares between threads, and the program's thread came back on another
 * thread's TLS (its mallocs then went to libc: a frozen origin held a
 * pointer hop's heap did not know). Prints "ok <backend>" or the failure. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heap.h"
#include "hop.h"
#include "thread.h"
#include "track.h"

#define PG 4096
#define NPG 16
char pages[NPG][PG] __attribute__((aligned(PG)));
static __thread int me; /* which thread this is, as its own TLS says */
static volatile int stop, failed;
static volatile unsigned collects; /* by the worker */

static int nop(void *ctx, uintptr_t s, uintptr_t e)
{
	(void)ctx, (void)s, (void)e;
	return 0;
}

static void fail(const char *who, int got)
{
	if (!__atomic_exchange_n(&failed, 1, __ATOMIC_SEQ_CST))
		fprintf(stderr, "FAIL: the %s thread runs on the TLS of thread %d\n", who, got);
	stop = 1;
}

/* a migration's worker: re-arms the pages 80 times, writes its own half */
static void *worker(void *arg)
{
	(void)arg;
	hop__heap_runtime_thread(1);
	me = 3;
	for (unsigned i = 0; !stop && i < 640; i++) {
		if (i % 8 == 0) {
			if (hop__track_collect(nop, NULL) < 0) {
				fprintf(stderr, "collect: %s\n", hop_last_error());
				failed = stop = 1;
			}
			collects++;
		}
		pages[NPG / 2 + i % (NPG / 2)][i % PG] = (char)i;
		if (me != 3)
			fail("worker", me);
	}
	return NULL;
}

/* the agent: starts one worker after the other (as ctl.c does per
 * migration) and faults too */
static void *agent(void *arg)
{
	(void)arg;
	hop__heap_runtime_thread(1);
	me = 2;
	pthread_t w;
	int running = 0;
	for (unsigned i = 0; !stop; i++) {
		if (i % 64 == 0) {
			if (running)
				pthread_join(w, NULL);
			running = hop__thread_create(&w, NULL, worker, NULL) == 0;
			if (!running) {
				fprintf(stderr, "cannot start a worker\n");
				failed = stop = 1;
			}
		}
		pages[NPG / 2 + i % (NPG / 2)][(i * 7) % PG] = (char)i;
		if (me != 2)
			fail("agent", me);
		struct timespec ts = { 0, 20000 };
		nanosleep(&ts, NULL);
	}
	if (running)
		pthread_join(w, NULL);
	return NULL;
}

/* a short-lived thread the program's thread starts (as in.c does after a
 * resume to free the translator's tables): takes turns with the workers */
static void *cleanup(void *arg)
{
	(void)arg;
	hop__heap_runtime_thread(1);
	me = 4;
	for (unsigned i = 0; !stop && i < 200; i++) {
		pages[i % (NPG / 2)][(i * 11) % PG] = (char)i;
		if (me != 4)
			fail("cleanup", me);
	}
	return NULL;
}

int main(void)
{
	me = 1;
	if (hop__track_start() < 0) {
		fprintf(stderr, "track start: %s\n", hop_last_error());
		return 1;
	}
	pthread_t a;
	if (hop__thread_create(&a, NULL, agent, NULL) != 0) {
		fprintf(stderr, "cannot start the agent\n");
		return 1;
	}
	/* until the worker has re-armed the pages 300 times (or 60 s) */
	time_t t0 = time(NULL);
	pthread_t c;
	int cleaning = 0;
	for (unsigned i = 0; collects < 300 && time(NULL) < t0 + 60 && !stop; i++) {
		if (i % 3000 == 1000) {
			if (cleaning)
				pthread_join(c, NULL);
			cleaning = hop__thread_create(&c, NULL, cleanup, NULL) == 0;
		}
		pages[i % (NPG / 2)][(i * 13) % PG] = (char)i;
		if (me != 1)
			fail("program's", me);
		void *p = malloc(16);
		if (!hop__heap_owns(p)) {
			if (!__atomic_exchange_n(&failed, 1, __ATOMIC_SEQ_CST))
				fprintf(stderr, "FAIL: the program's malloc went to libc (%p)\n", p);
			stop = 1;
		}
		free(p);
	}
	stop = 1;
	pthread_join(a, NULL);
	if (cleaning)
		pthread_join(c, NULL);
	const char *backend = hop__track_backend_name();
	struct hop_track_stats st;
	hop__track_stats(&st);
	hop__track_stop();
	if (failed)
		return 1;
	if (collects < 300) {
		fprintf(stderr, "FAIL: the worker re-armed the pages only %u times in 60 s\n", collects);
		return 1;
	}
	if (!strcmp(backend, "mprotect") && st.faults < 300) {
		fprintf(stderr, "FAIL: only %lu write faults: the threads did not race\n", (unsigned long)st.faults);
		return 1;
	}
	printf("ok %s\n", backend);
	return 0;
}
