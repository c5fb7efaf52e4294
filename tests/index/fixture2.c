/* fixture2.c -- the second compilation unit of the index fixture: a file
 * static and a function static whose names clash with fixture.c's, and one
 * file static whose name is unique. */
#include "fixture.h"

static int counter = 2;     /* fixture.c has one too: "fixture2.c:counter" */
static int only_here = 3;   /* unique: plain "only_here" */
static struct node list2;   /* struct node again, from this CU's DWARF */

static int *helper(void)
{
	static int calls;   /* fixture.c's helper has one too */
	calls++;
	return &calls;
}

int *fixture2_counter(void) { return &counter; }
int *fixture2_helper_calls(void) { return helper(); }
int *fixture2_only_here(void) { return &only_here; }
struct node *fixture2_list(void) { return &list2; }
