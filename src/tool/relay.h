/* relay.h -- the origin's relay and forwarder, run by `hop migrate` after
 * COMMIT.
 *
 * Connected clients keep their TCP connection to the origin: at the freeze
 * the origin program's client sockets (and listening sockets) are handed to
 * `hop migrate`, which after COMMIT relays each client's bytes to and from a
 * connection the destination program opened to the relay (the destination
 * sees it under the client's old descriptor number, see src/lib/fds.h).
 * New connections to the origin's listening sockets are forwarded to the
 * destination's address until forwarding ends (a deadline, or a signal).
 */
#ifndef HOP_RELAY_H
#define HOP_RELAY_H

#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fds.h"

struct relay_client {
	int fd_number; /* the number the program knew the client by */
	int sock;      /* hop migrate's copy of the client's socket */
};

struct relay_listener {
	int sock;      /* hop migrate's copy of the origin's listening socket */
	uint16_t port; /* forwarded to the same port at the destination */
};

/* What the origin's runtime handed over at the freeze (fds.h, "hand-off"). */
struct relay_handoff {
	int listen_fd;
	uint8_t key[16];
	struct relay_client *clients;
	int nclients;
	struct relay_listener *listeners;
	int nlisteners;
};

/* Read the hand-off from sock (after the frame announcing it). Every
 * descriptor received is either in *h or closed. 0 or a negative HOP_E*. */
int relay_handoff_recv(int sock, struct relay_handoff *h);
/* Close everything in h (the migration aborted: the origin keeps its own). */
void relay_handoff_close(struct relay_handoff *h);

struct relay_opts {
	int listen_fd; /* the relay's socket, from the hand-off */
	uint8_t key[16];
	/* destination host; each listener forwards to its own port there */
	struct sockaddr_storage dest;
	socklen_t dest_len;
	int forward_for_s;      /* < 0: until stopped by a signal */
	int pair_timeout_ms;    /* how long clients wait for the destination (0: 10000) */
	volatile sig_atomic_t *stop_forwarding; /* set by a signal handler */
	volatile sig_atomic_t *stop_all;
	int verbose;
};

struct relay_stats {
	uint64_t relayed, forwarded;      /* connections */
	uint64_t bytes_to_dest, bytes_to_client;
	uint64_t unpaired;                /* clients the destination never claimed */
};

/* Relay until every relayed and forwarded connection has closed and
 * forwarding has ended. Takes ownership of every socket given. Returns 0 or
 * a negative HOP_E*. */
int relay_run(const struct relay_opts *o, struct relay_client *clients, int nclients,
	      struct relay_listener *listeners, int nlisteners, struct relay_stats *st);

/* ---- `hop migrate` after COMMIT ---------------------------------------------- */
struct relay_cfg {
	int forward_for_s;      /* --forward-for (default 60; < 0 until stopped) */
	int foreground;         /* --relay-foreground: relay in this process */
	const char *pid_file;   /* --relay-pid-file */
	struct sockaddr_storage dest; /* the destination's host (port ignored) */
	socklen_t dest_len;
};

/* Relay what h holds: in a child process that outlives `hop migrate` (its
 * PID printed on stderr and written to pid_file), or here when foreground.
 * SIGUSR1 ends forwarding of new connections; SIGTERM/SIGINT end
 * everything. Takes ownership of h. */
void relay_after_commit(struct relay_handoff *h, const struct relay_cfg *cfg);
/* `hop migrate --stop-forwarding PID`: ask a relay to stop forwarding new
 * connections (its relayed clients stay). Exit status for main. */
int relay_stop_forwarding(long pid);

#endif
