/* logger.c -- a hop program that keeps writing into its data directory
 * (tests/world/t_datadir_migrate.sh).
 *
 *   logger DIR
 *
 * Holds DIR/log open (O_APPEND) and DIR/config open read-only half-way
 * through, and appends "line N <config word>" every millisecond. After a
 * migration the same descriptors must name the destination's copies (the
 * data directory synced by hop migrate --data-dir): the log continues with
 * no line missing or doubled, and the config is read on from the same
 * offset. Prints "ready" and "resumed N line L". */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hop.h"

static int logfd = -1, cfgfd = -1;
static long line;
static char word[64];

int main(int argc, char **argv)
{
	char path[512];
	if (argc != 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (hop_init() < 0)
		fprintf(stderr, "logger: without hop: %s\n", hop_last_error());
	if (!hop_incoming()) {
		snprintf(path, sizeof path, "%s/log", argv[1]);
		logfd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
		snprintf(path, sizeof path, "%s/config", argv[1]);
		cfgfd = open(path, O_RDONLY);
		/* read the first word; the second comes after the migration */
		if (logfd < 0 || cfgfd < 0 || read(cfgfd, word, 6) != 6) {
			perror("logger: open");
			return 1;
		}
		printf("ready pid=%d\n", (int)getpid());
	}
	int seen = hop_resumed();
	for (;;) {
		HOP_POINT(tick);
		if (hop_resumed() != seen) {
			seen = hop_resumed();
			char more[7] = "";
			if (read(cfgfd, more, 6) != 6 || strcmp(more, "second") != 0) {
				printf("FAIL: config read on as '%s'\n", more);
				return 1;
			}
			printf("resumed %d line %ld\n", seen, line);
		}
		char b[128];
		int n = snprintf(b, sizeof b, "line %ld %s\n", line, word);
		if (write(logfd, b, (size_t)n) != n) {
			printf("FAIL: write: line %ld\n", line);
			return 1;
		}
		line++;
		usleep(1000);
	}
}
