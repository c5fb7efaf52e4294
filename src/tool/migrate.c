/* migrate.c -- `hop migrate --to ADDR:PORT --token-file F [--json] [--max-downtime MS] PID`
 *
 * The origin's door: connect to the destination's `hop receive`, prove we
 * know the token (auth.c), then hand the connection to process PID through
 * its control socket (SCM_RIGHTS) with the migration's parameters. The
 * process's own runtime runs the migration; we relay its progress to the
 * terminal and print its outcome. Exit 0 only when the migration committed. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "ctl.h"
#include "fault.h"
#include "tool.h"

int tool_split_addr(const char *s, char *host, size_t hn, char *port, size_t pn, const char *def_host);

static int migrate_usage(void)
{
	fprintf(stderr,
		"usage: hop migrate --to ADDR:PORT --token-file F [--json] [--max-downtime MS]\n"
		"                   [--max-rounds N] [--max-bytes B] [--on-budget switch|abort] [--timeout MS] PID\n");
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
		} else if (argv[i][0] != '-' && !pid)
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
		if (f.type == HOP_F_CTL_RESULT && hop__result_decode(f.payload, f.len, &r) == 0)
			break;
		hop__conn_close(&cc);
		rc = hop__fail(HOP_EPROTO, "unexpected %s on the control connection", hop__frame_name(f.type));
		goto fail;
	}
	if (tty)
		fputc('\n', stderr);
	hop__conn_close(&cc);
	return report(&r, json);

fail:
	memset(&r, 0, sizeof(r));
	r.err = rc;
	r.total_ms = (hop__now_us() - t0) / 1000;
	snprintf(r.error, sizeof(r.error), "%s", hop_last_error());
	if (!json)
		fprintf(stderr, "hop migrate: %s\n", r.error);
	return json ? report(&r, 1) : 1;
}
