/* hop.h -- the program's side of hop.
 *
 * A program that wants to be live-migratable calls hop_init() first in main,
 * marks the places where it may be switched to another machine with
 * HOP_POINT(name), and may ask hop_resumed() whether its state arrived from
 * elsewhere. Everything else (the allocator, dirty tracking, the agent thread
 * that talks to `hop migrate`) is inside libhop, linked in by `hop cc`.
 *
 * Errors: every function that can fail returns 0 (or a count) on success and
 * a negative HOP_E* code on failure; hop_last_error() then says what and where.
 */
#ifndef HOP_H
#define HOP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ---------------------------------------------------------------
 * One table generates the enum, hop_strerror() and hop_err_name(). */
#define HOP_ERRNO_MAP(X)                                                   \
	X(EINVAL,    -1, "invalid argument")                               \
	X(ENOMEM,    -2, "out of memory")                                  \
	X(ESYS,      -3, "system call failed")                             \
	X(EFORMAT,   -4, "damaged or malformed data")                      \
	X(ETARGET,   -5, "data is for another target")                     \
	X(ENOINDEX,  -6, "no hop index found")                             \
	X(ENOTSUP,   -7, "not supported")                                  \
	X(EXLATE,    -8, "value cannot be translated exactly")             \
	X(EHINT,     -9, "a hint is needed to translate this value")       \
	X(ERANGE,   -10, "value does not fit the destination type")        \
	X(EPROTO,   -11, "protocol error")                                 \
	X(EAUTH,    -12, "authentication failed")                          \
	X(ETIMEDOUT,-13, "timed out")                                      \
	X(ECLOSED,  -14, "connection closed by peer")                      \
	X(EDIGEST,  -15, "state digests differ")                           \
	X(EABORTED, -16, "migration aborted")                              \
	X(EBUSY,    -17, "busy")                                           \
	X(ENOENT,   -18, "no such object")                                 \
	X(ETHREADS, -19, "program has other threads")

enum hop_errno {
#define HOP__ERR_ENUM(name, val, text) HOP_##name = (val),
	HOP_ERRNO_MAP(HOP__ERR_ENUM)
#undef HOP__ERR_ENUM
	HOP__ERR_LAST = -20
};

/* Text of an error code; "unknown error" for anything else. Never NULL. */
const char *hop_strerror(int err);
/* Symbolic name of an error code ("HOP_EFORMAT"). Never NULL. */
const char *hop_err_name(int err);
/* Detailed message of this thread's last failure (what and where). Never NULL. */
const char *hop_last_error(void);

/* ---- lifecycle ------------------------------------------------------------ */

/* Set up the runtime: load the index, start the control socket and agent.
 * Returns 0, or a negative HOP_E* code (the program may run without hop). */
int hop_init(void);

/* How many migrations this state has been through: 0 on a fresh start. */
int hop_resumed(void);

/* 1 when `hop receive` started this process to receive a migration: its state
 * will arrive at its first HOP_POINT, so it may skip building its own. */
int hop_incoming(void);

/* ---- transfer points --------------------------------------------------------
 * HOP_POINT(name) is a statement; name is an identifier. A switch to another
 * machine happens only at a transfer point. When no migration runs it costs
 * one load and a branch not taken. Each point leaves a function-static
 * variable hop__point_<name> that the index tool finds in DWARF and a record
 * in the "hop_points" section that the runtime finds without DWARF. */
struct hop__point {
	const char *name;
};
extern volatile int hop__armed;
void hop__at_point(const struct hop__point *pt);

#define HOP_POINT(name)                                                        \
	do {                                                                   \
		static const struct hop__point hop__point_##name                \
			__attribute__((used, section("hop_points"))) = { #name }; \
		if (__builtin_expect(hop__armed, 0))                           \
			hop__at_point(&hop__point_##name);                     \
	} while (0)

/* ---- hints ------------------------------------------------------------------
 * Hints tell the translator what DWARF cannot: the type behind a void *, the
 * tag that selects a union member. They are strings in the "hop_hints"
 * section, read by the index tool; they cost nothing at run time. Write them
 * at file scope. Fields are separated by '|'.
 *
 *   HOP_POINTS_TO(struct node, data, struct payload);
 *       the void * member `data` of struct node points to struct payload(s).
 *   HOP_GLOBAL_POINTS_TO(cache_root, struct entry);
 *       the void * global `cache_root` points to struct entry(s).
 *   HOP_UNION_TAG(struct msg, u, kind);
 *       union member `u` of struct msg is selected by the member `kind`;
 *   HOP_UNION_CASE(struct msg, u, 2, text);
 *       ... when kind == 2 the live member of u is `text`.
 *   HOP_RENAMED(struct conn, peer_name, peer);
 *       (upgrades) member peer_name of struct conn was called peer before. */
#define HOP__CAT2(a, b) a##b
#define HOP__CAT(a, b) HOP__CAT2(a, b)
#define HOP__HINT(text)                                                       \
	static const char HOP__CAT(hop__hint_, __COUNTER__)[]                  \
		__attribute__((used, section("hop_hints"), aligned(1))) = text "\n"
#define HOP_POINTS_TO(stype, member, ptype)                                   \
	HOP__HINT("points_to|" #stype "|" #member "|" #ptype)
#define HOP_GLOBAL_POINTS_TO(var, ptype)                                      \
	HOP__HINT("global_points_to|" #var "|" #ptype)
#define HOP_UNION_TAG(stype, umember, tagmember)                             \
	HOP__HINT("union_tag|" #stype "|" #umember "|" #tagmember)
#define HOP_UNION_CASE(stype, umember, value, member)                        \
	HOP__HINT("union_case|" #stype "|" #umember "|" #value "|" #member)
#define HOP_RENAMED(stype, member, oldname)                                  \
	HOP__HINT("renamed|" #stype "|" #member "|" #oldname)

#ifdef __cplusplus
}
#endif
#endif /* HOP_H */
