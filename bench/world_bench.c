/* world_bench.c -- what the outside world adds to a migration (printed, not
 * a test; run by bench/world_bench.sh).
 *
 *   pause N     the added pause for N connected clients: on the origin,
 *               capture + encode + hand-off of the sockets to the relay; on
 *               the destination, decode + restore (N connections to the
 *               relay). Separate processes, as in a migration.
 *   relay       the relay's throughput and added latency per message,
 *               against a direct connection, on loopback, in the same run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fds.h"
#include "relay.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *w)
{
	fprintf(stderr, "world_bench: %s: %s (%s)\n", w, hop_last_error(), strerror(errno));
	exit(1);
}

static int listener(uint16_t *port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	/* like a real server: the port can be bound again while connections
	 * to it live (the destination's listener, on this one machine) */
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof a;
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 4096) < 0)
		die("listen");
	getsockname(s, (struct sockaddr *)&a, &l);
	*port = ntohs(a.sin_port);
	return s;
}

static int dial(uint16_t port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (connect(s, (struct sockaddr *)&a, sizeof a) < 0)
		die("connect");
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return s;
}

/* ---- pause for N clients ------------------------------------------------------ */

/* Close every descriptor above 2 but those in keep (what the bench's own
 * parent left open would otherwise be part of the "program"). */
static void keep_only(const int *keep, int n)
{
	for (int fd = 3; fd < 65536; fd++) {
		int k = 0;
		for (int i = 0; i < n; i++)
			k |= keep[i] == fd;
		if (!k)
			close(fd);
	}
}

static void bench_pause(int n)
{
	uint16_t port;
	int l = listener(&port);
	pid_t clients = fork();
	if (clients == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(l);
		int *s = malloc(sizeof(int) * (size_t)n);
		for (int i = 0; i < n; i++)
			s[i] = dial(port);
		pause();
		_exit(0);
	}
	int us[2]; /* origin -> relay hand-off */
	socketpair(AF_UNIX, SOCK_STREAM, 0, us);
	int tp[2]; /* the table, origin -> destination; timings back */
	pipe(tp);
	pid_t origin = fork();
	if (origin == 0) {
		int keep[] = { l, us[1], tp[1] };
		keep_only(keep, 3);
		/* the origin program: a listener and n clients */
		for (int i = 0; i < n; i++) {
			int c = accept(l, NULL, NULL);
			if (c < 0)
				die("accept");
		}
		hop__fds_mark_own(us[1]);
		hop__fds_mark_own(tp[1]);
		/* the reference, same run: every descriptor described at the
		 * freeze (what a migration without the check ahead would pay) */
		struct hop_fds f;
		double tw = now_us();
		if (hop__fds_capture(&f) < 0)
			die("capture");
		tw = now_us() - tw;
		hop__fds_free(&f);
		/* as a migration does: the check at its start (the program
		 * running) describes the connected sockets ahead of the freeze */
		if (hop__fds_check() < 0)
			die("check");
		double t0 = now_us();
		int rl;
		uint8_t lo[16] = { 127, 0, 0, 1 };
		if (hop__fds_capture_frozen(&f) < 0)
			die("capture");
		double t1 = now_us();

		if (hop__fds_relay_open_addr(4, lo, &f.relay, &rl) < 0)
			die("relay socket");
		uint8_t *buf;
		size_t len;
		if (hop__fds_encode(&f, &buf, &len) < 0)
			die("encode");
		double t2 = now_us();
		if (hop__fds_handoff_send(us[1], &f, rl) < 0)
			die("hand-off");
		double t3 = now_us();
		uint32_t l32 = (uint32_t)len;
		double times[4] = { t1 - t0, t2 - t1, t3 - t2, tw };
		write(tp[1], times, sizeof times);
		write(tp[1], &l32, 4);
		write(tp[1], buf, len);
		_exit(0);
	}
	close(l);
	close(us[1]);
	close(tp[1]);
	/* the relay (hop migrate): takes the hand-off and keeps it */
	struct relay_handoff h;
	if (relay_handoff_recv(us[0], &h) < 0)
		die("hand-off recv");
	/* one machine plays both: free the port for the destination's listener
	 * (on two machines the relay would forward from it) */
	for (int i = 0; i < h.nlisteners; i++)
		close(h.listeners[i].sock);
	h.nlisteners = 0;

	double times[4];
	uint32_t len;
	if (read(tp[0], times, sizeof times) != sizeof times || read(tp[0], &len, 4) != 4)
		die("origin");
	uint8_t *buf = malloc(len);
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(tp[0], buf + got, len - got);
		if (r <= 0)
			die("table");
		got += (size_t)r;
	}
	waitpid(origin, NULL, 0);
	int dp[2];
	pipe(dp);
	pid_t dest = fork();
	if (dest == 0) {
		int keep[] = { dp[1] };
		keep_only(keep, 1);
		hop__fds_mark_own(dp[1]);
		double t0 = now_us();
		struct hop_fds f;
		if (hop__fds_decode(buf, len, &f) < 0)
			die("decode");
		double t1 = now_us();
		if (hop__fds_restore(&f, NULL) < 0)
			die("restore");
		double t2 = now_us();
		double t[2] = { t1 - t0, t2 - t1 };
		write(dp[1], t, sizeof t);
		_exit(0);
	}
	close(dp[1]);
	double dt[2];
	if (read(dp[0], dt, sizeof dt) != sizeof dt)
		die("destination");
	waitpid(dest, NULL, 0);
	kill(clients, SIGKILL);
	waitpid(clients, NULL, 0);
	double total = times[0] + times[1] + times[2] + dt[0] + dt[1];
	printf("  %5d clients: origin capture %7.0f us (all described at the freeze: %7.0f us), encode+relay socket "
	       "%5.0f us, hand-off %6.0f us | destination decode %4.0f us, restore %7.0f us | added pause %7.0f us "
	       "(%u-byte table)\n",
	       n, times[0], times[3], times[1], times[2], dt[0], dt[1], total, len);
	relay_handoff_close(&h);
	free(buf);
	close(tp[0]);
	close(dp[0]);
	close(us[0]);
}

/* ---- relay throughput and latency ------------------------------------------------ */

#define ROUNDS 20000
#define WARMUP 1000
#define STREAM ((size_t)2 << 30)

/* The far end: echoes WARMUP + ROUNDS messages of 64 bytes, then swallows
 * STREAM bytes and answers one byte when all have arrived. */
static void *echo_main(void *arg)
{
	int s = (int)(intptr_t)arg;
	static __thread char b[1 << 16];
	for (int i = 0; i < WARMUP + ROUNDS; i++)
		if (recv(s, b, 64, MSG_WAITALL) != 64 || write(s, b, 64) != 64)
			die("echo");
	for (size_t got = 0; got < STREAM;) {
		ssize_t n = read(s, b, sizeof b);
		if (n <= 0)
			die("sink");
		got += (size_t)n;
	}
	if (write(s, "k", 1) != 1)
		die("sink ack");
	close(s);
	return NULL;
}

static volatile sig_atomic_t relay_stop;
static struct relay_opts ro;
static struct relay_client rc1;
static void *relay_main(void *arg)
{
	(void)arg;
	struct relay_stats st;
	relay_run(&ro, &rc1, 1, NULL, 0, &st);
	return NULL;
}

/* Round trips of 64-byte messages, then a one-way stream, over c. */
static void measure(const char *name, int c, double *rtt_us, double *gbps)
{
	char m[64];
	memset(m, 'P', sizeof m);
	for (int i = 0; i < WARMUP; i++)
		if (write(c, m, 64) != 64 || recv(c, m, 64, MSG_WAITALL) != 64)
			die("warm-up");
	double t0 = now_us();
	for (int i = 0; i < ROUNDS; i++)
		if (write(c, m, 64) != 64 || recv(c, m, 64, MSG_WAITALL) != 64)
			die("round trip");
	*rtt_us = (now_us() - t0) / ROUNDS;
	static char big[1 << 20];
	memset(big, 'x', sizeof big);
	t0 = now_us();
	for (size_t sent = 0; sent < STREAM;) {
		ssize_t w = write(c, big, sizeof big);
		if (w <= 0)
			die("stream");
		sent += (size_t)w;
	}
	if (recv(c, m, 1, MSG_WAITALL) != 1)
		die("stream ack");
	*gbps = STREAM / ((now_us() - t0) / 1e6) / 1e9;
	printf("  %-8s round trip %6.1f us, stream %5.2f GB/s\n", name, *rtt_us, *gbps);
}

static void bench_relay(void)
{
	uint16_t port;
	pthread_t th;
	/* direct */
	int l = listener(&port);
	int c = dial(port);
	int srv = accept(l, NULL, NULL);
	int one = 1;
	setsockopt(srv, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	pthread_create(&th, NULL, echo_main, (void *)(intptr_t)srv);
	double rtt_d, gb_d, rtt_r, gb_r;
	measure("direct", c, &rtt_d, &gb_d);
	close(c);
	pthread_join(th, NULL);

	/* relayed: client -> origin socket (held by the relay) -> relay ->
	 * destination connection -> the program */
	c = dial(port);
	int held = accept(l, NULL, NULL);
	struct hop_fds_relay info;
	int rl;
	uint8_t lo[16] = { 127, 0, 0, 1 };
	if (hop__fds_relay_open_addr(4, lo, &info, &rl) < 0)
		die("relay socket");
	int d = dial(info.port);
	uint8_t hello[HOP_FDS_HELLO_LEN];
	hop__fds_hello(hello, 5, info.key);
	write(d, hello, sizeof hello);
	memset(&ro, 0, sizeof ro);
	ro.listen_fd = rl;
	memcpy(ro.key, info.key, 16);
	struct sockaddr_in *da = (struct sockaddr_in *)&ro.dest;
	da->sin_family = AF_INET;
	ro.dest_len = sizeof *da;
	ro.forward_for_s = 0;
	ro.stop_all = &relay_stop;
	rc1 = (struct relay_client){ 5, held };
	pthread_t rt;
	pthread_create(&rt, NULL, relay_main, NULL);
	pthread_create(&th, NULL, echo_main, (void *)(intptr_t)d);
	measure("relayed", c, &rtt_r, &gb_r);
	close(c);
	pthread_join(th, NULL);
	pthread_join(rt, NULL);
	printf("  relay adds %.1f us per round trip (%.1f us per message each way); throughput %.0f%% of direct\n",
	       rtt_r - rtt_d, (rtt_r - rtt_d) / 2, 100 * gb_r / gb_d);
	close(l);
}

int main(int argc, char **argv)
{
	struct rlimit rl = { 16384, 16384 };
	setrlimit(RLIMIT_NOFILE, &rl);
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "relay") == 0) {
		bench_relay();
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "pause") == 0) {
		for (int i = 2; i < argc; i++)
			bench_pause(atoi(argv[i]));
		return 0;
	}
	fprintf(stderr, "usage: world_bench relay | pause N...\n");
	return 2;
}
