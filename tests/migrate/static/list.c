/* static/list.c -- a linked list, a binary tree, strings and a function
 * pointer table built before the migration and checked after it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hop.h"
#include "mtest.h"

struct node {
	int value;
	char *name;
	struct node *next;
};

struct tree {
	long key;
	double weight;
	struct tree *left, *right;
};

typedef int (*op_fn)(int, int);
static int add(int a, int b) { return a + b; }
static int mul(int a, int b) { return a * b; }
static int sub(int a, int b) { return a - b; }

struct node *head;
struct tree *root;
op_fn ops[3];
const char *greeting;
short small[7];
unsigned long long big = 0x0123456789abcdefULL;

static struct tree *insert(struct tree *t, long key)
{
	if (!t) {
		t = calloc(1, sizeof(*t));
		t->key = key;
		t->weight = key * 0.5;
		return t;
	}
	if (key < t->key)
		t->left = insert(t->left, key);
	else
		t->right = insert(t->right, key);
	return t;
}

static void build(void)
{
	for (int i = 0; i < 200; i++) {
		struct node *n = malloc(sizeof(*n));
		char buf[32];
		snprintf(buf, sizeof(buf), "node-%d", i);
		n->value = i * 3;
		n->name = strdup(buf);
		n->next = head;
		head = n;
	}
	for (long k = 0; k < 300; k++)
		root = insert(root, (k * 7919) % 1009);
	ops[0] = add;
	ops[1] = mul;
	ops[2] = sub;
	greeting = "hello from the origin";
	for (int i = 0; i < 7; i++)
		small[i] = (short)(-i * 1000);
}

static long tree_sum(const struct tree *t, int *count)
{
	if (!t)
		return 0;
	if (t->weight != t->key * 0.5)
		MT_FAIL("tree weight %g for key %ld", t->weight, t->key);
	(*count)++;
	return t->key + tree_sum(t->left, count) + tree_sum(t->right, count);
}

static void check(void)
{
	int i = 199, count = 0;
	for (struct node *n = head; n; n = n->next, i--) {
		char buf[32];
		snprintf(buf, sizeof(buf), "node-%d", i);
		MT_CHECK(n->value == i * 3, "node %d value %d", i, n->value);
		MT_CHECK(strcmp(n->name, buf) == 0, "node %d name '%s'", i, n->name);
	}
	MT_CHECK(i == -1, "list ends at %d", i);
	long sum = tree_sum(root, &count), want = 0;
	for (long k = 0; k < 300; k++)
		want += (k * 7919) % 1009;
	MT_CHECK(count == 300 && sum == want, "tree: %d nodes, sum %ld (want 300, %ld)", count, sum, want);
	MT_CHECK(ops[0](6, 7) == 13 && ops[1](6, 7) == 42 && ops[2](6, 7) == -1, "function pointers");
	MT_CHECK(strcmp(greeting, "hello from the origin") == 0, "greeting '%s'", greeting);
	for (int k = 0; k < 7; k++)
		MT_CHECK(small[k] == -k * 1000, "small[%d] = %d", k, small[k]);
	MT_CHECK(big == 0x0123456789abcdefULL, "big = %llx", big);
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
