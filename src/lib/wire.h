/* wire.h -- frames on a connection, and the transports that carry them.
 *
 * Everything hop says to a peer (the handshake of the tool, the migration
 * protocol of the runtime, the control socket) is a sequence of frames:
 *
 *   magic u32 "HOPW" | version u8 | type u8 | flags u16 | length u32 | crc32 u32
 *   followed by `length` bytes of payload; all fields big-endian.
 *
 * The receiver checks magic, version and that length <= the bound the caller
 * gives BEFORE it allocates anything, then the CRC of the payload. Payloads
 * are built with bytes.h; no C struct ever goes on the wire.
 *
 * A transport is a small ops table (like CRIU's page_xfer ops): a socket or
 * pipe with timeouts by poll(2), or an in-memory pair for unit tests.
 * See docs/protocol.md for the frame types and the order they come in.
 */
#ifndef HOP_WIRE_H
#define HOP_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define HOP_WIRE_MAGIC 0x484f5057u /* "HOPW" */
#define HOP_WIRE_VERSION 1
/* The migration protocol between two runtimes (out.c, in.c), negotiated in
 * HELLO. Bump it when the frames or the state digest change meaning: a peer
 * of another version is refused at HELLO, never found out at the digest.
 *   1  digest: sum of BLAKE2s-256 object hashes, 32 bytes
 *   2  digest: sum of SipHash-1-3-128 object hashes, 16 bytes (digest.c) */
#define HOP_PROTO_VERSION 2
#define HOP_FRAME_HEADER 16
#define HOP_FRAME_MAX (64u << 20) /* no frame payload is ever larger */

/* Frame types. Numbers are part of the protocol: never reuse one. */
#define HOP_FRAME_TYPES(X)                                                     \
	/* tool handshake (auth.c) */                                          \
	X(AUTH_HELLO, 1)                                                       \
	X(AUTH_CHALLENGE, 2)                                                   \
	X(AUTH_PROOF, 3)                                                       \
	X(AUTH_OK, 4)                                                          \
	/* runtime <-> runtime (out.c, in.c) */                                \
	X(HELLO, 10)                                                           \
	X(HELLO_ACK, 11)                                                       \
	X(INDEX, 12)                                                           \
	X(INDEX_OK, 13)                                                        \
	X(PHASE, 14)                                                           \
	X(DATA, 15)                                                            \
	X(PHASE_END, 16)                                                       \
	X(PHASE_ACK, 17)                                                       \
	X(FREEZE, 18)                                                          \
	X(DIGEST, 19)                                                          \
	X(READY, 20)                                                           \
	X(COMMIT, 21)                                                          \
	X(RESUMED, 22)                                                         \
	X(ERROR, 23)                                                           \
	X(FDS, 24)    /* the descriptor table (fds.c), after FREEZE */          \
	/* tool <-> runtime control socket (ctl.c) */                          \
	X(CTL_STATUS, 40)                                                      \
	X(CTL_STATUS_REPLY, 41)                                                \
	X(CTL_MIGRATE, 42)                                                     \
	X(CTL_PROGRESS, 43)                                                    \
	X(CTL_RESULT, 44)                                                      \
	X(CTL_FDS, 45) /* then the sockets for the relay (fds.h "hand-off") */ \
	X(CTL_FROZEN, 46) /* parked: the data directory's final pass may run */ \
	X(CTL_GO, 47)     /* its outcome: 1 byte, 1 = go on */

enum hop_frame_type {
#define HOP__FT_ENUM(name, val) HOP_F_##name = (val),
	HOP_FRAME_TYPES(HOP__FT_ENUM)
#undef HOP__FT_ENUM
};

/* "HELLO", ... or "?" */
const char *hop__frame_name(int type);
/* Type number of a name ("HELLO"), or -1. */
int hop__frame_by_name(const char *name);

/* ---- transports ------------------------------------------------------------ */
struct hop_conn;
struct hop_conn_ops {
	/* Write all of iov, or fail: 0 or HOP_E*. */
	int (*writev)(struct hop_conn *c, const struct iovec *iov, int n);
	/* Read exactly len bytes: 0, or HOP_ECLOSED at a clean end, HOP_E*. */
	int (*read)(struct hop_conn *c, void *buf, size_t len);
	void (*close)(struct hop_conn *c);
};

struct hop_mem_pipe; /* in-memory byte queue (wire.c) */

struct hop_conn {
	const struct hop_conn_ops *ops;
	int fd;            /* fd transport; -1 otherwise */
	int timeout_ms;    /* per read/write wait; <= 0 waits forever */
	struct hop_mem_pipe *in, *out; /* memory transport */
	uint64_t bytes_out, bytes_in;  /* frame bytes, headers included */
	/* Work to do while a send or receive waits on the peer (the origin hashes
	 * what it has sent): called instead of sleeping in poll(2); returns 1 if
	 * it did some (the transfer is tried again), 0 when it has none left. */
	int (*idle)(void *ctx);
	void *idle_ctx;
	const char *side;  /* "origin", "destination", ... for messages and fault points */
	/* reusable receive buffer */
	uint8_t *buf;
	size_t cap;
};

/* A socket or pipe fd (owned by the conn from now on). */
void hop__conn_fd(struct hop_conn *c, int fd, int timeout_ms, const char *side);
/* Two connected in-memory ends (for unit tests, one thread: a read that
 * would wait fails with HOP_ETIMEDOUT, or HOP_ECLOSED once the peer closed). */
int hop__conn_mem_pair(struct hop_conn *a, struct hop_conn *b);
/* Release the transport and the receive buffer. Idempotent. */
void hop__conn_close(struct hop_conn *c);
/* Shut the link down both ways without releasing it (fault points, abort). */
void hop__conn_cut(struct hop_conn *c);

/* ---- frames ---------------------------------------------------------------- */
struct hop_frame {
	uint8_t type;
	uint16_t flags;
	uint32_t len;
	const uint8_t *payload; /* in the conn's buffer: valid until the next recv */
};

/* Send one frame whose payload is the concatenation of iov[0..n). */
int hop__frame_sendv(struct hop_conn *c, int type, uint16_t flags, const struct iovec *iov, int n);
int hop__frame_send(struct hop_conn *c, int type, uint16_t flags, const void *payload, size_t len);
/* Receive one frame with payload at most max bytes (<= HOP_FRAME_MAX).
 * HOP_EPROTO (bad magic/version/oversized, nothing allocated), HOP_EFORMAT
 * (CRC), HOP_ECLOSED, HOP_ETIMEDOUT, HOP_ESYS. */
int hop__frame_recv(struct hop_conn *c, struct hop_frame *f, uint32_t max);
/* Receive a frame and require its type; an ERROR frame from the peer becomes
 * its code and message ("destination: ..."). */
int hop__frame_expect(struct hop_conn *c, int type, struct hop_frame *f, uint32_t max);

/* Decode/encode header fields (for tests and fuzzers): 0 or HOP_EPROTO. */
void hop__frame_header(uint8_t out[HOP_FRAME_HEADER], int type, uint16_t flags, uint32_t len, uint32_t crc);
int hop__frame_parse_header(const uint8_t in[HOP_FRAME_HEADER], struct hop_frame *f, uint32_t *crc,
			    uint32_t max);

/* An ERROR frame: code i32 + message (truncated to 1000 bytes). Best effort. */
void hop__send_error(struct hop_conn *c, int code, const char *msg);

/* Milliseconds of the link timeout: $HOP_TIMEOUT_MS or 10000. */
int hop__wire_timeout_ms(void);
/* Monotonic clock in microseconds. */
uint64_t hop__now_us(void);
/* $HOP_TRACE=1: print "hop: [side] step done, N us (at S.US)" (time since
 * the last step of this process, and CLOCK_MONOTONIC now, so both sides and a
 * client's own clock line up), for finding where a pause goes. */
void hop__trace(const char *side, const char *step);
/* 1 when $HOP_TRACE asks for those lines (and the per-phase figures). */
int hop__trace_on(void);

#endif
