/* util.c -- time, memory, numbers and logging for kvd (see util.h). */
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t kvd_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + (int64_t)(ts.tv_nsec / 1000000);
}

int64_t kvd_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + (int64_t)(ts.tv_nsec / 1000);
}

static void oom(size_t n)
{
	fprintf(stderr, "kvd: out of memory allocating %zu bytes\n", n);
	abort();
}

void *kvd_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *kvd_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *kvd_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *kvd_memdup(const char *p, size_t len)
{
	char *s = kvd_malloc(len + 1);
	if (len)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

int kvd_str2ll(const char *s, size_t len, int64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	int neg = 0;

	if (len == 0 || len > 20)
		return 0;
	if (len == 1 && s[0] == '0') {
		*out = 0;
		return 1;
	}
	if (s[0] == '-') {
		neg = 1;
		i = 1;
		if (len == 1)
			return 0;
	}
	if (s[i] < '1' || s[i] > '9')
		return 0;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return 0;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return 0;
		*out = (int64_t)v;
	}
	return 1;
}

size_t kvd_ll2str(char *buf, int64_t v)
{
	char tmp[24];
	size_t n = 0, len = 0;
	/* unsigned magnitude: -INT64_MIN does not fit an int64 */
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[len++] = '-';
	while (n)
		buf[len++] = tmp[--n];
	buf[len] = '\0';
	return len;
}

int kvd_eq(const char *s, size_t len, const char *word)
{
	size_t i;
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (word[i] == '\0' || c != word[i])
			return 0;
	}
	return word[i] == '\0';
}

void kvd_log(const char *fmt, ...)
{
	char when[32];
	time_t t = time(NULL);
	struct tm tm;
	va_list ap;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%d %b %Y %H:%M:%S", &tm);
	fprintf(stderr, "%d:M %s * ", (int)getpid(), when);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
