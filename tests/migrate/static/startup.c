/* static/startup.c -- a program that allocates at start-up even when it is
 * a migration's destination, as real programs do (configuration, tables),
 * before its first transfer point. The origin's state replaces those blocks:
 * the destination frees them (in.c i_cleanup) and must not free anything
 * the arrived state still uses. After the resume the check churns the heap
 * (freed blocks would be handed out again and overwritten) and checks the
 * state once more. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hop.h"
#include "mtest.h"

struct item {
	int id;
	char *label;
	struct item *next;
};

char *config_name;      /* start-up: replaced by the origin's */
int *table;             /* start-up: replaced by the origin's */
size_t ntable;
struct item *items;     /* built by the origin only */

static void startup(void)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "config of pid %d", (int)getpid());
	config_name = strdup(buf);
	ntable = 300;
	table = calloc(ntable, sizeof(*table));
	for (size_t i = 0; i < ntable; i++)
		table[i] = (int)i * 7;
	for (int i = 0; i < 50; i++) /* start-up garbage nothing keeps */
		free(malloc(16 + (size_t)i * 8));
}

static void build(void)
{
	free(config_name);
	config_name = strdup("the origin's configuration");
	for (int i = 0; i < 400; i++) {
		struct item *it = malloc(sizeof(*it));
		char buf[32];
		snprintf(buf, sizeof(buf), "item-%d", i);
		it->id = i;
		it->label = strdup(buf);
		it->next = items;
		items = it;
	}
	for (size_t i = 0; i < ntable; i++)
		table[i] = (int)(i * i);
}

static void check_state(void)
{
	MT_CHECK(config_name && !strcmp(config_name, "the origin's configuration"), "config_name '%s'",
		 config_name ? config_name : "(null)");
	MT_CHECK(ntable == 300, "ntable %zu", ntable);
	for (size_t i = 0; i < ntable; i++)
		MT_CHECK(table[i] == (int)(i * i), "table[%zu] = %d", i, table[i]);
	int n = 400;
	for (struct item *it = items; it; it = it->next) {
		char buf[32];
		n--;
		snprintf(buf, sizeof(buf), "item-%d", n);
		MT_CHECK(it->id == n && !strcmp(it->label, buf), "item %d: id %d label %s", n, it->id, it->label);
	}
	MT_CHECK(n == 0, "%d items missing", n);
}

static void check(void)
{
	check_state();
	/* anything freed while still in use is handed out again here */
	void *p[2000];
	for (int i = 0; i < 2000; i++) {
		p[i] = malloc(8 + (size_t)(i % 64) * 8);
		memset(p[i], 0xa5, 8 + (size_t)(i % 64) * 8);
	}
	check_state();
	for (int i = 0; i < 2000; i++)
		free(p[i]);
}

int main(void)
{
	mt_start();
	startup();
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
