/* fds.h -- the program's descriptor table at the switch.
 *
 * At the freeze the origin describes every descriptor the program holds
 * (hop__fds_capture), refusing by name what cannot be carried; the
 * description travels in a fixed-width big-endian encoding
 * (hop__fds_encode / hop__fds_decode); the destination rebuilds it under the
 * same numbers (hop__fds_restore). hop__fds_check runs the same walk without
 * keeping anything, so `hop migrate` can refuse before the origin freezes.
 *
 * Connected TCP sockets cannot move between kernels: the origin hands them
 * to `hop migrate`, which relays their bytes (src/tool/relay.c); the
 * destination gets, under the old number, a socket connected to that relay.
 * The table carries the relay's address and a per-migration key for that.
 * See docs/outside-world.md.
 */
#ifndef HOP_FDS_H
#define HOP_FDS_H

#include <stddef.h>
#include <stdint.h>

enum hop_fd_kind {
	HOP_FD_FILE = 1,   /* regular file or directory, reopened by path */
	HOP_FD_DEVNULL,    /* /dev/null, /dev/zero, /dev/urandom, /dev/random */
	HOP_FD_LISTEN,     /* listening TCP socket */
	HOP_FD_UDP,        /* UDP socket (bound and/or connected) */
	HOP_FD_TCP_FRESH,  /* TCP socket neither bound nor connected */
	HOP_FD_CONN,       /* connected TCP socket: relayed by the origin */
	HOP_FD_EPOLL,      /* epoll instance with its interest list */
	HOP_FD_EVENTFD,
	HOP_FD_TIMERFD,
	HOP_FD_PIPE_R,     /* read end of a pipe whose both ends we hold */
	HOP_FD_PIPE_W,     /* its write end */
	HOP_FD_STDIO,      /* 0, 1, 2: the destination keeps its own */
};

/* Portable status flags (O_* values differ between targets). */
#define HOP_FDF_RDONLY   0x0000u
#define HOP_FDF_WRONLY   0x0001u
#define HOP_FDF_RDWR     0x0002u
#define HOP_FDF_ACCMODE  0x0003u
#define HOP_FDF_APPEND   0x0004u
#define HOP_FDF_NONBLOCK 0x0008u
#define HOP_FDF_CLOEXEC  0x0010u
#define HOP_FDF_SYNC     0x0020u
#define HOP_FDF_DSYNC    0x0040u
#define HOP_FDF_SEMAPHORE 0x0080u /* eventfd */

/* Socket options carried (HOP_SO_*). */
#define HOP_SO_REUSEADDR 0x01u
#define HOP_SO_REUSEPORT 0x02u
#define HOP_SO_NODELAY   0x04u
#define HOP_SO_KEEPALIVE 0x08u
#define HOP_SO_V6ONLY    0x10u

/* Bounds on what a table may hold (checked by capture and by decode). */
#define HOP_FDS_MAX_FD      65536  /* descriptors above this are refused */
#define HOP_FDS_MAX_PATH    4096
#define HOP_FDS_MAX_EPOLL   65536  /* interest-list entries per epoll */
#define HOP_FDS_MAX_PIPEBUF (1u << 20)
#define HOP_FDS_MAX_COUNT   4096   /* descriptors in one table */

struct hop_fd_epitem {
	int32_t tfd;
	uint32_t events;
	uint64_t data; /* epoll_data as the program sees it as a uint64_t */
};

struct hop_fd {
	int32_t fd;
	uint8_t kind;  /* enum hop_fd_kind */
	uint16_t flags; /* HOP_FDF_* */
	/* FILE, DEVNULL */
	char *path;
	uint64_t offset;
	/* sockets: family 4 or 6; addresses in network order (v4 in the first 4) */
	uint8_t family;
	uint8_t sockopts; /* HOP_SO_* */
	uint8_t addr[16], peer[16];
	uint16_t port, peer_port;
	uint32_t backlog;
	/* EPOLL */
	struct hop_fd_epitem *ep;
	uint32_t nep;
	/* EVENTFD: counter; TIMERFD: clock id, remaining and interval in ns */
	uint64_t count;
	uint32_t clock;
	uint64_t value_ns, interval_ns;
	/* PIPE_R / PIPE_W: the other end's number; PIPE_R carries the bytes
	 * buffered in the pipe and its capacity */
	int32_t other;
	uint8_t *buf;
	uint32_t buflen, pipe_size;
	/* this machine only, never on the wire: the inode (fstat), which says
	 * whether a description made earlier is still this descriptor's */
	uint64_t ino;
};

/* Where the destination's relayed sockets connect, and the key that proves
 * they belong to this migration. family 0: no relay (no CONN allowed). */
struct hop_fds_relay {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
	uint8_t key[16];
};

struct hop_fds {
	struct hop_fd *v;
	uint32_t n;
	uint8_t origin_big_endian; /* byte order of the program that captured */
	uint8_t origin_ptr_size;
	struct hop_fds_relay relay;
};

/* Descriptors hop itself owns (control socket, migration connection ...):
 * skipped by capture and moved out of the way by restore. Returns 0, or
 * HOP_EINVAL when the table of marks (64) is full. */
int hop__fds_mark_own(int fd);
void hop__fds_unmark_own(int fd);
/* Same for the descriptor held in *var; when restore moves it, *var is
 * updated (for descriptors a thread keeps using, like the control socket). */
int hop__fds_own_var(int *var);
void hop__fds_unown_var(int *var);

/* hop_init: remember the descriptors the process inherited (besides 0-2).
 * They belong to the environment, like stdio: never carried; left alone on
 * the destination (moved if the table needs their number). */
void hop__fds_note_inherited(void);

/* ---- the steps' calls ------------------------------------------------------
 * ctl.c brackets a migration with hop__fds_session(ctl, mig) ... (-1, -1):
 * the control connection to `hop migrate` and the migration connection,
 * both hop's own for the duration. out.c calls hop__fds_check() before
 * anything moves and hop__fds_freeze() at the freeze: capture, hand the
 * sockets to `hop migrate` (frame CTL_FDS, then the hand-off), encode the
 * table for the FDS frame (*buf freed with hop__fds_buf_free). in.c calls
 * hop__fds_thaw() on the FDS frame: decode and restore; *mig_fd is updated
 * if the connection had to move. Each returns 0 or a negative HOP_E*. */
void hop__fds_session(int ctl_fd, int mig_fd);
int hop__fds_freeze(uint8_t **buf, size_t *len);
int hop__fds_thaw(const uint8_t *buf, size_t len, int *mig_fd);
/* Origin, parked, when hop migrate syncs a data directory (HOP_MIG_DATADIR):
 * say CTL_FROZEN and wait for CTL_GO, i.e. for its final pass, so the
 * destination reopens files that have their final content. */
int hop__fds_gate(void);

/* Walk the process's descriptors and check each can be carried; on the
 * first that cannot, fail with HOP_ENOTSUP and a message naming it
 * ("fd 7: pipe to another process (pipe:[1234]) cannot be carried").
 * Returns 0 or a negative HOP_E*. Keeps the descriptions of the connected
 * TCP sockets (by number and inode) for the next hop__fds_capture_frozen. */
int hop__fds_check(void);

/* Describe every descriptor (same refusals as check) into *out, which the
 * caller frees with hop__fds_free. Reads pipes' buffered bytes without
 * consuming them. Returns 0 or a negative HOP_E*. */
int hop__fds_capture(struct hop_fds *out);
/* The same at the freeze: a connected socket that hop__fds_check described
 * (same number, same socket) is taken from there, with its flags and
 * keep-alive/no-delay read again; then forgets what check kept. */
int hop__fds_capture_frozen(struct hop_fds *out);
void hop__fds_free(struct hop_fds *f);

/* Fixed-width big-endian encoding. encode: *buf is allocated (free it with
 * hop__fds_buf_free). decode: every length is checked against the input
 * and the HOP_FDS_MAX_* bounds; HOP_EFORMAT on anything malformed. */
int hop__fds_encode(const struct hop_fds *f, uint8_t **buf, size_t *len);
void hop__fds_buf_free(uint8_t *buf, size_t len);
int hop__fds_decode(const uint8_t *buf, size_t len, struct hop_fds *out);

/* How restore treats what the destination cannot take as-is. */
struct hop_fds_restore_opts {
	/* Bind listening/UDP sockets here instead of the origin's address
	 * (family 0: the origin's address if this machine has it, else the
	 * wildcard address of its family). */
	uint8_t bind_family;
	uint8_t bind_addr[16];
	/* Relocate an epoll data value that is an origin pointer (may be NULL:
	 * values are carried as they are). Returns 0 and sets *out, or a
	 * negative HOP_E* with a message. */
	int (*map_epoll_data)(void *ctx, uint64_t origin, uint64_t *out);
	/* Told when one of hop's own descriptors had to move to clear a
	 * number the table needs (may be NULL). */
	void (*own_moved)(void *ctx, int old, int now);
	void *ctx; /* for both callbacks */
	/* Milliseconds to wait for the relay (0: 5000). */
	int relay_timeout_ms;
};

/* Rebuild the table under the same numbers. Descriptors the destination's
 * own start-up holds at those numbers are moved out of the way first (hop's
 * own marked descriptors are re-marked at their new numbers; the program's
 * are closed: the origin's table replaces them; the caller learns of moves
 * through own_moved). Connected sockets connect
 * to the relay and identify themselves with the key. Returns 0 or a
 * negative HOP_E* naming the descriptor that failed. */
int hop__fds_restore(const struct hop_fds *f, const struct hop_fds_restore_opts *opts);

/* The hello a relayed connection sends first: "HOPR", version, fd, key. */
#define HOP_FDS_HELLO_LEN 26
#define HOP_FDS_HELLO_MAGIC 0x484f5052u /* "HOPR" */
void hop__fds_hello(uint8_t out[HOP_FDS_HELLO_LEN], int32_t fd, const uint8_t key[16]);

/* ---- the origin's hand-off to `hop migrate` (src/tool/relay.c) ----------
 * At the freeze the origin opens the relay's listening socket on the local
 * address of the migration connection (the address the destination already
 * reaches) with a fresh random key, and passes it, with every connected and
 * listening socket of the table, to `hop migrate` over the control socket:
 *   message 1: "HOPH" u32, version u16, records u32, key[16]; SCM_RIGHTS
 *              carries the relay's listening socket
 *   then batches of up to HOP_FDS_BATCH records (fd i32, kind u8, port u16),
 *              each one sendmsg with its descriptors in SCM_RIGHTS.
 * The caller announces it with a frame first (the control stream is framed);
 * the reader takes exactly these bytes with recvmsg. */
#define HOP_FDS_HANDOFF_MAGIC 0x484f5048u /* "HOPH" */
#define HOP_FDS_HANDOFF_HDR 26
#define HOP_FDS_BATCH 200
#define HOP_FDS_REC 7

/* Open the relay's socket at mig_fd's local address, port 0; fill r (with a
 * random key) and *lfd. 0 or a negative HOP_E*. */
int hop__fds_relay_open(int mig_fd, struct hop_fds_relay *r, int *lfd);
/* Same at a given local address (family 4 or 6, network order). */
int hop__fds_relay_open_addr(uint8_t family, const uint8_t addr[16], struct hop_fds_relay *r, int *lfd);
/* Number of descriptors of f the relay takes (connected and listening). */
uint32_t hop__fds_relayed(const struct hop_fds *f);
/* Send the hand-off on sock (a Unix stream socket). 0 or a negative HOP_E*. */
int hop__fds_handoff_send(int sock, const struct hop_fds *f, int relay_lfd);

/* Name of a kind, for messages ("listening TCP socket"). */
const char *hop__fd_kind_name(int kind);

#endif
