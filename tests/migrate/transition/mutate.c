/* transition/mutate.c -- keeps mutating while it is migrated: a list that
 * grows and shrinks, a hash table that rehashes into bigger bucket arrays,
 * a string grown with realloc, function-pointer dispatch. Invariants kept by
 * every step are checked every 500 steps and after each resume. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hop.h"
#include "mtest.h"

struct item {
	unsigned key, val;
	struct item *next;
};

struct table {
	size_t nbuckets, n;
	struct item **b;
};

struct node {
	long v;
	struct node *next;
};

typedef unsigned (*mix_fn)(unsigned);
static unsigned mix_a(unsigned x) { return x * 2654435761u; }
static unsigned mix_b(unsigned x) { return (x ^ 0x5bd1e995u) + 7; }
static unsigned mix_c(unsigned x) { return x >> 3 | x << 29; }
static unsigned mix_d(unsigned x) { return ~x; }

struct table tab;
struct node *list;
long list_len, list_sum;
char *text;
size_t text_len;
mix_fn mixers[4];
mix_fn current;
unsigned long steps;
unsigned long acc, acc_steps; /* acc = fold of current(steps), kept below 2^32: a 32-bit
				* destination has a 32-bit long and refuses what does not fit */

static unsigned val_of(unsigned key) { return key * 40503u + 17; }

static void tab_insert(unsigned key)
{
	if (tab.n >= 2 * tab.nbuckets) { /* rehash */
		size_t nb = tab.nbuckets ? tab.nbuckets * 2 : 8;
		struct item **b = calloc(nb, sizeof(*b));
		for (size_t i = 0; i < tab.nbuckets; i++)
			for (struct item *it = tab.b[i], *nx; it; it = nx) {
				nx = it->next;
				it->next = b[it->key % nb];
				b[it->key % nb] = it;
			}
		free(tab.b);
		tab.b = b;
		tab.nbuckets = nb;
	}
	struct item *it = malloc(sizeof(*it));
	it->key = key;
	it->val = val_of(key);
	it->next = tab.b[key % tab.nbuckets];
	tab.b[key % tab.nbuckets] = it;
	tab.n++;
}

static void tab_clear(void)
{
	for (size_t i = 0; i < tab.nbuckets; i++)
		for (struct item *it = tab.b[i], *nx; it; it = nx) {
			nx = it->next;
			free(it);
		}
	free(tab.b);
	memset(&tab, 0, sizeof(tab));
}

static void step(void)
{
	steps++;
	if (tab.n >= 20000)
		tab_clear();
	tab_insert((unsigned)steps);

	struct node *n = malloc(sizeof(*n));
	n->v = (long)(steps * 3 % 100000); /* the sum stays below 2^31 (32-bit long) */
	n->next = list;
	list = n;
	list_len++;
	list_sum += n->v;
	if (steps % 3 == 0 || list_len > 5000) {
		struct node *h = list;
		list = h->next;
		list_len--;
		list_sum -= h->v;
		free(h);
	}

	if (text_len >= 3000) {
		free(text);
		text = NULL;
		text_len = 0;
	}
	text = realloc(text, text_len + 2);
	text[text_len] = (char)('a' + text_len % 26);
	text[++text_len] = '\0';

	current = mixers[steps % 4];
	acc = (acc + current((unsigned)steps)) & 0xffffffffUL;
}

static void check(void)
{
	long len = 0, sum = 0;
	for (struct node *n = list; n; n = n->next) {
		len++;
		sum += n->v;
	}
	MT_CHECK(len == list_len && sum == list_sum, "list: %ld nodes sum %ld, want %ld / %ld", len, sum, list_len,
		 list_sum);
	size_t count = 0;
	for (size_t i = 0; i < tab.nbuckets; i++)
		for (struct item *it = tab.b[i]; it; it = it->next) {
			MT_CHECK(it->key % tab.nbuckets == i, "item %u in bucket %zu of %zu", it->key, i, tab.nbuckets);
			MT_CHECK(it->val == val_of(it->key), "item %u: val %u", it->key, it->val);
			count++;
		}
	MT_CHECK(count == tab.n, "table: %zu items, n = %zu", count, tab.n);
	MT_CHECK(strlen(text) == text_len, "text: strlen %zu, text_len %zu", strlen(text), text_len);
	for (size_t i = 0; i < text_len; i++)
		MT_CHECK(text[i] == 'a' + (char)(i % 26), "text[%zu] = %c", i, text[i]);
	MT_CHECK(current == mixers[steps % 4], "current mixer for step %lu", steps);
	/* acc is a fold over all steps: recompute from scratch */
	unsigned long a = acc_steps ? 0 : 0;
	for (unsigned long s = 1; s <= steps; s++)
		a = (a + mixers[s % 4]((unsigned)s)) & 0xffffffffUL;
	MT_CHECK(a == acc, "acc %lu, recomputed %lu", acc, a);
}

int main(void)
{
	mt_start();
	if (!hop_incoming()) {
		mixers[0] = mix_a;
		mixers[1] = mix_b;
		mixers[2] = mix_c;
		mixers[3] = mix_d;
		for (int i = 0; i < 1000; i++)
			step();
		check();
	}
	mt_ready();
	for (;;) {
		HOP_POINT(tick);
		if (mt_after_point(check))
			return 0;
		for (int i = 0; i < 20; i++)
			step();
		if (steps % 500 < 20 && !hop_resumed())
			check();
		usleep(200);
	}
}
