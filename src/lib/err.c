/* err.c -- error codes, their names and texts, and the per-thread message of
 * the last failure. See err.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static __thread char last_msg[1024];

const char *hop_strerror(int err)
{
	switch (err) {
#define HOP__ERR_TEXT(name, val, text) case val: return text;
		HOP_ERRNO_MAP(HOP__ERR_TEXT)
#undef HOP__ERR_TEXT
	case 0:
		return "success";
	}
	return "unknown error";
}

const char *hop_err_name(int err)
{
	switch (err) {
#define HOP__ERR_NAME(name, val, text) case val: return "HOP_" #name;
		HOP_ERRNO_MAP(HOP__ERR_NAME)
#undef HOP__ERR_NAME
	case 0:
		return "HOP_OK";
	}
	return "HOP_EUNKNOWN";
}

const char *hop_last_error(void)
{
	return last_msg;
}

void hop__error_set(const char *msg)
{
	if (msg != last_msg)
		snprintf(last_msg, sizeof(last_msg), "%s", msg);
}

void hop__clear_error(void)
{
	last_msg[0] = '\0';
}

/* Strip the directories: messages name "index.c:120", not a build path. */
static const char *base_name(const char *file)
{
	const char *s = strrchr(file, '/');
	return s ? s + 1 : file;
}

int hop__fail_at(const char *file, int line, int code, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(last_msg, sizeof(last_msg), "%s:%d: ", base_name(file), line);

	if (n < 0 || (size_t)n >= sizeof(last_msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(last_msg + n, sizeof(last_msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return code;
}

int hop__sysfail_at(const char *file, int line, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	int n = snprintf(last_msg, sizeof(last_msg), "%s:%d: ", base_name(file), line);

	if (n < 0 || (size_t)n >= sizeof(last_msg))
		n = 0;
	va_start(ap, fmt);
	n += vsnprintf(last_msg + n, sizeof(last_msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if ((size_t)n < sizeof(last_msg))
		snprintf(last_msg + n, sizeof(last_msg) - (size_t)n, ": %s", strerror(saved));
	errno = saved;
	return HOP_ESYS;
}
