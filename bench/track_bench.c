/* track_bench.c -- what dirty tracking costs, per backend.
 *
 *   first write:  ns per first write to a tracked (armed) page, against the
 *                 same write to an untracked page
 *   collect:      time of one collect (report + re-arm) with 10 and with
 *                 100,000 dirty pages
 *   slowdown:     a write-heavy loop (~40 M random 8-byte stores/s) while
 *                 another thread collects every 10 (and 100) ms, against the same loop
 *                 untracked (target for uffd: <= 10%). Two shapes: "hot" puts
 *                 all stores but one in 100,000 (~2,000/s) in a 1 MiB hot set,
 *                 the rest anywhere in 64 MiB (a service updating a few
 *                 structures often and some records rarely); "uniform" spreads
 *                 them over all 64 MiB, so every page is dirty again right
 *                 after each re-arm: the worst case, one fault per page per
 *                 round.
 *   window:       idle cost of a syscall window (what a wrapped read() adds
 *                 when no tracker runs), against a read() of 1 byte
 * Not a test: prints figures. Run natively (uffd needs Linux >= 6.7). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "heap.h"
#include "hop.h"
#include "track.h"

#define PS 4096

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int count_cb(void *ctx, uintptr_t s, uintptr_t e)
{
	*(size_t *)ctx += (e - s) / PS;
	return 0;
}

static int start(const char *backend)
{
	setenv("HOP_TRACK", backend, 1);
	if (hop__track_start() < 0) {
		printf("%-8s not available: %s\n", backend, hop_last_error());
		return -1;
	}
	hop__track_collect(NULL, NULL);
	return 0;
}

static void first_write(const char *backend, char *mem, size_t npages)
{
	if (start(backend) < 0)
		return;
	double t = now();
	for (size_t i = 0; i < npages; i++)
		mem[i * PS] = 1;
	t = now() - t;
	hop__track_stop();
	double t0 = now();
	for (size_t i = 0; i < npages; i++)
		mem[i * PS] = 2;
	t0 = now() - t0;
	printf("%-8s first write to a tracked page: %8.0f ns   (untracked: %.1f ns)\n", backend,
	       t * 1e9 / (double)npages, t0 * 1e9 / (double)npages);
}

static void collect_cost(const char *backend, char *mem, size_t npages)
{
	if (start(backend) < 0)
		return;
	for (int k = 0; k < 2; k++) {
		size_t want = k ? npages : 10, n = 0;
		for (size_t i = 0; i < want; i++)
			mem[(i * (npages / want)) * PS] = 3;
		double t = now();
		long pages = hop__track_collect(count_cb, &n);
		t = now() - t;
		printf("%-8s collect with %6zu dirty pages: %9.3f ms (reported %ld)\n", backend, want, t * 1e3, pages);
	}
	hop__track_stop();
}

static volatile int stop_agent;
static long rounds;
static int period_ms = 10;
static void *agent(void *arg)
{
	(void)arg;
	hop__heap_runtime_thread(1);
	while (!stop_agent) {
		size_t n = 0;
		hop__track_collect(count_cb, &n);
		rounds++;
		usleep((useconds_t)period_ms * 1000);
	}
	return NULL;
}

static double write_loop(uint64_t *mem, size_t words, int hot, double secs)
{
	uint32_t x = 1;
	long ops = 0;
	size_t hotw = (1u << 20) / 8;
	double t0 = now(), t;
	do {
		for (int i = 0; i < 100000; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			size_t w = hot && x % 100000 != 0 ? (x >> 3) % hotw : x % words;
			mem[w] += (uint64_t)i;
		}
		ops += 100000;
		t = now() - t0;
	} while (t < secs);
	return (double)ops / t;
}

/* Alternate untracked and tracked runs of 0.5 s and report the median
 * slowdown of 5 pairs: the machine is shared, so one pair means little. */
static void slowdown(const char *backend, uint64_t *mem, size_t words, int hot)
{
	double sl[5], base = 0, tracked = 0;
	long nrounds = 0;
	for (int k = 0; k < 5; k++) {
		base = write_loop(mem, words, hot, 0.5);
		if (start(backend) < 0)
			return;
		pthread_t th;
		stop_agent = 0;
		rounds = 0;
		pthread_create(&th, NULL, agent, NULL);
		tracked = write_loop(mem, words, hot, 0.5);
		stop_agent = 1;
		pthread_join(th, NULL);
		hop__track_stop();
		nrounds += rounds;
		sl[k] = 100.0 * (base - tracked) / base;
	}
	for (int i = 1; i < 5; i++)
		for (int j = i; j > 0 && sl[j - 1] > sl[j]; j--) {
			double t = sl[j];
			sl[j] = sl[j - 1];
			sl[j - 1] = t;
		}
	printf("%-8s %-7s writes, collect every %3d ms: %5.1f%% slower (median of 5; range %.1f..%.1f%%; %ld rounds)\n",
	       backend, hot ? "hot" : "uniform", period_ms, sl[2], sl[0], sl[4], nrounds);
}

static void window_cost(void)
{
	static char buf[64];
	int fd = open("/dev/zero", O_RDONLY);
	long n = 2000000;
	double t = now();
	for (long i = 0; i < n; i++)
		hop__track_win_close(hop__track_win_open(buf, sizeof(buf)));
	t = now() - t;
	double r = now();
	for (long i = 0; i < n / 10; i++)
		if (read(fd, buf, 1) != 1)
			break;
	r = now() - r;
	close(fd);
	printf("idle syscall window (open+close): %.1f ns; a read() of 1 byte from /dev/zero: %.0f ns\n",
	       t * 1e9 / (double)n, r * 1e9 / (double)(n / 10));
}

int main(void)
{
	size_t npages = 100000;
	char *mem = hop__malloc(npages * PS);
	memset(mem, 0, npages * PS);
	const char *backends[] = { "uffd", "mprotect" };

	printf("track_bench (native; %zu-page heap block)\n", npages);
	window_cost();
	for (int b = 0; b < 2; b++)
		first_write(backends[b], mem, 20000);
	for (int b = 0; b < 2; b++)
		collect_cost(backends[b], mem, npages);
	size_t words = (64u << 20) / 8;
	for (period_ms = 10; period_ms <= 100; period_ms *= 10)
		for (int b = 0; b < 2; b++)
			slowdown(backends[b], (uint64_t *)mem, words, 1);
	period_ms = 10;
	for (int b = 0; b < 2; b++)
		slowdown(backends[b], (uint64_t *)mem, words, 0);
	hop__free(mem);
	return 0;
}
