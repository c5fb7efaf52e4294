/* datadir_drv.c -- runs src/tool/datadir.c on its own, for the world tests.
 *
 *   datadir_drv recv DIR PORT          serve one session into DIR
 *   datadir_drv send DIR IP PORT ROUNDS INTERVAL_MS [FREEZE_PID]
 *       ROUNDS rounds while the program runs, then SIGSTOP FREEZE_PID (the
 *       freeze) and the final round. Prints one line per round.
 * (`hop migrate --data-dir` / `hop receive --data-dir` run the same calls on
 * an authenticated connection.) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "datadir.h"
#include "err.h"

static void line(const char *what, const struct datadir_stats *st)
{
	printf("%s round %u: files %llu blocks %llu bytes %llu deleted %llu in %llu us\n", what, st->rounds,
	       (unsigned long long)st->files_sent, (unsigned long long)st->blocks_sent, (unsigned long long)st->bytes_sent,
	       (unsigned long long)st->deleted, (unsigned long long)st->last_round_us);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct datadir_stats st;
	memset(&st, 0, sizeof st);
	if (argc == 4 && strcmp(argv[1], "recv") == 0) {
		int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3])) };
		if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0) {
			perror("datadir_drv: listen");
			return 1;
		}
		printf("listening\n");
		fflush(stdout);
		int s = accept(l, NULL, NULL);
		if (datadir_in_serve(argv[2], s, &st) < 0) {
			fprintf(stderr, "datadir_drv: %s\n", hop_last_error());
			return 1;
		}
		line("received", &st);
		return 0;
	}
	if ((argc == 7 || argc == 8) && strcmp(argv[1], "send") == 0) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[4])) };
		inet_pton(AF_INET, argv[3], &a.sin_addr);
		if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
			perror("datadir_drv: connect");
			return 1;
		}
		struct datadir_out *o;
		if (datadir_out_open(argv[2], s, &o) < 0) {
			fprintf(stderr, "datadir_drv: %s\n", hop_last_error());
			return 1;
		}
		int rounds = atoi(argv[5]), ms = atoi(argv[6]);
		for (int i = 0; i < rounds; i++) {
			struct datadir_stats r;
			memset(&r, 0, sizeof r);
			if (datadir_out_round(o, 0, &r) < 0) {
				fprintf(stderr, "datadir_drv: %s\n", hop_last_error());
				return 1;
			}
			r.rounds = (uint32_t)i + 1;
			line("live", &r);
			usleep((useconds_t)ms * 1000);
		}
		if (argc == 8)
			kill(atoi(argv[7]), SIGSTOP);
		struct datadir_stats r;
		memset(&r, 0, sizeof r);
		int rc = datadir_out_round(o, 1, &r);
		r.rounds = (uint32_t)rounds + 1;
		if (rc < 0) {
			fprintf(stderr, "datadir_drv: %s\n", hop_last_error());
			return 1;
		}
		line("final", &r);
		datadir_out_close(o);
		return 0;
	}
	fprintf(stderr, "usage: see the top of datadir_drv.c\n");
	return 2;
}
