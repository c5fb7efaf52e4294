/* sched/bgprio.c -- watches the scheduling of its own process's threads
 * while it is migrated (bg.c): hop's pre-copy must run at background
 * priority on a thread of hop's, never on or at the cost of this one.
 *
 * Every step it reads the policy of each thread in /proc/self/task
 * (sched_getscheduler on the thread's id) and prints a line whenever the
 * number of hop threads at SCHED_IDLE changes ("bg idle=N"): the runner
 * sees them appear during the bulk and the rounds and vanish after an
 * abort. Its own thread must stay at SCHED_OTHER, nice 0, always: checked
 * every step and after each resume. A list of blocks keeps the bulk long
 * enough to be seen, and a counter keeps the rounds going. Not in the
 * pairs matrix (t_migrate_pairs.sh): t_migrate_background.sh runs it. */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hop.h"
#include "mtest.h"

#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif

struct node {
	unsigned long v;
	struct node *next;
};

struct node *list;
unsigned long nodes, sum, steps;
int last_idle = -1;

static void own_policy_normal(void)
{
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	int pol = sched_getscheduler(0);
	MT_CHECK(pol == SCHED_OTHER && nice == 0 && errno == 0,
		 "the program's thread runs at policy %d nice %d, not SCHED_OTHER nice 0", pol, nice);
}

/* hop threads of this process at SCHED_IDLE right now */
static int idle_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int me = (int)syscall(SYS_gettid), n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		int tid = atoi(e->d_name);
		if (tid > 0 && tid != me && sched_getscheduler(tid) == SCHED_IDLE)
			n++;
	}
	closedir(d);
	return n;
}

static void check(void)
{
	unsigned long s = 0, n = 0;
	for (struct node *p = list; p; p = p->next, n++)
		s += p->v;
	MT_CHECK(n == nodes && s == sum, "list: %lu nodes sum %lu, expected %lu sum %lu", n, s, nodes, sum);
	own_policy_normal();
}

int main(int argc, char **argv)
{
	unsigned long want = argc > 1 ? strtoul(argv[1], NULL, 10) : 300000;
	mt_start();
	if (!hop_incoming())
		for (unsigned long i = 0; i < want; i++) {
			struct node *p = malloc(sizeof(*p));
			p->v = i * 7 + 1;
			p->next = list;
			list = p;
			nodes++;
			sum += p->v;
		}
	mt_ready();
	for (;;) {
		HOP_POINT(tick);
		if (mt_after_point(check))
			return 0;
		/* a write per step: every round has something to send */
		list->v++;
		sum++;
		steps++;
		own_policy_normal();
		int n = idle_threads();
		if (n != last_idle) {
			printf("bg idle=%d step=%lu\n", n, steps);
			last_idle = n;
		}
		struct timespec ts = { 0, 200000 };
		nanosleep(&ts, NULL);
	}
}
