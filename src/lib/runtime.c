/* runtime.c -- hop_init(), transfer points, parking, and the resume counter.
 *
 * The entry points of hop.h. hop_init() loads the program's own index (so a
 * damaged or missing one is reported at start-up, not in the middle of a
 * migration), reads the fault points, and starts the control socket and its
 * agent thread (ctl.c). When `hop receive` started us (HOP_INCOMING_FD), the
 * first transfer point the program reaches runs the destination's steps
 * (in.c) on the program's own thread.
 *
 * On the origin, a transfer point is where the program thread *parks* when
 * the migration worker asks it to: the worker names the point the destination
 * waits at and sets hop__armed; the thread stops at that point only, tells the
 * worker, and waits for the verdict: carry on (abort) or exit (committed). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "fds.h"
#include "fault.h"
#include "heap.h"
#include "hop.h"
#include "index.h"

volatile int hop__armed;
struct hop_status hop__status;

static int resumed;
static int init_done, init_rc;
static int incoming_fd = -1;
static int base_threads; /* tasks before the agent: 1, or 2 under qemu-user */

/* parking (origin) */
static pthread_mutex_t pk_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pk_cv = PTHREAD_COND_INITIALIZER;
static char pk_point[128];
static int pk_wanted, pk_parked, pk_verdict; /* verdict: 1 resume, 2 exit */
static uint64_t pk_time;

static int count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int hop__foreign_threads(void)
{
	int n = count_tasks();
	if (n < 0)
		return 0;
	/* the agent, plus a migration worker if one runs */
	int ours = 1 + (hop__status.phase != HOP_PH_IDLE && hop__status.phase != HOP_PH_INCOMING);
	n -= base_threads + ours;
	return n > 0 ? n : 0;
}

int hop__resumed_count(void)
{
	return resumed;
}

int hop_incoming(void)
{
	return incoming_fd >= 0;
}

static int take_incoming(void)
{
	const char *e = getenv("HOP_INCOMING_FD");
	char *end;
	if (!e || !*e)
		return 0;
	long fd = strtol(e, &end, 10);
	if (*end || fd < 0 || fd > 65535 || fcntl((int)fd, F_GETFD) < 0)
		return hop__fail(HOP_EINVAL, "HOP_INCOMING_FD=%s is not an open descriptor", e);
	fcntl((int)fd, F_SETFD, FD_CLOEXEC); /* not for the program's children */
	unsetenv("HOP_INCOMING_FD");
	incoming_fd = (int)fd;
	return 0;
}

int hop_init(void)
{
	const struct hop_index *idx;
	intptr_t bias;

	if (init_done)
		return init_rc;
	init_done = 1;
	hop__fds_note_inherited(); /* the environment's descriptors, never carried (fds.c) */
	int old = hop__heap_runtime_thread(1); /* the index is ours, not the program's */
	int rc = hop__fault_init();
	if (rc == 0)
		rc = hop__self_index(&idx, &bias);
	if (rc == 0) {
		base_threads = count_tasks();
		rc = take_incoming();
	}
	if (rc == 0)
		rc = hop__ctl_start();
	hop__heap_runtime_thread(old);
	if (rc < 0 && getenv("HOP_INCOMING_FD")) {
		/* started to receive a migration and cannot: do not pretend */
		fprintf(stderr, "hop: cannot receive a migration: %s\n", hop_last_error());
		exit(3);
	}
	if (incoming_fd >= 0) {
		hop__status.phase = HOP_PH_INCOMING;
		hop__armed = 1;
	}
	init_rc = rc;
	return rc;
}

int hop_resumed(void)
{
	return resumed;
}

static void run_incoming(const struct hop__point *pt)
{
	int fd = incoming_fd;
	int old = hop__heap_runtime_thread(1);
	incoming_fd = -1;
	hop__armed = 0;
	int rc = hop__in_run(fd, pt->name);
	hop__heap_runtime_thread(old);
	if (rc < 0) {
		/* our globals may hold half-translated state: never run on it */
		fprintf(stderr, "hop: incoming migration failed, exiting: %s\n", hop_last_error());
		fflush(NULL);
		_exit(3);
	}
	resumed = rc;
	hop__status.phase = HOP_PH_IDLE;
}

void hop__at_point(const struct hop__point *pt)
{
	if (incoming_fd >= 0) {
		run_incoming(pt);
		return;
	}
	pthread_mutex_lock(&pk_mu);
	if (!pk_wanted || strcmp(pt->name, pk_point) != 0) {
		pthread_mutex_unlock(&pk_mu);
		return;
	}
	pk_wanted = 0;
	hop__armed = 0;
	pk_parked = 1;
	pk_time = hop__now_us();
	pthread_cond_broadcast(&pk_cv);
	while (!pk_verdict)
		pthread_cond_wait(&pk_cv, &pk_mu);
	int v = pk_verdict;
	pk_verdict = 0;
	pk_parked = 0;
	pthread_mutex_unlock(&pk_mu);
	if (v == 2) {
		fprintf(stderr, "hop: migration committed; the program continues at the destination, pid %d exits\n",
			(int)getpid());
		exit(0);
	}
}

/* Ask for the park and wait until the program parks (1) or wait_us pass
 * (0: the request is withdrawn under the same lock the program takes to
 * park, so it parks inside the window or not at all). */
static int park_until(const char *point, int64_t wait_us, uint64_t *freeze_us)
{
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += (time_t)(wait_us / 1000000);
	dl.tv_nsec += (long)(wait_us % 1000000) * 1000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&pk_mu);
	snprintf(pk_point, sizeof(pk_point), "%s", point);
	pk_verdict = 0;
	pk_wanted = 1;
	hop__armed = 1;
	while (!pk_parked) {
		int rc = pthread_cond_clockwait(&pk_cv, &pk_mu, CLOCK_MONOTONIC, &dl);
		if (rc == ETIMEDOUT && !pk_parked) {
			pk_wanted = 0;
			hop__armed = 0;
			pthread_mutex_unlock(&pk_mu);
			return 0;
		}
	}
	*freeze_us = pk_time;
	pthread_mutex_unlock(&pk_mu);
	return 1;
}

int hop__park_wait(const char *point, int timeout_ms, uint64_t *freeze_us)
{
	if (!park_until(point, (int64_t)timeout_ms * 1000, freeze_us))
		return hop__fail(HOP_ETIMEDOUT, "the program did not reach HOP_POINT(%s) within %d ms", point,
				 timeout_ms);
	return 0;
}

int hop__park_window(const char *point, int wait_us, uint64_t *freeze_us)
{
	return park_until(point, wait_us, freeze_us);
}

void hop__park_release(int exit_process)
{
	pthread_mutex_lock(&pk_mu);
	pk_wanted = 0;
	hop__armed = 0;
	if (pk_parked)
		pk_verdict = exit_process ? 2 : 1;
	pthread_cond_broadcast(&pk_cv);
	pthread_mutex_unlock(&pk_mu);
}
