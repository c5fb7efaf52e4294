/* static/consts.c -- read-only globals: a `static const` table of names and
 * function pointers (in .data.rel.ro: read-only once relocated), a const
 * char array (.rodata), and writable globals and heap blocks pointing into
 * both. The read-only ones are the same in both builds and must never be
 * written by the destination (it would fault); pointers into them translate
 * as variable + offset. Also strdup'ed strings (raw char blocks). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hop.h"
#include "mtest.h"

struct cmd {
	const char *name;
	int (*fn)(int);
	int arity;
};

static int twice(int x) { return 2 * x; }
static int square(int x) { return x * x; }
static int negate(int x) { return -x; }

static const struct cmd cmd_table[] = {
	{ "twice", twice, 1 },
	{ "square", square, 1 },
	{ "negate", negate, 1 },
};
static const char banner[] = "-ERR read-only bytes\r\n";
static const int primes[8] = { 2, 3, 5, 7, 11, 13, 17, 19 };

struct job {
	const struct cmd *cmd; /* into cmd_table */
	const char *msg;       /* into banner */
	const int *p;          /* into primes */
	char *label;           /* strdup'ed */
	struct job *next;
};

const struct cmd *last_cmd;
const char *tail_msg;
struct job *jobs;
char *names[4];

static void build(void)
{
	for (int i = 0; i < 30; i++) {
		struct job *j = calloc(1, sizeof(*j));
		char buf[32];
		j->cmd = &cmd_table[i % 3];
		j->msg = banner + i % 5;
		j->p = &primes[i % 8];
		snprintf(buf, sizeof(buf), "job-%d", i);
		j->label = strdup(buf);
		j->next = jobs;
		jobs = j;
	}
	last_cmd = &cmd_table[2];
	tail_msg = banner + 5;
	for (int i = 0; i < 4; i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "name%d", i);
		names[i] = strdup(buf);
	}
}

static void check(void)
{
	int i = 29;
	for (struct job *j = jobs; j; j = j->next, i--) {
		char buf[32];
		snprintf(buf, sizeof(buf), "job-%d", i);
		MT_CHECK(j->cmd == &cmd_table[i % 3], "job %d: cmd", i);
		MT_CHECK(j->cmd->fn(5) == (i % 3 == 0 ? 10 : i % 3 == 1 ? 25 : -5), "job %d: fn", i);
		MT_CHECK(j->msg == banner + i % 5, "job %d: msg", i);
		MT_CHECK(j->p == &primes[i % 8] && *j->p == primes[i % 8], "job %d: p", i);
		MT_CHECK(strcmp(j->label, buf) == 0, "job %d: label '%s'", i, j->label);
	}
	MT_CHECK(i == -1, "jobs end at %d", i);
	MT_CHECK(last_cmd == &cmd_table[2] && strcmp(last_cmd->name, "negate") == 0, "last_cmd");
	MT_CHECK(tail_msg == banner + 5 && strcmp(tail_msg, "read-only bytes\r\n") == 0, "tail_msg");
	for (int k = 0; k < 4; k++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "name%d", k);
		MT_CHECK(strcmp(names[k], buf) == 0, "names[%d] = '%s'", k, names[k]);
	}
}

int main(void)
{
	mt_start();
	if (!hop_incoming()) {
		build();
		check();
	}
	mt_ready();
	for (;;) {
		HOP_POINT(tick);
		if (mt_after_point(check))
			return 0;
		usleep(1000);
	}
}
