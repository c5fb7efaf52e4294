/* fault.h -- fault points compiled into hop, switched on by tests.
 *
 * After CRIU's fault-injection.h: the environment variable HOP_FAULT holds a
 * comma-separated list of faults, read once (hop_init, or the tool's start).
 * Code asks at named places whether a fault is on. Frame faults fire in
 * wire.c after a frame of the named type went out or came in:
 *
 *   cut-send:TYPE[#N]   shut the link down after sending frame TYPE (Nth time)
 *   cut-recv:TYPE[#N]   ... after receiving frame TYPE
 *   kill-send:TYPE[#N]  SIGKILL this process after sending frame TYPE
 *   kill-recv:TYPE[#N]  ... after receiving frame TYPE
 *   stall-send:TYPE[#N] stop talking (sleep an hour, link open) after sending
 *   stall-recv:TYPE[#N] ... after receiving
 *   digest              corrupt this side's state digest
 *   oom[#N]             the destination's block allocations fail from the Nth on
 *
 * TYPE is a frame name from wire.h (HELLO, INDEX, DATA, DIGEST, READY ...).
 * With no HOP_FAULT every check is one load and a branch.
 */
#ifndef HOP_FAULT_H
#define HOP_FAULT_H

/* Parse $HOP_FAULT (idempotent). 0, or HOP_EINVAL for a fault we do not know
 * (so a typo in a test fails loudly instead of testing nothing). */
int hop__fault_init(void);
/* 1 when the simple fault `name` ("digest", "oom") fires now (counts calls). */
int hop__fault(const char *name);
/* Frame fault points; dir is 's' (sent) or 'r' (received). Called by wire.c.
 * Returns 1 when the link was cut. */
struct hop_conn;
int hop__fault_frame(struct hop_conn *c, char dir, int type);

extern int hop__faults_on;

#endif
