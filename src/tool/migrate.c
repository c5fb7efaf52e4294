/* migrate.c -- `hop migrate --to ADDR:PORT --token-file F [--json] [--max-downtime MS] PID`
 *
 * The origin's door: connect to the destination's `hop receive`, prove we
 * know the token (auth.c), then hand the connection to process PID through
 * its control socket (SCM_RIGHTS) with the migration's parameters. The
 * process's own runtime runs the migration; we relay its progress to the
 * terminal and print its outcome. Exit 0 only when the migration committed. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "ctl.h"
#include "datadir.h"
#include "fault.h"
#include "relay.h"
#include "tool.h"

int tool_split_addr(const char *s, char *host, size_t hn, char *port, size_t pn, const char *def_host);

static int migrate_usage(void)
{
	fprintf(stderr,
		"usage: hop migrate --to ADDR:PORT --token-file F [--json] [--max-downtime MS]\n"
		"                   [--max-rounds N] [--max-bytes B] [--on-budget switch|abort] [--timeout MS]\n"
		"                   [--forward-for SECONDS] [--relay-foreground] [--relay-pid-file F]\n"
		"                   [--data-dir DIR] PID\n"
		"       hop migrate --stop-forwarding RELAY_PID\n");
	return 2;
}

static int connect_to(const char *spec, int timeout_ms, int *out)
{
	char host[256], port[32];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai, *a;
	int rc = tool_split_addr(spec, host, sizeof(host), port, sizeof(port), "127.0.0.1");
	if (rc < 0)
		return rc;
	int e = getaddrinfo(host, port, &hints, &ai);
	if (e)
		return hop__fail(HOP_EINVAL, "--to %s: %s", spec, gai_strerror(e));
	rc = hop__fail(HOP_ESYS, "--to %s: no address", spec);
	for (a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			rc = hop__sysfail("connect %s", spec);
			close(fd);
			continue;
		}
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int err = 0;
		socklen_t el = sizeof(err);
		if (poll(&p, 1, timeout_ms) != 1) {
			rc = hop__fail(HOP_ETIMEDOUT, "connect %s: timed out", spec);
			close(fd);
			continue;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err) {
			errno = err;
			rc = hop__sysfail("connect %s", spec);
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
		*out = fd;
		rc = 0;
		break;
	}
	freeaddrinfo(ai);
	return rc;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static int report(const struct hop_mig_result *r, int json)
{
	if (json) {
		printf("{\"result\": \"%s\", \"downtime_us\": %llu, \"total_ms\": %llu, \"rounds\": %u, \"bytes\": %llu, "
		       "\"forced\": %s",
		       r->committed ? "committed" : "aborted", (unsigned long long)r->downtime_us,
		       (unsigned long long)r->total_ms, r->rounds, (unsigned long long)r->bytes,
		       r->forced ? "true" : "false");
		if (r->error[0]) {
			printf(", \"error\": ");
			json_str(stdout, r->error);
		}
		printf("}\n");
	} else if (r->committed) {
		printf("committed: downtime %llu us, total %llu ms, %u rounds, %.1f MB sent%s%s%s\n",
		       (unsigned long long)r->downtime_us, (unsigned long long)r->total_ms, r->rounds,
		       (double)r->bytes / 1e6, r->forced ? " (budget spent: switched with a longer pause)" : "",
		       r->error[0] ? "; " : "", r->error);
	} else {
		printf("aborted after %llu ms: %s (the origin continues)\n", (unsigned long long)r->total_ms,
		       r->error[0] ? r->error : "unknown error");
	}
	fflush(stdout);
	return r->committed ? 0 : 1;
}

static void show_progress(const struct hop_progress *p, int tty)
{
	fprintf(stderr, "%s%-13s round %3u  sent %8.1f MB  dirty %8.1f KB (%7.1f MB/s)  link %7.1f MB/s  est. pause %6llu us%s",
		tty ? "\r" : "", hop__phase_name(p->phase), p->round, (double)p->bytes / 1e6,
		(double)p->dirty_bytes / 1e3, (double)p->dirty_rate / 1e6, (double)p->throughput / 1e6,
		(unsigned long long)p->est_pause_us, tty ? "" : "\n");
}

/* ---- the data directory (datadir.c): rounds while the memory moves --------------- */
struct dd_rounds {
	struct datadir_out *dd;
	volatile int stop;
	int rc;
	struct datadir_stats st;
	pthread_t th;
};

static void *dd_main(void *arg)
{
	struct dd_rounds *d = arg;
	while (!d->stop && d->rc == 0) {
		d->rc = datadir_out_round(d->dd, 0, &d->st);
		for (int i = 0; i < 20 && !d->stop; i++)
			usleep(10000);
	}
	return NULL;
}

/* The origin is parked: the last round, then tell it to go on (or not). */
static void dd_final(struct dd_rounds *d, struct hop_conn *ctl)
{
	uint64_t t0 = hop__now_us();
	d->stop = 1;
	pthread_join(d->th, NULL); /* a round in progress finishes */
	uint64_t t1 = hop__now_us();
	uint8_t ok = 0;
	if (d->rc == 0) {
		struct datadir_stats fin = { 0 };
		d->rc = datadir_out_round(d->dd, 1, &fin);
		if (d->rc == 0)
			fprintf(stderr, "hop migrate: data directory: %u rounds while running, final pass %llu files, "
					"%llu bytes in %llu us (after %llu us finishing a round)\n", d->st.rounds,
				(unsigned long long)fin.files_sent, (unsigned long long)fin.bytes_sent,
				(unsigned long long)fin.last_round_us, (unsigned long long)(t1 - t0));
	}
	if (d->rc < 0)
		fprintf(stderr, "hop migrate: data directory: %s\n", hop_last_error());
	ok = d->rc == 0;
	hop__frame_send(ctl, HOP_F_CTL_GO, 0, &ok, 1);
	datadir_out_close(d->dd);
	d->dd = NULL;
}

int cmd_migrate(int argc, char **argv)
{
	const char *to = NULL, *token = NULL;
	int json = 0, quiet = 0;
	long pid = 0;
	struct hop_mig_params p = { .max_downtime_us = 5000, .max_rounds = 30, .timeout_ms = 0 };
	struct hop_mig_result r = { 0 };
	uint8_t key[AUTH_KEY_LEN];
	int rc, tcp = -1, ctl = -1;
	uint64_t t0 = hop__now_us();
	struct relay_cfg rcfg = { .forward_for_s = 60 };
	struct relay_handoff handoff = { .listen_fd = -1 };
	int handed = 0;
	const char *data_dir = NULL;
	struct dd_rounds ddr = { 0 };

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strcmp(argv[i], "--token-file") == 0 && i + 1 < argc)
			token = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--quiet") == 0)
			quiet = 1;
		else if (strcmp(argv[i], "--max-downtime") == 0 && i + 1 < argc)
			p.max_downtime_us = (uint32_t)(atof(argv[++i]) * 1000.0);
		else if (strcmp(argv[i], "--max-rounds") == 0 && i + 1 < argc)
			p.max_rounds = (uint32_t)atol(argv[++i]);
		else if (strcmp(argv[i], "--max-bytes") == 0 && i + 1 < argc)
			p.max_bytes = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			p.timeout_ms = (uint32_t)atol(argv[++i]);
		else if (strcmp(argv[i], "--on-budget") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "abort") == 0)
				p.flags |= HOP_MIG_BUDGET_ABORT;
			else if (strcmp(argv[i], "switch") != 0)
				return migrate_usage();
		} else if (strcmp(argv[i], "--forward-for") == 0 && i + 1 < argc)
			rcfg.forward_for_s = atoi(argv[++i]);
		else if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc)
			data_dir = argv[++i];
		else if (strcmp(argv[i], "--relay-foreground") == 0)
			rcfg.foreground = 1;
		else if (strcmp(argv[i], "--relay-pid-file") == 0 && i + 1 < argc)
			rcfg.pid_file = argv[++i];
		else if (strcmp(argv[i], "--stop-forwarding") == 0 && i + 1 < argc)
			return relay_stop_forwarding(atol(argv[++i]));
		else if (argv[i][0] != '-' && !pid)
			pid = atol(argv[i]);
		else
			return migrate_usage();
	}
	if (!to || !token || pid <= 0)
		return migrate_usage();
	if (!p.timeout_ms)
		p.timeout_ms = (uint32_t)hop__wire_timeout_ms();
	signal(SIGPIPE, SIG_IGN);

	/* fail fast on a wrong PID before touching the network */
	if ((rc = hop__fault_init()) < 0 || (rc = auth_load_token(token, key)) < 0 ||
	    (rc = hop__ctl_connect((pid_t)pid, &ctl)) < 0)
		goto fail;
	if (data_dir) {
		/* its own authenticated connection, first: hop receive serves the
		 * first one as the data directory's; the first copy is made
		 * before any memory moves, while the program runs */
		int dfd = -1;
		struct hop_conn dc;
		struct datadir_stats st0 = { 0 };
		if ((rc = connect_to(to, (int)p.timeout_ms, &dfd)) < 0) {
			close(ctl);
			goto fail;
		}
		hop__conn_fd(&dc, dfd, (int)p.timeout_ms, "migrate");
		rc = auth_client(&dc, key);
		free(dc.buf);
		fcntl(dfd, F_SETFL, fcntl(dfd, F_GETFL) & ~O_NONBLOCK); /* datadir.c reads and writes whole */
		if (rc == 0 && (rc = datadir_out_open(data_dir, dfd, &ddr.dd)) == 0)
			rc = datadir_out_round(ddr.dd, 0, &st0);
		if (rc < 0) {
			datadir_out_close(ddr.dd);
			close(dfd);
			close(ctl);
			goto fail;
		}
		if (!quiet)
			fprintf(stderr, "hop migrate: data directory copied: %llu files, %llu bytes in %llu us\n",
				(unsigned long long)st0.files_sent, (unsigned long long)st0.bytes_sent,
				(unsigned long long)st0.last_round_us);
		p.flags |= HOP_MIG_DATADIR;
	}
	if ((rc = connect_to(to, (int)p.timeout_ms, &tcp)) < 0) {
		close(ctl);
		goto fail;
	}
	struct hop_conn c;
	hop__conn_fd(&c, tcp, (int)p.timeout_ms, "migrate");
	rc = auth_client(&c, key);
	memset(key, 0, sizeof(key));
	free(c.buf);
	if (rc < 0) {
		close(tcp);
		close(ctl);
		goto fail;
	}
	/* new connections to the origin are forwarded to the destination's host */
	rcfg.dest_len = sizeof(rcfg.dest);
	getpeername(tcp, (struct sockaddr *)&rcfg.dest, &rcfg.dest_len);
	uint8_t pb[HOP_MIG_PARAMS_LEN];
	hop__params_encode(&p, pb);
	rc = hop__ctl_send_fd(ctl, HOP_F_CTL_MIGRATE, pb, sizeof(pb), tcp);
	close(tcp); /* the process has its own copy now */
	if (rc < 0) {
		close(ctl);
		goto fail;
	}

	/* relay progress until the result */
	struct hop_conn cc;
	struct hop_frame f;
	int tty = isatty(2) && !quiet;
	hop__conn_fd(&cc, ctl, 0, "control");
	if (ddr.dd && pthread_create(&ddr.th, NULL, dd_main, &ddr) != 0)
		ddr.rc = hop__fail(HOP_ESYS, "cannot start the data directory rounds");
	for (;;) {
		rc = hop__frame_recv(&cc, &f, 1024);
		if (rc < 0) {
			if (tty)
				fputc('\n', stderr);
			hop__conn_close(&cc);
			rc = hop__fail(rc == HOP_ECLOSED ? HOP_EABORTED : rc,
				       "process %ld closed its control connection without a result (it died?): %s", pid,
				       hop_last_error());
			goto fail;
		}
		if (f.type == HOP_F_CTL_PROGRESS) {
			struct hop_progress pr;
			if (!quiet && hop__progress_decode(f.payload, f.len, &pr) == 0)
				show_progress(&pr, tty);
			continue;
		}
		if (f.type == HOP_F_CTL_FROZEN && ddr.dd) { /* parked: the data directory's last pass */
			dd_final(&ddr, &cc);
			continue;
		}
		if (f.type == HOP_F_CTL_FDS && !handed) { /* the program's sockets, for the relay */
			if ((rc = relay_handoff_recv(ctl, &handoff)) < 0) {
				hop__conn_close(&cc);
				goto fail;
			}
			handed = 1;
			continue;
		}
		if (f.type == HOP_F_CTL_RESULT && hop__result_decode(f.payload, f.len, &r) == 0)
			break;
		hop__conn_close(&cc);
		rc = hop__fail(HOP_EPROTO, "unexpected %s on the control connection", hop__frame_name(f.type));
		goto fail;
	}
	if (tty)
		fputc('\n', stderr);
	hop__conn_close(&cc);
	if (ddr.dd) { /* ended before the freeze */
		ddr.stop = 1;
		pthread_join(ddr.th, NULL);
		datadir_out_close(ddr.dd);
	}
	rc = report(&r, json);
	if (handed && r.committed) /* the clients stay connected through us (relay.c) */
		relay_after_commit(&handoff, &rcfg);
	else if (handed)
		relay_handoff_close(&handoff); /* the origin carries on with its own */
	return rc;

fail:
	memset(&r, 0, sizeof(r));
	r.err = rc;
	r.total_ms = (hop__now_us() - t0) / 1000;
	snprintf(r.error, sizeof(r.error), "%s", hop_last_error());
	if (!json)
		fprintf(stderr, "hop migrate: %s\n", r.error);
	return json ? report(&r, 1) : 1;
}
