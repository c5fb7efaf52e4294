/* task.h -- assertions for unit tests (after libuv's test/task.h).
 *
 * Each unit test is its own program: main() runs the TEST() functions listed
 * in it; a failed assertion prints both values with file:line and exits 1.
 * tests/run.sh runs every test binary, plain and with sanitizers, under a
 * timeout. */
#ifndef HOP_TASK_H
#define HOP_TASK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...)                                                              \
	do {                                                                   \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                \
		fprintf(stderr, __VA_ARGS__);                                  \
		fprintf(stderr, "\n");                                         \
		exit(1);                                                       \
	} while (0)

#define ASSERT(expr)                                                           \
	do {                                                                   \
		if (!(expr))                                                   \
			FAIL("assertion failed: %s", #expr);                   \
	} while (0)

#define ASSERT_INT_OP(a, op, b)                                                \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (!(a_ op b_))                                               \
			FAIL("%s %s %s: %lld vs %lld", #a, #op, #b, a_, b_);   \
	} while (0)
#define ASSERT_EQ(a, b) ASSERT_INT_OP(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_INT_OP(a, !=, b)
#define ASSERT_GE(a, b) ASSERT_INT_OP(a, >=, b)
#define ASSERT_LT(a, b) ASSERT_INT_OP(a, <, b)

#define ASSERT_UEQ(a, b)                                                       \
	do {                                                                   \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
		if (a_ != b_)                                                  \
			FAIL("%s == %s: 0x%llx vs 0x%llx", #a, #b, a_, b_);    \
	} while (0)

#define ASSERT_STR_EQ(a, b)                                                    \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                         \
			FAIL("%s == %s: \"%s\" vs \"%s\"", #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
	} while (0)

/* The message of the last hop failure contains `needle`. */
#define ASSERT_ERR_HAS(needle)                                                 \
	do {                                                                   \
		const char *m_ = hop_last_error();                             \
		if (!strstr(m_, (needle)))                                     \
			FAIL("error message \"%s\" lacks \"%s\"", m_, (needle)); \
	} while (0)

#define TEST(name) static void test_##name(void)
#define RUN(name)                                                              \
	do {                                                                   \
		test_##name();                                                 \
		printf("  ok %s\n", #name);                                    \
	} while (0)

#endif
