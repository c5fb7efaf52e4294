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

/* ---- upgrades (docs/upgrade.md) ---------------------------------------------
 * Written in the NEW version's source; the destination reads them.
 *
 *   HOP_GLOBAL_RENAMED(hits_total, total_hits);
 *       the global hits_total was called total_hits before.
 *   HOP_POINT_RENAMED(serve, loop);
 *       HOP_POINT(serve) is the old HOP_POINT(loop): an origin parked at
 *       loop resumes here after serve.
 *   HOP_UPGRADE(struct entry, upgrade_entry);
 *       after translation, for every object of type struct entry (a block,
 *       each element of an array block, a global), the destination calls
 *           int upgrade_entry(struct entry *new_obj, const struct hop_old *old);
 *       new_obj holds the translated values (members added since stay 0,
 *       members whose type changed incompatibly are left for the hook);
 *       old reads the old version's values by member name. Return 0, or a
 *       negative value to refuse the upgrade (the origin carries on). */
#define HOP_GLOBAL_RENAMED(var, oldname)                                     \
	HOP__HINT("global_renamed|" #var "|" #oldname)
#define HOP_POINT_RENAMED(point, oldname)                                    \
	HOP__HINT("point_renamed|" #point "|" #oldname)
#define HOP_UPGRADE(stype, fn)                                               \
	HOP__HINT("upgrade|" #stype "|" #fn)

/* The old version's bytes of one object, seen by an upgrade function. A
 * member path is a member name, or names joined by '.' for nested structs
 * ("stats.hits"). All return 0, HOP_ENOENT when the old version has no such
 * member, HOP_EINVAL when it is not of the kind asked, HOP_ERANGE when the
 * value does not fit. Values are read in the old machine's layout and byte
 * order, so they work across machines. */
struct hop_old;
/* 1 when the old version had this member, else 0. */
int hop_old_has(const struct hop_old *old, const char *path);
/* Integer, enum, _Bool, char or bit-field member, sign-extended when signed. */
int hop_old_int(const struct hop_old *old, const char *path, long long *value);
int hop_old_uint(const struct hop_old *old, const char *path, unsigned long long *value);
/* float or double member (long double when its value is a double exactly). */
int hop_old_double(const struct hop_old *old, const char *path, double *value);
/* The member's bytes as they were (char arrays, strings): copies at most
 * len bytes into buf and sets *size to the member's size. */
int hop_old_bytes(const struct hop_old *old, const char *path, void *buf, size_t len, size_t *size);
/* Name of the old version's type of this object ("struct entry"). */
const char *hop_old_type(const struct hop_old *old);

#ifdef __cplusplus
}
#endif
#endif /* HOP_H */
