/* relay_drv.c -- runs src/tool/relay.c the way `hop migrate` does, for the
 * world tests that hand a program off without the migration engine.
 *
 *   relay_drv DEST_IP DIR FORWARD_S
 *
 * Takes the program's hand-off (fds.h: the relay's socket, the client and
 * listening sockets) on the Unix socket DIR/relay.sock, then relays and
 * forwards to DEST_IP until everything closed. SIGUSR1 ends forwarding,
 * SIGTERM everything. Prints one line of statistics at the end. */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "relay.h"

static volatile sig_atomic_t stop_fwd, stop_all;
static void on_usr1(int s) { (void)s; stop_fwd = 1; }
static void on_term(int s) { (void)s; stop_all = 1; }

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: relay_drv DEST_IP DIR FORWARD_S\n");
		return 2;
	}
	signal(SIGUSR1, on_usr1);
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	char path[512], tmp[600];
	snprintf(path, sizeof path, "%s/relay.sock", argv[2]);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	unlink(tmp);
	int u = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof sun.sun_path, "%.100s", tmp);
	if (bind(u, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(u, 1) < 0) {
		perror("relay_drv: unix socket");
		return 1;
	}
	rename(tmp, path); /* ready */
	int c = accept(u, NULL, NULL);
	struct relay_handoff h;
	if (relay_handoff_recv(c, &h) < 0) {
		fprintf(stderr, "relay_drv: %s\n", hop_last_error());
		return 1;
	}
	close(c);
	close(u);
	fprintf(stderr, "relay_drv: relaying %d clients, forwarding %d listeners\n", h.nclients, h.nlisteners);

	struct relay_opts o;
	memset(&o, 0, sizeof o);
	o.listen_fd = h.listen_fd;
	memcpy(o.key, h.key, 16);
	struct sockaddr_in *d = (struct sockaddr_in *)&o.dest;
	d->sin_family = AF_INET;
	inet_pton(AF_INET, argv[1], &d->sin_addr);
	o.dest_len = sizeof *d;
	o.forward_for_s = atoi(argv[3]);
	o.stop_forwarding = &stop_fwd;
	o.stop_all = &stop_all;
	o.verbose = 1;
	struct relay_stats st;
	if (relay_run(&o, h.clients, h.nclients, h.listeners, h.nlisteners, &st) < 0) {
		fprintf(stderr, "relay_drv: %s\n", hop_last_error());
		return 1;
	}
	free(h.clients);
	free(h.listeners);
	printf("relayed %llu forwarded %llu to_dest %llu to_client %llu unpaired %llu\n",
	       (unsigned long long)st.relayed, (unsigned long long)st.forwarded, (unsigned long long)st.bytes_to_dest,
	       (unsigned long long)st.bytes_to_client, (unsigned long long)st.unpaired);
	return 0;
}
