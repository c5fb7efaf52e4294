/* mtest.h -- what the migration test programs share (zdtm style).
 *
 * A test builds state, prints "ready pid=N", loops over HOP_POINT(tick) and,
 * after each resume, checks its state and prints "OK resumed=N". It exits 0
 * after $MT_HOPS resumes (default 1), or 1 with "FAIL: ..." on the first
 * mismatch. The runner (t_*.sh) reads those lines. */
#ifndef MTEST_H
#define MTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hop.h"

#define MT_FAIL(...)                                                           \
	do {                                                                   \
		printf("FAIL: " __VA_ARGS__);                                  \
		printf(" (%s:%d, resumed %d)\n", __FILE__, __LINE__, hop_resumed()); \
		fflush(stdout);                                                \
		exit(1);                                                       \
	} while (0)
#define MT_CHECK(cond, ...)                                                    \
	do {                                                                   \
		if (!(cond))                                                   \
			MT_FAIL(__VA_ARGS__);                                  \
	} while (0)

static int mt_seen;

static inline void mt_start(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (hop_init() < 0) {
		printf("FAIL: hop_init: %s\n", hop_last_error());
		exit(2);
	}
	mt_seen = hop_resumed();
}

static inline void mt_ready(void)
{
	if (!hop_incoming())
		printf("ready pid=%d\n", (int)getpid());
}

/* After HOP_POINT: if we just resumed, check; 1 when the test is done. */
static inline int mt_after_point(void (*check)(void))
{
	if (hop_resumed() == mt_seen)
		return 0;
	mt_seen = hop_resumed();
	check();
	printf("OK resumed=%d pid=%d\n", mt_seen, (int)getpid());
	const char *h = getenv("MT_HOPS");
	int hops = h ? atoi(h) : 1;
	return mt_seen >= hops;
}

#endif
