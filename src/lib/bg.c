/* bg.c -- hop's work that nothing but the migration waits for, run at
 * background priority.
 *
 * A migration's pre-copy -- the origin's scan, bulk and delta rounds, the
 * destination's translation of what arrives before FREEZE -- runs while the
 * program serves its clients, and nothing waits for it but the migration.
 * At the program's priority it takes turns with the program for the CPU:
 * with a busy client on a 2-core machine, kvd's clients saw 5-40 ms gaps
 * during a bulk copy whose pause was 3.5 ms. Only the pause (FREEZE on:
 * final delta, digest, commit) is urgent.
 *
 * How: hop__background() runs the work on a thread of its own at background
 * priority and waits for it; the calling thread (the origin's worker, the
 * destination's program thread) never changes its own priority. So what
 * follows the background stretch -- after it ends, fails, or the origin
 * freezes -- runs at normal priority by construction, on every path. A
 * thread of its own because the way back is closed to most processes: an
 * unprivileged thread may not leave SCHED_IDLE nor lower its nice value
 * unless RLIMIT_NICE allows it (default 0: it does not).
 *
 * Which priority: SCHED_IDLE. The thread runs only on a CPU nothing else
 * wants, and a program thread that wakes preempts it at once (a thread at a
 * high nice value keeps the CPU for the rest of its slice, 1-3 ms). But on
 * a machine with no idle CPU it gets ~0.3% of one: the pre-copy crawls
 * (kvd, 300k keys, on this 2-core machine at load 5-10: 253 s instead of
 * 26 s), the program pays for dirty tracking all that time, and the
 * peer's link timeouts (10 s; 60 s between phases) could end migrations
 * that work at normal priority. So the waiting thread keeps a floor: every
 * 250 ms it reads the thread's schedstat (/proc/self/task/TID/schedstat);
 * while the thread got less than 20% of the CPU time it wanted (ran +
 * waited for a CPU, over about the last second) it runs at normal
 * priority, taking turns as without this file, then goes back to
 * SCHED_IDLE. A process that may not raise a thread (no CAP_SYS_NICE and
 * RLIMIT_NICE < 20: found by a probe on the thread itself) runs it at nice
 * 10 instead: about a tenth of a CPU against each busy thread, never
 * stalled, but no way back.
 *
 * hop__urgent() lets background work run a short section on the waiting
 * thread: the mprotect tracker's collect holds a lock that the program's
 * thread spins on (tracker windows), and a SCHED_IDLE holder preempted by
 * that very spinning thread would not get the CPU back.
 *
 * HOP_BACKGROUND=0 turns all this off; HOP_BACKGROUND=nice uses nice 10
 * even where SCHED_IDLE could be used.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bg.h"
#include "err.h"
#include "heap.h"
#include "thread.h"
#include "wire.h"

#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif

#define NICE_BG 10
#define WATCH_MS 250
#define FLOOR_PCT 20
#define FLOOR_DECAY 0.75 /* per tick: about a second of memory */

enum { MODE_OFF, MODE_AUTO, MODE_NICE };

struct bg {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const char *what;
	int (*fn)(void *);
	void *arg;
	int runtime;   /* the caller's heap mode (heap.h) */
	int rc, done;
	uint64_t run_ns, wait_ns; /* its schedstat at the end (HOP_TRACE) */
	pid_t tid;     /* 0 until the thread set its priority */
	int idle;      /* at SCHED_IDLE (else at NICE_BG) */
	/* an urgent section asked of the waiting thread */
	int (*ufn)(void *);
	void *uarg;
	int urc, ureq; /* 1 asked, 2 done */
	char msg[1024];
};

static __thread struct bg *self; /* set in a background thread */

static int mode(void)
{
	static int m = -1;
	if (m < 0) {
		const char *e = getenv("HOP_BACKGROUND");
		m = e && strcmp(e, "0") == 0 ? MODE_OFF : e && strcmp(e, "nice") == 0 ? MODE_NICE : MODE_AUTO;
	}
	return m;
}

static pid_t gettid_raw(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* May this process raise a thread back from background priority? Probed on
 * the (disposable) calling thread: one step lower priority and back. */
static int may_raise(void)
{
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0); /* this thread's */
	if (errno || nice >= 19)
		return 0;
	if (setpriority(PRIO_PROCESS, 0, nice + 1) < 0)
		return 0;
	return setpriority(PRIO_PROCESS, 0, nice) == 0;
}

/* run time and time waiting for a CPU, in ns, of thread tid; -1 if unknown */
static int sched_times(pid_t tid, uint64_t *run, uint64_t *wait)
{
	char path[64], buf[128];
	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	unsigned long long r, w;
	if (sscanf(buf, "%llu %llu", &r, &w) != 2)
		return -1;
	*run = r;
	*wait = w;
	return 0;
}

static void *bg_main(void *p)
{
	struct bg *b = p;
	struct sched_param sp = { 0 };
	int idle = 0;

	self = b;
	hop__heap_runtime_thread(b->runtime);
	if (mode() == MODE_AUTO && may_raise() && sched_setscheduler(0, SCHED_IDLE, &sp) == 0)
		idle = 1;
	else
		setpriority(PRIO_PROCESS, 0, NICE_BG); /* best effort: at worst it runs as before */
	pthread_mutex_lock(&b->mu);
	b->idle = idle;
	b->tid = gettid_raw();
	pthread_mutex_unlock(&b->mu);
	int rc = b->fn(b->arg);
	uint64_t r = 0, w = 0;
	if (hop__trace_on())
		sched_times(b->tid, &r, &w);
	pthread_mutex_lock(&b->mu);
	b->run_ns = r;
	b->wait_ns = w;
	if (rc < 0)
		snprintf(b->msg, sizeof(b->msg), "%s", hop_last_error());
	b->rc = rc;
	b->done = 1;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

/* The floor (see the top): every WATCH_MS, from the thread's schedstat,
 * decayed sums of the time it ran and the time it wanted to (ran + waited
 * for a CPU); below FLOOR_PCT percent it runs the next tick at normal
 * priority, else at SCHED_IDLE again. */
struct floor {
	uint64_t run, wait;  /* schedstat at the last tick, ns */
	double ran, wanted;  /* decayed sums, ns */
	int normal;          /* at normal priority now */
	int on;              /* the thread is watched */
	unsigned ticks, raised; /* ticks watched, of them at normal priority */
};

static void floor_tick(struct floor *f, pid_t tid)
{
	uint64_t run, wait;
	if (sched_times(tid, &run, &wait) < 0) {
		f->on = 0; /* cannot tell: leave it as it is */
		return;
	}
	if (f->ticks++) {
		f->ran = f->ran * FLOOR_DECAY + (double)(run - f->run);
		f->wanted = f->wanted * FLOOR_DECAY + (double)(run - f->run) + (double)(wait - f->wait);
	}
	f->run = run;
	f->wait = wait;
	f->raised += f->normal; /* the tick that just ended */
	int normal = f->wanted > 0 && f->ran * 100 < f->wanted * FLOOR_PCT;
	if (normal == f->normal)
		return;
	struct sched_param sp = { 0 };
	if (sched_setscheduler(tid, normal ? SCHED_OTHER : SCHED_IDLE, &sp) < 0) {
		f->on = 0;
		return;
	}
	f->normal = normal;
}

int hop__background(const char *what, int (*fn)(void *), void *arg)
{
	struct bg b = { .what = what, .fn = fn, .arg = arg, .runtime = hop__heap_in_runtime };
	struct floor fl = { .on = 1 };
	pthread_condattr_t ca;
	pthread_t th;
	uint64_t t0 = hop__now_us();

	if (mode() == MODE_OFF || self)
		return fn(arg);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b.cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&b.mu, NULL);
	if (hop__thread_create_now(&th, bg_main, &b) != 0) {
		pthread_cond_destroy(&b.cv);
		pthread_mutex_destroy(&b.mu);
		return fn(arg);
	}
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&b.mu);
	while (!b.done) {
		if (b.ureq == 1) {
			pthread_mutex_unlock(&b.mu);
			int rc = b.ufn(b.uarg);
			pthread_mutex_lock(&b.mu);
			if (rc < 0)
				snprintf(b.msg, sizeof(b.msg), "%s", hop_last_error());
			b.urc = rc;
			b.ureq = 2;
			pthread_cond_broadcast(&b.cv);
			continue;
		}
		next.tv_nsec += WATCH_MS * 1000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		while (!b.done && b.ureq != 1 && pthread_cond_timedwait(&b.cv, &b.mu, &next) != ETIMEDOUT)
			;
		if (!b.done && b.tid && b.idle && fl.on)
			floor_tick(&fl, b.tid);
	}
	pthread_mutex_unlock(&b.mu);
	pthread_join(th, NULL);
	if (hop__trace_on())
		fprintf(stderr,
			"hop: [background] %s: thread %d at %s, %llu us: %llu us on a CPU, %llu us waiting for one; "
			"%u of %u ticks at normal priority (floor)\n",
			what, (int)b.tid, b.idle ? "SCHED_IDLE" : "nice 10", (unsigned long long)(hop__now_us() - t0),
			(unsigned long long)(b.run_ns / 1000u), (unsigned long long)(b.wait_ns / 1000u), fl.raised,
			fl.ticks);
	pthread_cond_destroy(&b.cv);
	pthread_mutex_destroy(&b.mu);
	if (b.rc < 0)
		hop__error_set(b.msg);
	return b.rc;
}

int hop__urgent(int (*fn)(void *), void *arg)
{
	struct bg *b = self;
	if (!b)
		return fn(arg);
	pthread_mutex_lock(&b->mu);
	b->ufn = fn;
	b->uarg = arg;
	b->ureq = 1;
	pthread_cond_broadcast(&b->cv);
	while (b->ureq != 2)
		pthread_cond_wait(&b->cv, &b->mu);
	b->ureq = 0;
	int rc = b->urc;
	if (rc < 0)
		hop__error_set(b->msg);
	pthread_mutex_unlock(&b->mu);
	return rc;
}

const char *hop__sched_note(char *buf, unsigned len)
{
	int policy = sched_getscheduler(0);
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	if (policy == SCHED_IDLE)
		return "SCHED_IDLE";
	if (policy != SCHED_OTHER)
		snprintf(buf, len, "policy %d", policy);
	else if (!errno && nice != 0)
		snprintf(buf, len, "nice %d", nice);
	else
		return NULL;
	return buf;
}
