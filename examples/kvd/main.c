/* main.c -- kvd: a small Redis-compatible key-value server written for hop.
 *
 * Start-up, flags, and the event loop. The loop is where hop may move the
 * process: HOP_POINT(loop) runs once per iteration, after the AOF and the
 * replies have been written and before epoll_wait, when no command is half
 * done and nothing on the stack matters. epoll_wait sleeps at most 10 ms, so
 * a waiting migration reaches the point within 10 ms even on an idle server.
 *
 * After the point, hop_resumed() tells whether we are now running on another
 * machine; kvd then rebuilds its epoll registrations from its own client list
 * (an epoll interest list is kernel state no library can read back reliably)
 * and records the wall-clock gap around the move for INFO.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "aof.h"
#include "cmd.h"
#include "db.h"
#include "hop.h"
#include "net.h"
#include "util.h"

#define MAX_EVENTS 256
#define TICK_MS 10

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static const char *byte_order(void)
{
	const uint16_t one = 1;
	return *(const uint8_t *)&one ? "little-endian" : "big-endian";
}

static int usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--port N] [--bind ADDR] [--dir DIR] [--fsync always|everysec|no] [--maxclients N]\n"
		"  --port N        TCP port (default 7379)\n"
		"  --bind ADDR     address to listen on (default 127.0.0.1)\n"
		"  --dir DIR       keep an append-only file DIR/kvd.aof (default: no persistence)\n"
		"  --fsync POLICY  when to fsync the AOF (default everysec)\n"
		"  --maxclients N  connected clients at most (default 10000)\n",
		argv0);
	return 2;
}

/* With keep == 0 (a migration destination) the flags are only checked: the
 * origin's values arrive with its state, and a string copied here would be a
 * start-up block that hop must prove unreachable, with a scan of the whole
 * arrived keyspace inside the pause (in.c, i_cleanup). */
static int parse_flags(int argc, char **argv, int keep)
{
	int64_t v;

	for (int i = 1; i < argc; i++) {
		const char *f = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!val)
			return usage(argv[0]);
		i++;
		if (strcmp(f, "--port") == 0 && kvd_str2ll(val, strlen(val), &v) && v > 0 && v < 65536)
			kvd.port = (int)v;
		else if (strcmp(f, "--bind") == 0)
			kvd.bind = keep ? kvd_memdup(val, strlen(val)) : NULL; /* copies: argv lives on the stack */
		else if (strcmp(f, "--dir") == 0)
			kvd.dir = keep ? kvd_memdup(val, strlen(val)) : NULL;
		else if (strcmp(f, "--maxclients") == 0 && kvd_str2ll(val, strlen(val), &v) && v > 0 && v < 1000000)
			kvd.maxclients = (int)v;
		else if (strcmp(f, "--fsync") == 0 && strcmp(val, "always") == 0)
			kvd.fsync_policy = FSYNC_ALWAYS;
		else if (strcmp(f, "--fsync") == 0 && strcmp(val, "everysec") == 0)
			kvd.fsync_policy = FSYNC_EVERYSEC;
		else if (strcmp(f, "--fsync") == 0 && strcmp(val, "no") == 0)
			kvd.fsync_policy = FSYNC_NO;
		else
			return usage(argv[0]);
	}
	return 0;
}

/* Periodic work, TICK_MS apart: rehash and expire within a time budget each. */
static void cron(void)
{
	db_rehash_us(1000);
	db_active_expire(kvd.now_ms, 1000);
	net_cron();
}

/* Called right after the transfer point: did the process just move? */
static void after_point(void)
{
	int n = hop_resumed();

	if (n == kvd.hop_migrations)
		return;
	kvd.hop_migrations = n;
	kvd.hop_last_move_ms = kvd_now_ms();
	/* point_ms was written on the origin just before the point; both clocks
	 * are CLOCK_REALTIME, so the difference is the pause as clients saw it
	 * (plus whatever the two machines' clocks disagree by) */
	kvd.hop_last_pause_ms = kvd.hop_last_move_ms - kvd.point_ms;
	kvd_log("resumed after move %d (pause about %" PRId64 " ms)", n, kvd.hop_last_pause_ms);
	net_rearm();
}

static void server_loop(void)
{
	/* on the stack, not in a global: epoll_data is a union of a pointer and
	 * integers, which hop could not translate; nothing here outlives an iteration */
	struct epoll_event ev[MAX_EVENTS];

	while (!kvd.shutdown && !got_signal) {
		net_before_sleep();
		kvd.point_ms = kvd_now_ms();
		HOP_POINT(loop);
		after_point();

		int timeout = TICK_MS - (int)(kvd_now_ms() - kvd.last_cron_ms);
		if (timeout < 0)
			timeout = 0;
		if (timeout > TICK_MS)
			timeout = TICK_MS;
		int n = epoll_wait(kvd.epoll_fd, ev, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR) {
			kvd_log("epoll_wait: %s", strerror(errno));
			break;
		}
		kvd.now_ms = kvd_now_ms();
		for (int i = 0; i < n; i++)
			net_handle(ev[i].data.fd, ev[i].events);
		if (kvd.now_ms - kvd.last_cron_ms >= TICK_MS || kvd.now_ms < kvd.last_cron_ms) {
			kvd.last_cron_ms = kvd.now_ms;
			cron();
		}
	}
}

int main(int argc, char **argv)
{
	/* first, as hop.h asks: load the index, start the agent. Without it
	 * (a plain build, or a damaged index) kvd still serves; it just cannot move. */
	int hop = hop_init();

	kvd.port = 7379;
	kvd.maxclients = 10000;
	kvd.fsync_policy = FSYNC_EVERYSEC;
	kvd.listen_fd = kvd.epoll_fd = kvd.aof_fd = -1;
	kvd.hop_status = hop;
	kvd.hop_last_pause_ms = -1;
	kvd.start_ms = kvd.now_ms = kvd.last_cron_ms = kvd_now_ms();
	if (parse_flags(argc, argv, !hop_incoming()))
		return 2;
	if (!kvd.bind && !hop_incoming())
		kvd.bind = kvd_memdup("127.0.0.1", 9);
	if (hop < 0)
		kvd_log("hop_init: %s (%s); serving without live migration", hop_strerror(hop), hop_last_error());
	if (cmd_check_table() < 0) {
		kvd_log("internal error: command table not sorted");
		return 1;
	}
	kvd.hop_migrations = hop_resumed();

	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	if (hop_incoming()) {
		/* `hop receive` started us: the keyspace, the clients and the
		 * descriptors arrive at the first HOP_POINT. Building our own would
		 * only clash with the origin's (its port, its AOF). */
		kvd_log("kvd (%s, %d-bit) waiting for a migration's state", byte_order(), (int)(sizeof(void *) * 8));
	} else {
		db_init();
		if (aof_start() < 0)
			return 1;
		kvd.total_commands = 0; /* the replay is not client traffic */
		if (net_listen() < 0)
			return 1;
		kvd_log("kvd ready on %s:%d (%s, %d-bit), %" PRIu64 " keys%s%s", kvd.bind, kvd.port, byte_order(),
			(int)(sizeof(void *) * 8), db_size(), kvd.dir ? ", AOF in " : "", kvd.dir ? kvd.dir : "");
	}
	server_loop();
	net_before_sleep();
	aof_close();
	kvd_log("kvd exiting%s", got_signal ? " on a signal" : "");
	return 0;
}
