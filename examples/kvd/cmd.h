/* cmd.h -- the command table and the commands (see cmd.c). */
#ifndef KVD_CMD_H
#define KVD_CMD_H

#include "net.h"
#include "util.h"

/* Run one command (argv[0] is its name) for client c. */
void cmd_call(struct kvd_client *c, int argc, const struct kvd_arg *argv);
/* 0 if the command table is sorted (checked once at start-up). */
int cmd_check_table(void);

#endif
