/* small.c -- a minimal hop program for t_index_bad.sh: it only loads its
 * index (hop_init) and reports the loader's verdict. */
#include <stdio.h>

#include <hop.h>

int counter;

int main(void)
{
	if (hop_init() < 0) {
		fprintf(stderr, "small: %s\n", hop_last_error());
		return 1;
	}
	counter++;
	printf("ok\n");
	return 0;
}
