/* ctl.h -- the control socket, the agent thread, and what the runtime's
 * parts (runtime.c, ctl.c, out.c, in.c) share about a migration.
 *
 * Every hop process listens on a Unix socket named after its PID in a 0700
 * directory of its user ($HOP_RUN_DIR, else /tmp/hop-<uid>/<pid>.sock). An
 * agent thread sleeps in accept(2): no cost while idle. `hop status` asks it
 * what the runtime is doing; `hop migrate` hands it an authenticated TCP
 * connection (SCM_RIGHTS) and the migration's parameters, and the agent runs
 * the origin's steps (out.c) in a worker thread while the program runs,
 * reporting progress back on the control connection.
 */
#ifndef HOP_CTL_H
#define HOP_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire.h"

/* ---- parameters, progress, result (CTL_MIGRATE / CTL_PROGRESS / CTL_RESULT) */
struct hop_mig_params {
	uint32_t max_downtime_us; /* estimated pause that ends the rounds (5000) */
	uint32_t max_rounds;      /* round budget (30) */
	uint64_t max_bytes;       /* byte budget for rounds; 0 = 4 x the bulk + 64 MiB */
	uint32_t flags;           /* HOP_MIG_* */
	uint32_t timeout_ms;      /* link timeout (HOP_TIMEOUT_MS or 10000) */
};
#define HOP_MIG_BUDGET_ABORT 0x1 /* budget spent: abort instead of switching */
#define HOP_MIG_DATADIR 0x2 /* hop migrate syncs a data directory: at the freeze, wait for
			     * its final pass (CTL_FROZEN / CTL_GO, fds.c) */
#define HOP_MIG_PARAMS_LEN 24

enum hop_phase {
	HOP_PH_IDLE = 0,
	HOP_PH_CONNECT = 1,
	HOP_PH_BULK = 2,
	HOP_PH_ROUNDS = 3,
	HOP_PH_FREEZE = 4,
	HOP_PH_COMMIT = 5,
	HOP_PH_INCOMING = 6,
};
const char *hop__phase_name(int phase);

struct hop_progress {
	uint8_t phase;
	uint32_t round;
	uint64_t bytes;        /* sent so far, frames included */
	uint64_t dirty_bytes;  /* dirty in the last round */
	uint64_t dirty_rate;   /* bytes/s dirtied by the program */
	uint64_t throughput;   /* bytes/s moved and applied, last measure */
	uint64_t est_pause_us; /* estimated pause if we switched now */
};
#define HOP_PROGRESS_LEN 49

struct hop_mig_result {
	int committed;
	int forced;            /* switched with the budget spent (pause > target) */
	int err;               /* HOP_E* when not committed */
	uint64_t downtime_us;  /* see docs/protocol.md "Downtime" */
	uint64_t total_ms;
	uint32_t rounds;
	uint64_t bytes;
	char error[512];
};

void hop__params_encode(const struct hop_mig_params *p, uint8_t out[HOP_MIG_PARAMS_LEN]);
int hop__params_decode(const uint8_t *in, size_t len, struct hop_mig_params *p);
void hop__progress_encode(const struct hop_progress *p, uint8_t out[HOP_PROGRESS_LEN]);
int hop__progress_decode(const uint8_t *in, size_t len, struct hop_progress *p);
/* result: fixed part + error text; returns bytes used in out (<= 600) */
size_t hop__result_encode(const struct hop_mig_result *r, uint8_t out[600]);
int hop__result_decode(const uint8_t *in, size_t len, struct hop_mig_result *r);

/* ---- control socket ---------------------------------------------------------- */
/* Path of the control socket of pid. 0, or HOP_EINVAL if it does not fit. */
int hop__ctl_path(pid_t pid, char *buf, size_t n);
/* The directory of control sockets, created 0700 if missing; refused when it
 * is not ours or others may enter it. */
int hop__ctl_dir(char *buf, size_t n);
/* Runtime: create the socket and start the agent thread. */
int hop__ctl_start(void);
/* Tool: connect to pid's control socket and check that the peer IS pid and
 * runs as us (or we are root). */
int hop__ctl_connect(pid_t pid, int *fd);
/* Send a frame on a Unix socket with a descriptor attached (SCM_RIGHTS). */
int hop__ctl_send_fd(int sock, int type, const void *payload, size_t len, int fd);

/* ---- the runtime's own state (runtime.c) -------------------------------------- */
/* Origin: ask the program thread to park at HOP_POINT(point) and wait until it
 * has (then *freeze_us is its clock at parking). HOP_ETIMEDOUT if it did not
 * come within timeout_ms (the request is withdrawn). */
int hop__park_wait(const char *point, int timeout_ms, uint64_t *freeze_us);
/* The same for at most wait_us: 1 parked, 0 not (the request is withdrawn,
 * atomically with the program's own check: it parks within the window or not
 * at all). Lets the origin run rounds between windows while it waits. */
int hop__park_window(const char *point, int wait_us, uint64_t *freeze_us);
/* Origin: end the park: exit_process = 0 resumes the program, 1 makes the
 * program thread exit(0) (after COMMIT). */
void hop__park_release(int exit_process);
/* Threads of the process that are not hop's own (agent, worker) nor present
 * before hop_init (qemu-user's helper thread): must be 0 to migrate. */
int hop__foreign_threads(void);
/* Status shown by `hop status`. */
struct hop_status {
	volatile int phase;
	volatile uint32_t round;
	volatile uint64_t bytes;
	volatile uint64_t est_pause_us;
	char last[600]; /* last migration's outcome */
};
extern struct hop_status hop__status;
int hop__resumed_count(void);

/* ---- the two orchestrators -------------------------------------------------------- */
typedef void (*hop_progress_fn)(void *ctx, const struct hop_progress *p);
/* Origin steps (out.c), run by the agent's worker with the program running.
 * Fills res; returns 0 when committed (then the program thread is exiting). */
int hop__out_run(int fd, const struct hop_mig_params *p, hop_progress_fn progress, void *ctx,
		 struct hop_mig_result *res);
/* Destination steps (in.c), run on the program's thread parked at its first
 * HOP_POINT. Returns the new resume count (>= 1), or a negative HOP_E*
 * (the process must not continue: its memory is half translated). */
int hop__in_run(int fd, const char *point);

#endif
