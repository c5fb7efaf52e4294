/* refuser.c -- a hop program holding one descriptor hop cannot carry
 * (tests/world/t_refuse.sh).
 *
 *   refuser pipe|unix|signalfd|inotify
 *
 * pipe: the read end of a pipe whose writer is a child process; unix: a
 * connected Unix socket; signalfd, inotify: kernel objects with state
 * elsewhere. Prints "ready pid=N fd=F", then "tick N" every 50 ms forever:
 * the migration must be refused by name before freezing, and the program
 * must go on ticking. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hop.h"

static long ticks;

int main(int argc, char **argv)
{
	int fd = -1;
	if (argc != 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	hop_init();
	if (hop_incoming()) {
		/* a destination: the migration is refused before it starts */
	} else if (strcmp(argv[1], "pipe") == 0) {
		int p[2];
		if (pipe(p) < 0)
			return 1;
		if (fork() == 0) {
			close(p[0]);
			for (;;)
				pause();
		}
		close(p[1]);
		fd = p[0];
	} else if (strcmp(argv[1], "unix") == 0) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
			return 1;
		if (fork() == 0) {
			close(sv[0]);
			for (;;)
				pause();
		}
		close(sv[1]);
		fd = sv[0];
	} else if (strcmp(argv[1], "signalfd") == 0) {
		sigset_t m;
		sigemptyset(&m);
		sigaddset(&m, SIGUSR2);
		fd = signalfd(-1, &m, 0);
	} else if (strcmp(argv[1], "inotify") == 0) {
		fd = inotify_init1(0);
		inotify_add_watch(fd, "/tmp", IN_CREATE);
	}
	printf("ready pid=%d fd=%d\n", (int)getpid(), fd);
	for (;;) {
		HOP_POINT(tick);
		printf("tick %ld\n", ticks++);
		usleep(50000);
	}
}
