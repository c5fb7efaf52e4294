/* net.h -- kvd's server state, its clients and the event loop.
 *
 * Everything the server knows lives in the global `kvd` or hangs off it
 * through typed pointers, and every descriptor (listening socket, epoll
 * instance, clients, AOF file) is a plain int in those structs: that is what
 * hop can find, translate and hand over when the process moves. The epoll
 * registrations carry the descriptor number (data.fd), never a pointer, and
 * the array epoll_wait fills is a local of the loop, because epoll_data is a
 * union of a pointer and integers that nothing could translate safely.
 */
#ifndef KVD_NET_H
#define KVD_NET_H

#include <stdint.h>

/* A byte range [off, off + len) of a client's input buffer: the parser keeps
 * offsets, not pointers, so compacting the buffer (and moving the process)
 * never leaves a dangling pointer behind. */
struct kvd_span {
	uint32_t off, len;
};

enum { REQ_NONE = 0, REQ_MULTIBULK = 1, REQ_INLINE = 2 };

struct kvd_client {
	int fd;                /* -1 for the AOF loader's client */
	uint64_t id;
	struct kvd_client *prev, *next;  /* all clients */
	struct kvd_client *pending_next; /* clients with output to flush */
	int pending;           /* on the pending list */
	int closing;           /* close once the output is written (QUIT, protocol error) */
	int want_out;          /* EPOLLOUT registered */

	/* input: in[0..in_len) received, parsed up to in_pos */
	char *in;
	uint32_t in_len, in_cap, in_pos;
	/* parser state of the request being read (see proto.c) */
	int req_type;          /* REQ_* */
	uint32_t cmd_start;    /* where the current request starts in `in` */
	int64_t mb_left;       /* bulk strings still expected */
	int64_t bulk_len;      /* length of the bulk being read; -1: its header is next */
	struct kvd_span *argv; /* arguments read so far */
	uint32_t argc, argv_cap;

	/* output: out[out_pos..out_len) still to send */
	char *out;
	uint32_t out_len, out_cap, out_pos;

	int64_t ctime_ms;      /* connected at (CLOCK_REALTIME) */
	int64_t atime_ms;      /* last read from it (CLOCK_REALTIME, the loop's kvd.now_ms) */
	int64_t errors;        /* error replies sent (the AOF loader counts them) */
};

enum kvd_fsync { FSYNC_NO = 0, FSYNC_EVERYSEC = 1, FSYNC_ALWAYS = 2 };

struct kvd_server {
	/* configuration (strings copied to the heap: argv lives on the stack) */
	int port;
	char *bind;
	char *dir;             /* NULL: no persistence */
	int fsync_policy;      /* enum kvd_fsync */
	int maxclients;

	/* descriptors */
	int listen_fd;
	int epoll_fd;

	/* clients */
	struct kvd_client *clients;       /* list of all */
	struct kvd_client *pending;       /* clients with output not yet written */
	struct kvd_client **by_fd;        /* descriptor -> client */
	int by_fd_cap;
	int nclients;
	int free_cursor;                  /* net_cron's place in by_fd */
	uint64_t next_client_id;

	/* persistence (aof.c) */
	int aof_fd;            /* -1: off */
	char *aof_buf;         /* commands not yet written to the file */
	uint32_t aof_len, aof_cap;
	int64_t aof_last_fsync_ms;
	int64_t aof_size;      /* bytes in the file */
	int aof_dirty;         /* written since the last fsync */

	/* time and the loop */
	int64_t start_ms;
	int64_t now_ms;        /* cached at the top of each event batch */
	int64_t last_cron_ms;
	int64_t point_ms;      /* wall clock just before HOP_POINT(loop) */
	int shutdown;          /* leave the loop */

	/* hop's state, for INFO (see main.c) */
	int hop_status;            /* what hop_init() returned */
	int hop_migrations;        /* hop_resumed() as last seen */
	int64_t hop_last_pause_ms; /* -1: no move yet; else wall-clock gap around the last one */
	int64_t hop_last_move_ms;  /* when the last move finished (CLOCK_REALTIME) */

	/* stats */
	int64_t total_connections;
	int64_t total_commands;
	int64_t rejected_connections;
	int64_t net_in, net_out;
};

extern struct kvd_server kvd;

int net_listen(void);
/* An event epoll_wait reported for descriptor fd. */
void net_handle(int fd, uint32_t events);
/* Per tick: idle clients free their buffers. */
void net_cron(void);
/* Before sleeping: write the AOF, then the replies. */
void net_before_sleep(void);
/* Register every descriptor with a fresh epoll instance (after a move). */
int net_rearm(void);
void client_free(struct kvd_client *c);
struct kvd_client *client_new(int fd);
/* Parse and run every complete request in c's input. */
void client_process_input(struct kvd_client *c);

#endif
