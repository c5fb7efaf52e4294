/* fault.c -- fault points (see fault.h): parse $HOP_FAULT, fire at named points.
 *
 * Tests switch faults on to prove the invariants of DESIGN.md: the link cut
 * after each protocol message, a peer killed or stalled at each step, a bad
 * digest, an allocation failure. The table is small and fixed; a fault that
 * names an unknown frame type is refused at start-up. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fault.h"
#include "wire.h"

#define MAX_FAULTS 8

enum { F_CUT = 1, F_KILL, F_STALL, F_DIGEST, F_OOM };

struct fault {
	int action;
	char dir;     /* 's' / 'r' for frame faults */
	int type;     /* frame type */
	unsigned nth; /* fire at the nth occurrence (1 = first) */
	unsigned seen;
};

int hop__faults_on;
static struct fault faults[MAX_FAULTS];
static int nfaults;
static int parsed;

static int parse_one(char *s)
{
	struct fault f = { 0 };
	char *hash = strchr(s, '#');

	f.nth = 1;
	if (hash) {
		*hash = '\0';
		f.nth = (unsigned)atoi(hash + 1);
		if (f.nth == 0)
			return hop__fail(HOP_EINVAL, "HOP_FAULT: bad count in '%s#%s'", s, hash + 1);
	}
	if (strcmp(s, "digest") == 0)
		f.action = F_DIGEST;
	else if (strcmp(s, "oom") == 0)
		f.action = F_OOM;
	else {
		char *colon = strchr(s, ':');
		if (!colon)
			return hop__fail(HOP_EINVAL, "HOP_FAULT: unknown fault '%s'", s);
		*colon = '\0';
		const char *verb = s, *type = colon + 1;
		size_t vl = strlen(verb);
		if (vl < 6 || (strcmp(verb + vl - 5, "-send") != 0 && strcmp(verb + vl - 5, "-recv") != 0))
			return hop__fail(HOP_EINVAL, "HOP_FAULT: unknown fault '%s'", verb);
		f.dir = verb[vl - 4]; /* 's' or 'r' */
		if (strncmp(verb, "cut-", 4) == 0)
			f.action = F_CUT;
		else if (strncmp(verb, "kill-", 5) == 0)
			f.action = F_KILL;
		else if (strncmp(verb, "stall-", 6) == 0)
			f.action = F_STALL;
		else
			return hop__fail(HOP_EINVAL, "HOP_FAULT: unknown fault '%s'", verb);
		f.type = hop__frame_by_name(type);
		if (f.type < 0)
			return hop__fail(HOP_EINVAL, "HOP_FAULT: unknown frame type '%s'", type);
	}
	if (nfaults == MAX_FAULTS)
		return hop__fail(HOP_EINVAL, "HOP_FAULT: more than %d faults", MAX_FAULTS);
	faults[nfaults++] = f;
	return 0;
}

int hop__fault_init(void)
{
	if (parsed)
		return 0;
	parsed = 1;
	const char *env = getenv("HOP_FAULT");
	if (!env || !*env)
		return 0;
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", env);
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int rc = parse_one(tok);
		if (rc < 0) {
			nfaults = 0;
			return rc;
		}
	}
	hop__faults_on = nfaults > 0;
	return 0;
}

static int fires(struct fault *f)
{
	return ++f->seen == f->nth || (f->action == F_OOM && f->seen > f->nth);
}

int hop__fault(const char *name)
{
	int action = strcmp(name, "digest") == 0 ? F_DIGEST : strcmp(name, "oom") == 0 ? F_OOM : 0;

	if (!hop__faults_on)
		return 0;
	for (int i = 0; i < nfaults; i++)
		if (faults[i].action == action && fires(&faults[i])) {
			fprintf(stderr, "hop: fault '%s' fires (pid %d)\n", name, (int)getpid());
			return 1;
		}
	return 0;
}

int hop__fault_frame(struct hop_conn *c, char dir, int type)
{
	if (!hop__faults_on)
		return 0;
	for (int i = 0; i < nfaults; i++) {
		struct fault *f = &faults[i];
		if (f->dir != dir || f->type != type || !fires(f))
			continue;
		fprintf(stderr, "hop: fault %s-%s:%s fires in the %s (pid %d)\n",
			f->action == F_CUT ? "cut" : f->action == F_KILL ? "kill" : "stall",
			dir == 's' ? "send" : "recv", hop__frame_name(type), c->side ? c->side : "?", (int)getpid());
		switch (f->action) {
		case F_CUT:
			hop__conn_cut(c);
			return 1;
		case F_KILL:
			kill(getpid(), SIGKILL);
			break;
		case F_STALL:
			sleep(3600);
			break;
		}
	}
	return 0;
}
