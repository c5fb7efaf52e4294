/* relay_drv.c -- runs src/tool/relay.c the way `hop migrate` will, for the
 * world tests that hand a program off without the migration engine.
 *
 *   relay_drv ORIGIN_IP DEST_IP DIR FORWARD_S
 *
 * Opens the relay's socket on ORIGIN_IP and writes DIR/relay.info (family,
 * address, port, key) for the program's descriptor table; takes the
 * program's client and listening sockets over DIR/relay.sock (SCM_RIGHTS,
 * records of fd number, kind, port); then relays and forwards to DEST_IP
 * until everything closed. SIGUSR1 ends forwarding, SIGTERM everything.
 * Prints one line of statistics at the end. */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bytes.h"
#include "err.h"
#include "relay.h"

static volatile sig_atomic_t stop_fwd, stop_all;
static void on_usr1(int s) { (void)s; stop_fwd = 1; }
static void on_term(int s) { (void)s; stop_all = 1; }

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: relay_drv ORIGIN_IP DEST_IP DIR FORWARD_S\n");
		return 2;
	}
	signal(SIGUSR1, on_usr1);
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	struct hop_fds_relay info;
	struct relay_opts o;
	memset(&o, 0, sizeof o);
	if (relay_listen(argv[1], &info, &o.listen_fd) < 0) {
		fprintf(stderr, "relay_drv: %s\n", hop_last_error());
		return 1;
	}
	memcpy(o.key, info.key, 16);
	struct sockaddr_in *d = (struct sockaddr_in *)&o.dest;
	d->sin_family = AF_INET;
	inet_pton(AF_INET, argv[2], &d->sin_addr);
	o.dest_len = sizeof *d;
	o.forward_for_s = atoi(argv[4]);
	o.stop_forwarding = &stop_fwd;
	o.stop_all = &stop_all;
	o.verbose = 1;

	char path[512], tmp[600];
	snprintf(path, sizeof path, "%s/relay.sock", argv[3]);
	unlink(path);
	int u = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof sun.sun_path, "%.100s", path);
	if (bind(u, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(u, 1) < 0) {
		perror("relay_drv: unix socket");
		return 1;
	}
	snprintf(path, sizeof path, "%s/relay.info", argv[3]);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	fprintf(f, "4 %s %u ", argv[1], info.port);
	for (int i = 0; i < 16; i++)
		fprintf(f, "%02x", info.key[i]);
	fprintf(f, "\n");
	fclose(f);
	rename(tmp, path);

	int c = accept(u, NULL, NULL);
	static struct relay_client clients[8192];
	static struct relay_listener listeners[64];
	int nc = 0, nl = 0;
	for (;;) {
		uint8_t rec[200 * 7];
		int fds[200];
		char cbuf[CMSG_SPACE(sizeof fds)];
		struct iovec iov = { rec, sizeof rec };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
		ssize_t n = recvmsg(c, &m, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			break;
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		int k = (int)(n / 7);
		if (!cm || cm->cmsg_type != SCM_RIGHTS || (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int)) != k) {
			fprintf(stderr, "relay_drv: a message without its descriptors\n");
			return 1;
		}
		memcpy(fds, CMSG_DATA(cm), sizeof(int) * (size_t)k);
		for (int i = 0; i < k; i++) {
			int num = (int)hop__get32(rec + 7 * i);
			if (rec[7 * i + 4] == HOP_FD_CONN && nc < 8192)
				clients[nc++] = (struct relay_client){ num, fds[i] };
			else if (rec[7 * i + 4] == HOP_FD_LISTEN && nl < 64)
				listeners[nl++] = (struct relay_listener){ fds[i], hop__get16(rec + 7 * i + 5) };
			else
				close(fds[i]);
		}
	}
	close(c);
	close(u);
	fprintf(stderr, "relay_drv: relaying %d clients, forwarding %d listeners\n", nc, nl);
	struct relay_stats st;
	if (relay_run(&o, clients, nc, listeners, nl, &st) < 0) {
		fprintf(stderr, "relay_drv: %s\n", hop_last_error());
		return 1;
	}
	printf("relayed %llu forwarded %llu to_dest %llu to_client %llu unpaired %llu\n",
	       (unsigned long long)st.relayed, (unsigned long long)st.forwarded, (unsigned long long)st.bytes_to_dest,
	       (unsigned long long)st.bytes_to_client, (unsigned long long)st.unpaired);
	return 0;
}
