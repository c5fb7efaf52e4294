/* status.c -- `hop status PID`: ask a process's hop runtime what it is doing
 * (through its control socket) and print the answer. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ctl.h"
#include "tool.h"

int cmd_status(int argc, char **argv)
{
	int fd, rc;
	struct hop_conn c;
	struct hop_frame f;

	if (argc != 2 || atol(argv[1]) <= 0) {
		fprintf(stderr, "usage: hop status PID\n");
		return 2;
	}
	if ((rc = hop__ctl_connect((pid_t)atol(argv[1]), &fd)) < 0)
		return tool_die(rc);
	if ((rc = hop__ctl_send_fd(fd, HOP_F_CTL_STATUS, NULL, 0, -1)) < 0) {
		close(fd);
		return tool_die(rc);
	}
	hop__conn_fd(&c, fd, 5000, "status");
	rc = hop__frame_expect(&c, HOP_F_CTL_STATUS_REPLY, &f, 4096);
	if (rc == 0)
		fwrite(f.payload, 1, f.len, stdout);
	hop__conn_close(&c);
	return rc < 0 ? tool_die(rc) : 0;
}
