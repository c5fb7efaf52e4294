/* err.h -- hop's one error scheme, inside libhop and the tool.
 *
 * A failing function returns a negative HOP_E* code and, at the point of
 * failure, records a message saying what and where (like CRIU's pr_err).
 * Callers up the stack only pass the code on; hop_last_error() reads the
 * message. */
#ifndef HOP_ERR_H
#define HOP_ERR_H

#include "hop.h"

/* Record "file:line: message" for this thread and return code. */
int hop__fail_at(const char *file, int line, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Same, appending ": strerror(errno)" (errno as it was on entry). */
int hop__sysfail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define hop__fail(code, ...) hop__fail_at(__FILE__, __LINE__, (code), __VA_ARGS__)
#define hop__sysfail(...) hop__sysfail_at(__FILE__, __LINE__, __VA_ARGS__)

/* Make msg this thread's last message, as it is (a message recorded by
 * another thread, carried over: bg.c). */
void hop__error_set(const char *msg);

/* Forget the last message (used by tests and before retrying). */
void hop__clear_error(void);

#endif
