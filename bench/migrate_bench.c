/* migrate_bench.c -- the program behind bench/migrate_bench.sh.
 *
 *   migrate_bench N RATE    N records (~256 bytes each, one heap block each,
 *                           reached from a table of pointers), RATE writes/s
 *                           spread over the loop; HOP_POINT(tick) each turn.
 *   migrate_bench --tcp MB  loopback TCP throughput with 1 MiB writes (MB/s)
 *   migrate_bench --point   idle cost of HOP_POINT in ns
 * Built with -DREORDER the record's members come in another order (a build
 * with a different struct layout, as after an upgrade). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hop.h"

struct rec {
#ifdef REORDER
	double score;
	char name[200];
	long id;
	int flags;
	long counter;
	struct rec *peer;
#else
	long id;
	long counter;
	int flags;
	char name[200];
	double score;
	struct rec *peer;
#endif
};

struct rec **recs;
long nrecs;
unsigned long writes;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int tcp_bench(long mb)
{
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bind(l, (struct sockaddr *)&a, sizeof(a));
	listen(l, 1);
	getsockname(l, (struct sockaddr *)&a, &al);
	char *buf = malloc(1 << 20);
	memset(buf, 7, 1 << 20);
	if (fork() == 0) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		connect(c, (struct sockaddr *)&a, sizeof(a));
		for (long i = 0; i < mb; i++)
			for (size_t off = 0; off < (1u << 20);) {
				ssize_t w = write(c, buf + off, (1u << 20) - off);
				if (w <= 0)
					_exit(1);
				off += (size_t)w;
			}
		_exit(0);
	}
	int s = accept(l, NULL, NULL);
	double t = now();
	long long got = 0;
	ssize_t r;
	while ((r = read(s, buf, 1 << 20)) > 0)
		got += r;
	printf("%.0f\n", got / (now() - t) / 1e6);
	return 0;
}

static int point_bench(void)
{
	long n = 1000000000;
	double t = now();
	for (long i = 0; i < n; i++) {
		HOP_POINT(idle);
		__asm__ volatile("" ::: "memory");
	}
	double t1 = now() - t;
	t = now();
	for (long i = 0; i < n; i++)
		__asm__ volatile("" ::: "memory");
	double t0 = now() - t;
	printf("%.3f\n", (t1 - t0) / n * 1e9);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--tcp") == 0)
		return tcp_bench(atol(argv[2]));
	if (hop_init() < 0) {
		fprintf(stderr, "hop_init: %s\n", hop_last_error());
		return 2;
	}
	if (argc == 2 && strcmp(argv[1], "--point") == 0)
		return point_bench();
	/* arguments, else $BENCH_N / $BENCH_RATE (the test library passes only the environment) */
	const char *en = getenv("BENCH_N"), *er = getenv("BENCH_RATE");
	long n = argc > 1 ? atol(argv[1]) : en ? atol(en) : 1000000;
	long rate = argc > 2 ? atol(argv[2]) : er ? atol(er) : 2000;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!hop_incoming()) {
		nrecs = n;
		recs = malloc(sizeof(*recs) * (size_t)n);
		for (long i = 0; i < n; i++) {
			struct rec *r = calloc(1, sizeof(*r));
			r->id = i;
			r->score = i * 0.25;
			snprintf(r->name, sizeof(r->name), "record %ld", i);
			recs[i] = r;
			r->peer = i ? recs[i - 1] : NULL;
		}
		printf("ready pid=%d\n", (int)getpid());
	}
	int seen = hop_resumed();
	unsigned long x = 88172645463325252ull;
	for (;;) {
		HOP_POINT(tick);
		if (hop_resumed() != seen) {
			for (long i = 0; i < nrecs; i += nrecs / 100 + 1)
				if (recs[i]->id != i || recs[i]->score != i * 0.25) {
					printf("FAIL record %ld\n", i);
					return 1;
				}
			printf("OK resumed=%d\n", hop_resumed());
			return 0;
		}
		/* rate writes per second, in batches of rate/100 every 10 ms */
		for (long k = 0; k < rate / 100; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			recs[x % (unsigned long)nrecs]->counter++;
			writes++;
		}
		usleep(10000);
	}
}
