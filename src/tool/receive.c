/* receive.c -- `hop receive --listen [ADDR:]PORT --token-file F -- CMD [ARGS]`
 *
 * The destination's door. Listens where it is told (only loopback when no
 * address is given), authenticates each peer (auth.c) and drops those that
 * fail, then launches CMD with the authenticated connection inherited as
 * HOP_INCOMING_FD=N. CMD is the destination build of the program (possibly
 * `qemu-s390x -L ... ./prog`: descriptors and environment pass through);
 * its runtime receives the state at its first HOP_POINT. We exit with CMD's
 * status (128 + signal if it was killed). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth.h"
#include "datadir.h"
#include "fault.h"
#include "tool.h"

extern char **environ;

static int receive_usage(void)
{
	fprintf(stderr, "usage: hop receive --listen [ADDR:]PORT --token-file F [--port-file F] [--pid-file F]\n"
			"                   [--data-dir DIR] -- CMD [ARGS]\n"
			"  without ADDR only 127.0.0.1 is bound; PORT 0 picks a free port (see --port-file)\n");
	return 2;
}

/* Split "ADDR:PORT" / "[v6]:PORT" / "PORT". */
int tool_split_addr(const char *s, char *host, size_t hn, char *port, size_t pn, const char *def_host)
{
	const char *colon = strrchr(s, ':');
	if (!colon) {
		snprintf(host, hn, "%s", def_host);
		snprintf(port, pn, "%s", s);
	} else if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb + 1 != colon)
			return hop__fail(HOP_EINVAL, "bad address '%s'", s);
		snprintf(host, hn, "%.*s", (int)(rb - s - 1), s + 1);
		snprintf(port, pn, "%s", colon + 1);
	} else {
		snprintf(host, hn, "%.*s", (int)(colon - s), s);
		snprintf(port, pn, "%s", colon + 1);
	}
	if (!host[0] || !port[0])
		return hop__fail(HOP_EINVAL, "bad address '%s' (want ADDR:PORT)", s);
	return 0;
}

static int listen_on(const char *spec, int *out, int *bound_port)
{
	char host[256], port[32];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *ai;
	int rc = tool_split_addr(spec, host, sizeof(host), port, sizeof(port), "127.0.0.1");
	if (rc < 0)
		return rc;
	int e = getaddrinfo(host, port, &hints, &ai);
	if (e)
		return hop__fail(HOP_EINVAL, "--listen %s: %s", spec, gai_strerror(e));
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0) {
		freeaddrinfo(ai);
		return hop__sysfail("socket");
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4) < 0) {
		rc = hop__sysfail("--listen %s", spec);
		freeaddrinfo(ai);
		close(fd);
		return rc;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char sport[32];
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, sport, sizeof(sport), NI_NUMERICSERV);
	*bound_port = atoi(sport);
	*out = fd;
	return 0;
}

static int write_num(const char *path, long v)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%ld\n", v);
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int rc = tool_write_file(tmp, b, (size_t)n);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = hop__sysfail("rename %s", path);
	return rc;
}

int cmd_receive(int argc, char **argv)
{
	const char *listen_spec = NULL, *token = NULL, *port_file = NULL, *pid_file = NULL, *data_dir = NULL;
	pid_t dd_pid = -1;
	uint8_t key[AUTH_KEY_LEN];
	int i, lfd = -1, port = 0, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_spec = argv[++i];
		else if (strcmp(argv[i], "--token-file") == 0 && i + 1 < argc)
			token = argv[++i];
		else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc)
			port_file = argv[++i];
		else if (strcmp(argv[i], "--pid-file") == 0 && i + 1 < argc)
			pid_file = argv[++i];
		else if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc)
			data_dir = argv[++i];
		else
			return receive_usage();
	}
	if (!listen_spec || !token || i >= argc)
		return receive_usage();
	if ((rc = hop__fault_init()) < 0 || (rc = auth_load_token(token, key)) < 0)
		return tool_die(rc);
	if ((rc = listen_on(listen_spec, &lfd, &port)) < 0)
		return tool_die(rc);
	fprintf(stderr, "hop receive: listening on %s (port %d)\n", listen_spec, port);
	if (port_file && (rc = write_num(port_file, port)) < 0)
		return tool_die(rc);
	signal(SIGPIPE, SIG_IGN);

	int cfd;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char peer[128] = "?", pport[32] = "?";
		cfd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return tool_die(hop__sysfail("accept"));
		}
		getnameinfo((struct sockaddr *)&ss, sl, peer, sizeof(peer), pport, sizeof(pport),
			    NI_NUMERICHOST | NI_NUMERICSERV);
		struct hop_conn c;
		hop__conn_fd(&c, cfd, 5000, "receive");
		rc = auth_server(&c, key);
		free(c.buf);
		if (rc == 0 && data_dir && dd_pid < 0) {
			/* the first authenticated connection carries the data
			 * directory (hop migrate --data-dir opens it first) */
			fprintf(stderr, "hop receive: %s:%s authenticated: data directory %s\n", peer, pport, data_dir);
			dd_pid = fork();
			if (dd_pid == 0) {
				struct datadir_stats st = { 0 };
				close(lfd);
				if (datadir_in_serve(data_dir, cfd, &st) < 0) {
					fprintf(stderr, "hop receive: data directory: %s\n", hop_last_error());
					_exit(1);
				}
				fprintf(stderr, "hop receive: data directory in sync after %u rounds (%llu bytes)\n", st.rounds,
					(unsigned long long)st.bytes_sent);
				_exit(0);
			}
			close(cfd);
			if (dd_pid < 0)
				return tool_die(hop__sysfail("fork for the data directory"));
			continue;
		}
		if (rc == 0) {
			fprintf(stderr, "hop receive: %s:%s authenticated\n", peer, pport);
			break;
		}
		fprintf(stderr, "hop receive: refused %s:%s: %s\n", peer, pport, hop_last_error());
		close(cfd);
	}
	close(lfd);
	memset(key, 0, sizeof(key));

	/* hand the connection to CMD */
	int flags = fcntl(cfd, F_GETFD);
	fcntl(cfd, F_SETFD, flags & ~FD_CLOEXEC);
	char fdnum[16];
	snprintf(fdnum, sizeof(fdnum), "%d", cfd);
	setenv("HOP_INCOMING_FD", fdnum, 1);
	pid_t pid;
	int err = posix_spawnp(&pid, argv[i], NULL, NULL, argv + i, environ);
	close(cfd);
	if (err) {
		errno = err;
		return tool_die(hop__sysfail("cannot run %s", argv[i]));
	}
	fprintf(stderr, "hop receive: started %s as pid %d\n", argv[i], (int)pid);
	if (pid_file && (rc = write_num(pid_file, pid)) < 0)
		fprintf(stderr, "hop receive: %s\n", hop_last_error());
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return tool_die(hop__sysfail("waitpid %d", (int)pid));
	if (dd_pid > 0)
		waitpid(dd_pid, NULL, WNOHANG);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}
