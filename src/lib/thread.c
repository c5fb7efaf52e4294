/* thread.c -- hop's own threads, and the thread pointer under qemu-i386.
 *
 * On i386 a thread finds its TLS through %gs, a selector of one of the GDT's
 * three TLS descriptors (entries 6 to 8). The kernel keeps those descriptors
 * per thread; qemu-i386 keeps one GDT for the whole process. glibc gives
 * every thread the same entry (the one it took at start-up), so under qemu
 * each clone() rewrites the descriptor the other threads use, and every
 * reload of %gs -- a signal handler's return restores it -- gives the thread
 * the base of whichever thread wrote the descriptor last. With the mprotect
 * tracker the program's thread and hop's worker both return from write
 * faults all the time: the program's thread came back on the worker's TLS
 * (its errno, its "runtime thread" flag: its mallocs went to libc, and a
 * frozen origin held a pointer hop's heap did not know), the worker on the
 * agent's (tests/runtime/track_threads.c).
 *
 * So each of hop's threads moves to a descriptor of its own as it starts:
 * the program's thread keeps glibc's, hop's threads take the other two
 * (the agent for good, a migration's worker or the destination's cleanup
 * thread while it lives), and the thread that called clone() puts its own
 * base back in its descriptor. On a real kernel the same steps are harmless. hop__tls_keep
 * rewrites a thread's own descriptor; the tracker's fault handler calls it
 * too, as a safety net.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "thread.h"

/* hop's threads take no asynchronous signals: those stay the program's (a
 * handler of the program run on one of hop's threads would run with hop's
 * heap mode, at its priority, while the program thread is elsewhere). */
static int spawn(pthread_t *th, const pthread_attr_t *at, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(th, at, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

#if defined(__i386__)
#include <asm/ldt.h>
#include <sys/syscall.h>

#define TLS_MIN 6 /* Linux i386: GDT_ENTRY_TLS_MIN, three entries */
#define TLS_N 3

static unsigned gs_entry(void)
{
	unsigned sel;
	__asm__ volatile("movw %%gs, %w0" : "=r"(sel));
	return (sel & 0xffff) >> 3;
}

static uintptr_t thread_pointer(void)
{
	uintptr_t p;
	__asm__ volatile("movl %%gs:0, %0" : "=r"(p)); /* glibc's TCB points to itself */
	return p;
}

/* set_thread_area without libc: no errno, and no PLT slot to bind lazily
 * (the slot lies in tracked memory: binding it from the fault handler
 * faulted inside the handler). */
static long set_entry(unsigned entry, uintptr_t base)
{
	struct user_desc d = { .entry_number = entry, .base_addr = (unsigned)base, .limit = 0xfffff,
			       .seg_32bit = 1, .limit_in_pages = 1, .useable = 1 };
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "0"((long)SYS_set_thread_area), "b"(&d) : "memory");
	return r;
}

void hop__tls_keep(void)
{
	unsigned e = gs_entry();
	if (e)
		set_entry(e, thread_pointer());
}

static unsigned prog_entry; /* the program's thread's descriptor: the first creator's */
static unsigned held;       /* bit e - TLS_MIN: a live thread of hop's has descriptor e */

struct start {
	void *(*fn)(void *);
	void *arg;
	unsigned entry; /* the new thread's own descriptor, 0 if none is free */
	int done;
};

static void *start(void *p)
{
	struct start *s = p;
	void *(*fn)(void *) = s->fn;
	void *arg = s->arg;
	unsigned entry = s->entry;
	if (entry && set_entry(entry, thread_pointer()) == 0) {
		unsigned sel = entry << 3 | 3; /* GDT, ring 3 */
		__asm__ volatile("movw %w0, %%gs" : : "r"(sel));
	}
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE); /* s lives on the creator's stack */
	void *r = fn(arg);
	if (entry) /* the thread ends here: its descriptor is free for the next one */
		__atomic_fetch_and(&held, ~(1u << (entry - TLS_MIN)), __ATOMIC_SEQ_CST);
	return r;
}

static int create(pthread_t *th, const pthread_attr_t *at, void *(*fn)(void *), void *arg, unsigned max_tries)
{
	unsigned mine = gs_entry();
	if (!prog_entry)
		prog_entry = mine;
	struct start s = { fn, arg, 0, 0 };
	/* a descriptor neither the program's nor a live hop thread's. There are
	 * three: with the agent there, a worker and the destination's cleanup
	 * thread take turns (both are short-lived next to each other); after 5 s
	 * the new thread shares ours, as without this file. */
	for (unsigned tries = 0; !s.entry && tries < max_tries; tries++) {
		for (unsigned e = TLS_MIN; e < TLS_MIN + TLS_N && !s.entry; e++) {
			unsigned bit = 1u << (e - TLS_MIN);
			if (e != prog_entry && e != mine && !(__atomic_fetch_or(&held, bit, __ATOMIC_SEQ_CST) & bit))
				s.entry = e;
		}
		if (!s.entry && max_tries == 1)
			return EAGAIN; /* none free now: the caller does without a thread */
		if (!s.entry) {
			struct timespec ts = { 0, 100000 };
			nanosleep(&ts, NULL);
		}
	}
	int rc = spawn(th, at, start, &s);
	hop__tls_keep(); /* clone() wrote the new thread's base into our descriptor */
	if (rc == 0)
		while (!__atomic_load_n(&s.done, __ATOMIC_ACQUIRE))
			sched_yield();
	else if (s.entry)
		__atomic_fetch_and(&held, ~(1u << (s.entry - TLS_MIN)), __ATOMIC_SEQ_CST);
	return rc;
}

int hop__thread_create(pthread_t *th, const pthread_attr_t *at, void *(*fn)(void *), void *arg)
{
	return create(th, at, fn, arg, 50000);
}

int hop__thread_create_now(pthread_t *th, void *(*fn)(void *), void *arg)
{
	return create(th, NULL, fn, arg, 1);
}

#else

int hop__thread_create(pthread_t *th, const pthread_attr_t *at, void *(*fn)(void *), void *arg)
{
	return spawn(th, at, fn, arg);
}

int hop__thread_create_now(pthread_t *th, void *(*fn)(void *), void *arg)
{
	return spawn(th, NULL, fn, arg);
}

void hop__tls_keep(void)
{
}

#endif
