/* fixture.h -- types shared by fixture.c and fixture2.c, so the index must
 * merge the copies the two compilation units carry into one type each. */
#ifndef FIXTURE_H
#define FIXTURE_H

struct node {
	struct node *next;
	void *data;
	int key;
};

struct payload {
	long long x;
	char tag[3];
};

int *fixture2_counter(void);
int *fixture2_helper_calls(void);
int *fixture2_only_here(void);
struct node *fixture2_list(void);

#endif
