/* out.c -- the origin's side of a migration, as a list of steps.
 *
 * Run by the agent's worker thread (ctl.c) while the program keeps running:
 *
 *   hello      versions; learn the point the destination waits at
 *   index      send our index and load bias
 *   track      start dirty tracking and the heap's alloc/free log
 *   bulk       scan everything reachable, send every object
 *   rounds     collect dirty pages -> rescan them -> send what changed, until
 *              the estimated pause fits the target or the budget is spent
 *   freeze     park the program at the destination's point
 *   final      the last delta, on frozen memory
 *   digest     compare state digests; destination says READY
 *   commit     send COMMIT; wait for RESUMED; the program thread exits
 *
 * Any failure before COMMIT un-parks the program, which carries on: nothing
 * here writes the program's memory. While the program runs, a scan or a
 * translation may see a torn or stale value; such failures are provisional
 * (the memory involved is dirty again, so it is re-read and re-sent later);
 * only failures on the frozen state abort. See docs/protocol.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bg.h"
#include "bytes.h"
#include "ctl.h"
#include "err.h"
#include "fault.h"
#include "fds.h"
#include "heap.h"
#include "index.h"
#include "track.h"
#include "wire.h"
#include "xlate.h"

static void trace(const char *step)
{
	hop__trace("origin", step);
}

#define FRAME_TARGET (1u << 20)   /* DATA frames carry up to ~1 MiB */
#define REC_HEADER (1 + HOP_OBJ_HEADER + 8 + 4)
#define BULK_RETRIES 3

enum { REC_OBJ = 1, REC_RANGE = 2, REC_DROP = 3 };
enum { PH_BULK = 1, PH_ROUND = 2, PH_FINAL = 3 };

struct sent {
	uint64_t size, count;
	uint32_t type;
	uint8_t full; /* the destination has the whole object */
};

struct out {
	struct hop_conn c;
	const struct hop_mig_params *p;
	hop_progress_fn progress;
	void *pctx;
	struct hop_mig_result *res;
	const struct hop_index *idx;
	intptr_t bias;
	struct hop_scan *scan;
	struct sent *sent;
	size_t nsent;
	char point[128];      /* where the destination waits */
	int dest_resumed;
	int hard;             /* HOP_HARD: every page dirty every round */
	int tracking;
	/* dirty ranges of this pass; pending = ranges a failed rescan must redo */
	uint64_t (*dirty)[2];
	size_t ndirty, capdirty;
	uint64_t (*pending)[2];
	size_t npending;
	uint64_t *drops;
	size_t ndrops, capdrops;
	/* the DATA frame being filled */
	uint8_t *fb;
	size_t flen;
	/* the current phase: what it declared */
	uint64_t ph_recs, ph_bytes;
	/* measures */
	uint64_t t0, freeze_us, bulk_bytes, round_bytes, round_us, collect_us;
	uint64_t throughput; /* bytes/s moved and applied by the destination */
	uint64_t est_pause_us;
	uint32_t round;
	int provisional;     /* rescans that failed while running */
	int frozen_bulk;     /* no bulk while running: everything goes at the freeze */
	int need_full;       /* the heap log overflowed: the final phase scans the frozen state whole */
};

static void report(struct out *o, int phase, uint64_t dirty_bytes, uint64_t dirty_rate)
{
	struct hop_progress pr = { (uint8_t)phase, o->round, o->c.bytes_out, dirty_bytes, dirty_rate,
				   o->throughput, o->est_pause_us };
	hop__status.phase = phase;
	hop__status.round = o->round;
	hop__status.bytes = o->c.bytes_out;
	hop__status.est_pause_us = o->est_pause_us;
	if (o->progress)
		o->progress(o->pctx, &pr);
}

/* ---- step: hello ------------------------------------------------------------------ */
static int o_hello(struct out *o)
{
	uint8_t b[16], arch, psize, be, ld;
	struct hop_frame f;
	int rc;

	if (hop__foreign_threads() > 0)
		return hop__fail(HOP_ETHREADS, "the program runs %d thread(s) besides its main thread: "
					       "hop migrates single-threaded programs only", hop__foreign_threads());
	if ((rc = hop__self_index(&o->idx, &o->bias)) < 0)
		return rc;
	if ((rc = hop__fds_check()) < 0) /* refuse what cannot be carried before anything moves */
		return rc;
	hop__native_target(&arch, &psize, &be, &ld);
	memcpy(b, "hopm", 4);
	b[4] = HOP_PROTO_VERSION; /* lowest we speak */
	b[5] = HOP_PROTO_VERSION; /* highest */
	b[6] = arch;
	b[7] = psize;
	b[8] = be;
	b[9] = ld;
	hop__put32(b + 10, (uint32_t)hop__resumed_count());
	hop__put16(b + 14, 0);
	if ((rc = hop__frame_send(&o->c, HOP_F_HELLO, 0, b, sizeof(b))) < 0)
		return rc;
	/* the destination may still be starting (qemu): wait longer for this one */
	int saved = o->c.timeout_ms;
	o->c.timeout_ms = saved * 3;
	rc = hop__frame_expect(&o->c, HOP_F_HELLO_ACK, &f, 200);
	o->c.timeout_ms = saved;
	if (rc < 0)
		return rc;
	struct hop_rd r;
	hop__rd_init(&r, f.payload, f.len);
	uint8_t ver = hop__rd8(&r);
	uint8_t darch = hop__rd8(&r);
	hop__rd8(&r);
	hop__rd8(&r);
	hop__rd8(&r);
	uint16_t n = hop__rd16(&r);
	const uint8_t *name = hop__rd_take(&r, n);
	if (r.bad || hop__rd_left(&r) || n == 0 || n >= sizeof(o->point) || memchr(name, 0, n))
		return hop__fail(HOP_EPROTO, "HELLO_ACK: malformed");
	if (ver != HOP_PROTO_VERSION)
		return hop__fail(HOP_EPROTO, "destination chose protocol version %u, we speak %u", ver,
				 HOP_PROTO_VERSION);
	memcpy(o->point, name, n);
	o->point[n] = '\0';
	/* a point we lack may be the new name of one of ours (an upgrade): the
	 * destination says where we park in INDEX_OK, once it has our index */
	fprintf(stderr, "hop: migrating pid %d to a %s destination waiting at HOP_POINT(%s)\n", (int)getpid(),
		hop__arch_name(darch), o->point);
	return 0;
}

/* ---- step: index ------------------------------------------------------------------ */
static int o_index(struct out *o)
{
	uint8_t *buf, b8[8];
	size_t len;
	struct hop_frame f;
	int rc = hop__index_encode(o->idx, &buf, &len);
	if (rc < 0)
		return rc;
	hop__put64(b8, (uint64_t)(int64_t)o->bias);
	struct iovec iov[2] = { { b8, 8 }, { buf, len } };
	rc = hop__frame_sendv(&o->c, HOP_F_INDEX, 0, iov, 2);
	free(buf);
	if (rc < 0)
		return rc;
	/* INDEX_OK: the point to park at (the destination's, or its old name in
	 * our version: HOP_POINT_RENAMED in the new build) */
	if ((rc = hop__frame_expect(&o->c, HOP_F_INDEX_OK, &f, 2 + 127)) < 0)
		return rc;
	struct hop_rd r;
	hop__rd_init(&r, f.payload, f.len);
	uint16_t n = hop__rd16(&r);
	const uint8_t *name = hop__rd_take(&r, n);
	if (r.bad || hop__rd_left(&r) || n == 0 || n >= sizeof(o->point) || memchr(name, 0, n))
		return hop__fail(HOP_EPROTO, "INDEX_OK: malformed");
	char park[sizeof(o->point)];
	memcpy(park, name, n);
	park[n] = '\0';
	int known = 0;
	for (uint32_t i = 0; i < o->idx->npoints; i++)
		known |= strcmp(o->idx->points[i].name, park) == 0;
	if (!known && strcmp(park, o->point))
		return hop__fail(HOP_EINVAL, "the destination waits at HOP_POINT(%s), mapped to HOP_POINT(%s), which this "
					     "program does not have", o->point, park);
	if (!known)
		return hop__fail(HOP_EINVAL, "the destination waits at HOP_POINT(%s), which this program does not have",
				 o->point);
	if (strcmp(park, o->point))
		fprintf(stderr, "hop: the destination's HOP_POINT(%s) was HOP_POINT(%s) here: parking there\n", o->point,
			park);
	memcpy(o->point, park, n + 1);
	return 0;
}

/* ---- step: track -------------------------------------------------------------------- */
static int o_track(struct out *o)
{
	int rc;
	hop__heap_hold(1); /* freed huge blocks stay readable while we scan */
	hop__heap_log(1);
	if ((rc = hop__track_start()) < 0)
		return rc;
	o->tracking = 1;
	const char *h = getenv("HOP_HARD");
	o->hard = h && *h && strcmp(h, "0") != 0;
	return 0;
}

/* ---- sending objects -------------------------------------------------------------------- */
static int flush(struct out *o)
{
	if (!o->flen)
		return 0;
	int rc = hop__frame_send(&o->c, HOP_F_DATA, 0, o->fb, o->flen);
	o->flen = 0;
	return rc;
}

static int room(struct out *o, size_t need)
{
	if (o->flen + need > FRAME_TARGET + REC_HEADER + 4096)
		return flush(o);
	return 0;
}

/* One record of object bytes [off, off + len): OBJ parts or RANGE. The bytes
 * are read from the live memory of the program. */
static int put_bytes(struct out *o, int kind, const struct hop_obj *ob, uint64_t off, uint64_t len)
{
	int rc;
	do {
		uint64_t n = len < FRAME_TARGET ? len : FRAME_TARGET;
		if ((rc = room(o, REC_HEADER + n)) < 0)
			return rc;
		uint8_t *p = o->fb + o->flen;
		p[0] = (uint8_t)kind;
		hop__obj_encode(ob, p + 1);
		hop__put64(p + 1 + HOP_OBJ_HEADER, off);
		hop__put32(p + 1 + HOP_OBJ_HEADER + 8, (uint32_t)n);
		memcpy(p + REC_HEADER, (const void *)(uintptr_t)(ob->addr + off), n);
		o->flen += REC_HEADER + n;
		o->ph_recs++;
		o->ph_bytes += n;
		off += n;
		len -= n;
	} while (len);
	return 0;
}

static int put_drop(struct out *o, uint64_t addr)
{
	int rc = room(o, 9);
	if (rc < 0)
		return rc;
	o->fb[o->flen] = REC_DROP;
	hop__put64(o->fb + o->flen + 1, addr);
	o->flen += 9;
	o->ph_recs++;
	return 0;
}

static int grow_sent(struct out *o)
{
	size_t n = hop__scan_count(o->scan);
	if (n <= o->nsent)
		return 0;
	struct sent *s = realloc(o->sent, n * sizeof(*s));
	if (!s)
		return hop__fail(HOP_ENOMEM, "origin: %zu objects", n);
	memset(s + o->nsent, 0, (n - o->nsent) * sizeof(*s));
	o->sent = s;
	o->nsent = n;
	return 0;
}

/* What the changed object needs: all of it, or the parts in dirty ranges.
 * Counting only (send = 0) or sending (send = 1): the phase declares its
 * totals before its records. */
static int plan_obj(struct out *o, size_t id, int send, uint64_t *recs, uint64_t *bytes)
{
	const struct hop_obj *ob = hop__scan_obj(o->scan, id);
	struct sent *st = &o->sent[id];
	if (!ob)
		return 0; /* dropped */
	int full = !st->full || st->size != ob->size || st->count != ob->count || st->type != ob->type;
	if (full) {
		uint64_t parts = ob->size ? (ob->size + FRAME_TARGET - 1) / FRAME_TARGET : 1;
		*recs += parts;
		*bytes += ob->size;
		if (send) {
			int rc = put_bytes(o, REC_OBJ, ob, 0, ob->size);
			if (rc < 0)
				return rc;
			st->full = 1;
			st->size = ob->size;
			st->count = ob->count;
			st->type = ob->type;
		}
		return 0;
	}
	/* first dirty range ending after the object's start */
	size_t lo = 0, hi = o->ndirty;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (o->dirty[mid][1] <= ob->addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < o->ndirty && o->dirty[i][0] < ob->addr + ob->size; i++) {
		uint64_t s = o->dirty[i][0] > ob->addr ? o->dirty[i][0] - ob->addr : 0;
		uint64_t e = o->dirty[i][1] - ob->addr < ob->size ? o->dirty[i][1] - ob->addr : ob->size;
		if (e <= s)
			continue;
		*recs += (e - s + FRAME_TARGET - 1) / FRAME_TARGET;
		*bytes += e - s;
		if (send) {
			int rc = put_bytes(o, REC_RANGE, ob, s, e - s);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* PHASE_ACK: objects translated u64, provisional failures u64, then the
 * objects a RANGE update failed for (count u32, 0xffffffff = all; origin
 * addresses u64): they go whole next time, since their pages need not be
 * written again. */
#define ACK_MAX (20 + 8u * (1u << 20))
static int on_ack(struct out *o, const struct hop_frame *f)
{
	struct hop_rd r;
	hop__rd_init(&r, f->payload, f->len);
	hop__rd64(&r);
	hop__rd64(&r);
	uint32_t n = hop__rd32(&r);
	if (r.bad || (n != 0xffffffffu && hop__rd_left(&r) != (size_t)n * 8))
		return hop__fail(HOP_EPROTO, "PHASE_ACK: malformed");
	int rc;
	if (n && (rc = grow_sent(o)) < 0)
		return rc;
	if (n == 0xffffffffu) {
		for (size_t i = 0; i < o->nsent; i++) {
			o->sent[i].full = 0;
			hop__scan_mark(o->scan, i);
		}
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		long id = hop__scan_find(o->scan, hop__rd64(&r));
		if (id < 0 || (size_t)id >= o->nsent)
			continue; /* dropped since */
		o->sent[id].full = 0;
		hop__scan_mark(o->scan, (size_t)id);
	}
	return 0;
}

/* One phase: PHASE (declared totals), DATA..., PHASE_END; wait PHASE_ACK.
 * ids == NULL: every object, the last found first. The scan finds a block
 * through the first pointer to it, so most pointers lead to objects found
 * after their own: sent in that order, each would wait at the destination
 * (parked, looked up again when its target arrives); sent backwards, most
 * find their target there already (a tree, a hash table: all of them). */
static int send_phase(struct out *o, int kind, const size_t *ids, size_t n)
{
	uint64_t recs = o->ndrops, bytes = 0, t = hop__now_us();
	uint8_t b[21];
	struct hop_frame f;
	int rc;
	size_t all = hop__scan_count(o->scan);

	if ((rc = grow_sent(o)) < 0)
		return rc;
	for (size_t i = 0; i < (ids ? n : all); i++)
		plan_obj(o, ids ? ids[i] : i, 0, &recs, &bytes);
	b[0] = (uint8_t)kind;
	hop__put32(b + 1, o->round);
	hop__put64(b + 5, recs);
	hop__put64(b + 13, bytes);
	if ((rc = hop__frame_send(&o->c, HOP_F_PHASE, 0, b, sizeof(b))) < 0)
		return rc;
	o->ph_recs = o->ph_bytes = 0;
	for (size_t i = 0; i < o->ndrops; i++)
		if ((rc = put_drop(o, o->drops[i])) < 0)
			return rc;
	o->ndrops = 0;
	uint64_t r2 = 0, b2 = 0;
	for (size_t i = 0; i < (ids ? n : all); i++) {
		/* the bytes of an object a few ahead: each lies elsewhere in the heap */
		const struct hop_obj *ahead = i + 6 < (ids ? n : all) ? hop__scan_obj(o->scan, ids ? ids[i + 6] : all - 7 - i)
								   : NULL;
		if (ahead)
			__builtin_prefetch((const void *)(uintptr_t)ahead->addr);
		if ((rc = plan_obj(o, ids ? ids[i] : all - 1 - i, 1, &r2, &b2)) < 0)
			return rc;
	}
	if ((rc = flush(o)) < 0)
		return rc;
	if (o->ph_recs != recs || o->ph_bytes != bytes)
		return hop__fail(HOP_EPROTO, "origin: phase declared %llu records/%llu bytes, sent %llu/%llu",
				 (unsigned long long)recs, (unsigned long long)bytes, (unsigned long long)o->ph_recs,
				 (unsigned long long)o->ph_bytes);
	if ((rc = hop__frame_send(&o->c, HOP_F_PHASE_END, 0, NULL, 0)) < 0)
		return rc;
	uint64_t t_sent = hop__now_us();
	if (kind == PH_FINAL)
		return 0; /* o_digest computes our digest while the destination computes its own */
	if ((rc = hop__frame_expect(&o->c, HOP_F_PHASE_ACK, &f, ACK_MAX)) < 0 || (rc = on_ack(o, &f)) < 0)
		return rc;
	uint64_t t_ack = hop__now_us(), dt = t_ack - t;
	/* hash what this phase sent now, while the program runs, so the digest at
	 * the freeze costs only the final delta: anything written after the
	 * collect this phase came from is dirty in the next one and hashed again */
	uint8_t d[HOP_DIGEST_LEN];
	hop__scan_digest(o->scan, d);
	o->round_bytes = bytes;
	o->round_us = dt;
	/* throughput from phases big enough to measure it */
	if (bytes >= (256u << 10) && dt > 0)
		o->throughput = bytes * 1000000u / dt;
	if (hop__trace_on())
		fprintf(stderr, "hop: [origin] %s %u: %llu records, %llu bytes in %llu us (%.0f MB/s; sent after %llu us, "
			"acknowledged %llu us later, hashed in %llu us)\n",
			kind == PH_BULK ? "bulk" : "round", o->round, (unsigned long long)recs, (unsigned long long)bytes,
			(unsigned long long)dt, dt ? (double)bytes / (double)dt : 0.0, (unsigned long long)(t_sent - t),
			(unsigned long long)(t_ack - t_sent), (unsigned long long)(hop__now_us() - t_ack));
	return 0;
}

/* ---- the delta: dirty pages, freed blocks, rescan ------------------------------------------ */
static int add_range(void *ctx, uintptr_t s, uintptr_t e)
{
	struct out *o = ctx;
	if (o->ndirty && o->dirty[o->ndirty - 1][1] == s) {
		o->dirty[o->ndirty - 1][1] = e;
		return 0;
	}
	if (o->ndirty == o->capdirty) {
		size_t cap = o->capdirty ? o->capdirty * 2 : 1024;
		void *d = realloc(o->dirty, cap * sizeof(o->dirty[0]));
		if (!d)
			return hop__fail(HOP_ENOMEM, "origin: dirty ranges");
		o->dirty = d;
		o->capdirty = cap;
	}
	o->dirty[o->ndirty][0] = s;
	o->dirty[o->ndirty][1] = e;
	o->ndirty++;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* The destination drops this block first thing in the next phase. */
static void add_drop(struct out *o, uint64_t addr)
{
	if (o->ndrops == o->capdrops) {
		size_t cap = o->capdrops ? o->capdrops * 2 : 256;
		uint64_t *d = realloc(o->drops, cap * sizeof(*d));
		if (!d)
			return; /* the digest will tell */
		o->drops = d;
		o->capdrops = cap;
	}
	o->drops[o->ndrops++] = addr;
}

static void freed(void *ctx, const struct hop_heap_event *ev, size_t n)
{
	struct out *o = ctx;
	for (size_t i = 0; i < n; i++)
		if (ev[i].op == HOP_HEAP_FREE && hop__scan_drop(o->scan, ev[i].addr) == 0)
			add_drop(o, ev[i].addr);
}

/* Blocks the rescan found resized in place go like freed ones: dropped
 * before the new block (and the pointers to it) are translated. */
static void replaced(struct out *o)
{
	const uint64_t *a;
	size_t n = hop__scan_take_replaced(o->scan, &a);
	for (size_t i = 0; i < n; i++)
		add_drop(o, a[i]);
}

struct collect {
	struct out *o;
	int last;     /* the program is parked: the last collect (track.h) */
	int overflow;
};

/* dirty pages first, frees second: every free that came before a write
 * this collect reports is then known, so a block freed and reused for
 * another type is dropped from the scan before its new pointers are read.
 * Holds the tracker's and the heap's locks, which the program's thread may
 * spin on: at the worker's priority, never in the background (bg.c). */
static int collect(void *arg)
{
	struct collect *c = arg;
	long pages = c->last ? hop__track_collect_last(add_range, c->o) : hop__track_collect(add_range, c->o);
	if (pages < 0)
		return (int)pages;
	if (hop__heap_log_take(freed, c->o, &c->overflow) < 0)
		c->overflow = 1;
	return 0;
}

/* Collect what changed since the last pass and rescan it; *ids gets the
 * changed objects. Failures of the rescan are provisional while running
 * (frozen = 0): the ranges are kept and redone next time. */
static int delta(struct out *o, int frozen, size_t **ids, size_t *n, uint64_t *dirty_bytes)
{
	struct collect c = { o, frozen, 0 };
	int overflow, rc;
	uint64_t t = hop__now_us();

	o->ndirty = 0;
	if ((rc = hop__urgent(collect, &c)) < 0)
		return rc;
	overflow = c.overflow;
	if (overflow) /* frees were lost: the scan may hold blocks that are gone; settle it at the freeze */
		o->need_full = 1;
	if (o->hard || overflow) { /* everything counts as written */
		o->ndirty = 0;
		for (size_t i = 0; i < hop__track_nranges(); i++) {
			struct hop__trange *r = hop__track_range(i);
			if ((rc = add_range(o, r->start, r->end)) < 0)
				return rc;
		}
	}
	for (size_t i = 0; i < o->npending; i++)
		if ((rc = add_range(o, (uintptr_t)o->pending[i][0], (uintptr_t)o->pending[i][1])) < 0)
			return rc;
	qsort(o->dirty, o->ndirty, sizeof(o->dirty[0]), cmp_range);
	/* merge overlaps (pending ranges may repeat new ones) */
	size_t m = 0;
	*dirty_bytes = 0;
	for (size_t i = 0; i < o->ndirty; i++) {
		if (m && o->dirty[i][0] <= o->dirty[m - 1][1]) {
			if (o->dirty[i][1] > o->dirty[m - 1][1])
				o->dirty[m - 1][1] = o->dirty[i][1];
		} else {
			o->dirty[m][0] = o->dirty[i][0];
			o->dirty[m][1] = o->dirty[i][1];
			m++;
		}
	}
	o->ndirty = m;
	for (size_t i = 0; i < m; i++)
		*dirty_bytes += o->dirty[i][1] - o->dirty[i][0];
	o->collect_us = hop__now_us() - t;
	if (frozen)
		trace("collect");

	rc = hop__scan_changed(o->scan, (const uint64_t(*)[2])o->dirty, o->ndirty);
	replaced(o);
	if (rc < 0) {
		if (frozen)
			return rc;
		/* torn or stale value in memory the program is writing: redo later */
		o->provisional++;
		void *p = realloc(o->pending, (o->ndirty ? o->ndirty : 1) * sizeof(o->pending[0]));
		if (!p)
			return hop__fail(HOP_ENOMEM, "origin: pending ranges");
		o->pending = p;
		memcpy(o->pending, o->dirty, o->ndirty * sizeof(o->pending[0]));
		o->npending = o->ndirty;
		*n = 0;
		*ids = NULL;
		return 0;
	}
	o->npending = 0;
	*n = hop__scan_take_changed(o->scan, ids);
	if (frozen)
		trace("rescan");
	return 0;
}

/* While a send or the PHASE_ACK waits on the destination (it translates
 * slower than we send), hash ahead what we sent: the digest after each phase
 * then costs little, and the destination's time pays for it. Not while the
 * program is parked: the pause must not wait on it. */
static int idle_hash(void *ctx)
{
	struct out *o = ctx;
	return o->scan && hop__scan_digest_step(o->scan, 32);
}

/* ---- step: bulk ------------------------------------------------------------------------ */
static int o_bulk(struct out *o)
{
	int rc = 0;
	size_t *ids;
	report(o, HOP_PH_BULK, 0, 0);
	for (int attempt = 0; attempt < BULK_RETRIES; attempt++) {
		if ((rc = hop__scan_new(o->idx, o->bias, NULL, &o->scan)) < 0)
			return rc;
		hop__heap_log_take(NULL, NULL, NULL); /* the scan reads the heap as it is now */
		if ((rc = hop__scan_all(o->scan)) == 0)
			break;
		/* maybe a value torn by the running program: once more */
		hop__scan_free(o->scan);
		o->scan = NULL;
	}
	if (rc < 0) {
		/* the program changes its memory too fast to scan it while it runs
		 * (blocks freed and reused under the scan): scan it frozen instead,
		 * a longer pause but the same result */
		fprintf(stderr, "hop: cannot scan while the program runs (%s); the state goes at the freeze\n",
			hop_last_error());
		o->frozen_bulk = 1;
		return 0;
	}
	hop__scan_take_changed(o->scan, &ids);
	o->c.idle = idle_hash;
	o->c.idle_ctx = o;
	if ((rc = send_phase(o, PH_BULK, NULL, 0)) < 0)
		return rc;
	o->bulk_bytes = o->c.bytes_out;
	return 0;
}

/* ---- step: rounds ------------------------------------------------------------------------ */
/* The pause the round just done predicts: it moved its delta from PHASE to
 * PHASE_ACK in round_us, the destination's translation included, and the
 * final delta is no larger once the rounds converge (and is moved with the
 * program parked). The throughput of the big phases predicted small rounds
 * badly: kvd's bulk of 3M small objects ran at 4 MB/s, so a 20 KB round done
 * in 1 ms was estimated at 5 ms and every move ran to --max-rounds. */
static uint64_t estimate(const struct out *o)
{
	return o->round_us + o->collect_us + 200; /* + one round trip and the digest, roughly */
}

static int o_rounds(struct out *o)
{
	uint64_t budget = o->p->max_bytes ? o->p->max_bytes : 4 * o->bulk_bytes + (64u << 20);
	uint64_t spent = 0, last = hop__now_us(), least = UINT64_MAX;
	int rc, stuck = 0;

	if (o->frozen_bulk)
		return 0;

	for (;;) {
		size_t *ids, n;
		uint64_t dirty;
		o->round++;
		if ((rc = delta(o, 0, &ids, &n, &dirty)) < 0)
			return rc;
		uint64_t now = hop__now_us(), rate = now > last ? dirty * 1000000u / (now - last) : 0;
		last = now;
		if ((rc = send_phase(o, PH_ROUND, ids, n)) < 0)
			return rc;
		spent += o->round_bytes;
		o->est_pause_us = estimate(o);
		report(o, HOP_PH_ROUNDS, dirty, rate);
		if (o->est_pause_us <= o->p->max_downtime_us && !o->npending && !o->hard)
			return 0;
		/* not converging: three rounds in a row of over 1 MiB that do not
		 * shrink the delta below 90% of the smallest so far (the program
		 * writes as fast as we send); more rounds would only spend the budget */
		if (o->round_bytes >= (1u << 20) && least != UINT64_MAX && o->round_bytes >= least / 10 * 9)
			stuck++;
		else
			stuck = 0;
		if (o->round_bytes < least)
			least = o->round_bytes;
		if (o->round >= o->p->max_rounds || spent >= budget || (stuck >= 3 && !o->hard)) {
			if (o->hard && !(o->p->flags & HOP_MIG_BUDGET_ABORT))
				return 0; /* forced worst case: the rounds were the point */
			if (o->p->flags & HOP_MIG_BUDGET_ABORT)
				return hop__fail(HOP_EABORTED,
						 "%s (%u rounds, %llu bytes) and the estimated pause %llu us "
						 "still exceeds %u us",
						 stuck >= 3 ? "the delta stopped shrinking" : "budget spent", o->round,
						 (unsigned long long)spent, (unsigned long long)o->est_pause_us,
						 o->p->max_downtime_us);
			o->res->forced = 1;
			return 0;
		}
	}
}

/* The bulk and the rounds: work nothing but the migration waits for, at
 * background priority while the program runs (bg.c). The freeze and all
 * that follows run at the worker's own priority. */
static int o_precopy(void *arg)
{
	struct out *o = arg;
	int rc;
	if ((rc = o_bulk(o)) < 0)
		return rc;
	trace("bulk");
	if ((rc = o_rounds(o)) < 0)
		return rc;
	trace("rounds");
	return 0;
}

/* ---- step: freeze + final delta -------------------------------------------------------------- */
#define PARK_WINDOW_US 2000

/* Park the program at the destination's point. While waiting for it to get
 * there, keep the delta small: a window in which it may park, then a round of
 * what it wrote meanwhile, and again. The final delta is then what it wrote
 * since the last of those rounds, not since we began to wait (a point reached
 * every 10 ms would cost up to 10 ms of writes in the pause); and it parks
 * only inside a window, never in the middle of a round (which the pause would
 * pay for). Windows double, so a program that reaches its point rarely is
 * caught all the same. Not after forced rounds (more rounds would not help)
 * nor in the worst-case mode. */
static int o_freeze(struct out *o)
{
	int timeout_ms = o->p->timeout_ms ? (int)o->p->timeout_ms : 10000, rc;
	report(o, HOP_PH_FREEZE, 0, 0);
	if (o->frozen_bulk || o->hard || o->res->forced)
		return hop__park_wait(o->point, timeout_ms, &o->freeze_us);
	uint64_t deadline = hop__now_us() + (uint64_t)timeout_ms * 1000u;
	for (int window = PARK_WINDOW_US;; window = window < timeout_ms * 500 ? window * 2 : window) {
		if (hop__park_window(o->point, window, &o->freeze_us))
			return 0;
		if (hop__now_us() >= deadline)
			return hop__fail(HOP_ETIMEDOUT, "the program did not reach HOP_POINT(%s) within %d ms", o->point,
					 timeout_ms);
		size_t *ids, n;
		uint64_t dirty;
		o->round++;
		if ((rc = delta(o, 0, &ids, &n, &dirty)) < 0 || (rc = send_phase(o, PH_ROUND, ids, n)) < 0)
			return rc;
		o->est_pause_us = estimate(o);
		report(o, HOP_PH_FREEZE, dirty, 0);
	}
}

struct addr_id {
	uint64_t addr;
	size_t id;
};

static int cmp_addr(const void *a, const void *b)
{
	uint64_t x = ((const struct addr_id *)a)->addr, y = ((const struct addr_id *)b)->addr;
	return x < y ? -1 : x > y;
}

/* Scan the frozen state whole and send all of it; blocks the destination got
 * earlier that this scan does not find, or finds with another size or type
 * (resized in place, reused), are dropped first. Slower than a delta, but
 * it depends on nothing the running program may have torn. */
static int final_full(struct out *o)
{
	struct hop_scan *old = o->scan;
	struct addr_id *addrs = NULL;
	size_t *ids, na = 0;
	int rc;

	o->scan = NULL;
	o->res->forced = 1;
	hop__heap_log_take(NULL, NULL, NULL);
	if ((rc = hop__scan_new(o->idx, o->bias, NULL, &o->scan)) < 0 || (rc = hop__scan_all(o->scan)) < 0)
		goto out;
	hop__scan_take_changed(o->scan, &ids);
	/* o->drops keeps the blocks freed since the last phase: the old scan
	 * forgot them already, so the comparison below would not find them */
	if (old) {
		size_t n = hop__scan_count(o->scan);
		addrs = malloc((n ? n : 1) * sizeof(*addrs));
		if (!addrs) {
			rc = hop__fail(HOP_ENOMEM, "origin: %zu objects", n);
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			const struct hop_obj *ob = hop__scan_obj(o->scan, i);
			if (ob && ob->kind == HOP_OBJ_BLOCK)
				addrs[na++] = (struct addr_id){ ob->addr, i };
		}
		qsort(addrs, na, sizeof(*addrs), cmp_addr);
		for (size_t i = 0; i < hop__scan_count(old); i++) {
			const struct hop_obj *ob = hop__scan_obj(old, i), *nb;
			struct addr_id key = { ob ? ob->addr : 0, 0 }, *hit;
			if (!ob || ob->kind != HOP_OBJ_BLOCK)
				continue;
			hit = bsearch(&key, addrs, na, sizeof(*addrs), cmp_addr);
			nb = hit ? hop__scan_obj(o->scan, hit->id) : NULL;
			if (!nb || nb->size != ob->size || nb->type != ob->type || nb->count != ob->count)
				add_drop(o, ob->addr);
		}
	}
	free(o->sent); /* everything goes whole */
	o->sent = NULL;
	o->nsent = 0;
	rc = send_phase(o, PH_FINAL, NULL, 0);
out:
	free(addrs);
	hop__scan_free(old);
	return rc;
}

static int o_final(struct out *o)
{
	size_t *ids, n;
	uint64_t dirty;
	uint8_t b[8 + 128];
	size_t pl = strlen(o->point);
	int rc;

	o->c.idle = NULL; /* parked: nothing may delay the final delta */
	hop__put32(b, (uint32_t)hop__resumed_count());
	hop__put16(b + 4, (uint16_t)pl);
	memcpy(b + 6, o->point, pl);
	/* parked: hop migrate's last data directory pass first (fds.c) */
	if ((o->p->flags & HOP_MIG_DATADIR) && (rc = hop__fds_gate()) < 0)
		return rc;
	if ((rc = hop__frame_send(&o->c, HOP_F_FREEZE, 0, b, 6 + pl)) < 0)
		return rc;
	trace("FREEZE");
	/* the descriptor table; connected and listening sockets go to hop migrate (fds.c) */
	uint8_t *tb;
	size_t tl;
	if ((rc = hop__fds_freeze(&tb, &tl)) < 0)
		return rc;
	rc = hop__frame_send(&o->c, HOP_F_FDS, 0, tb, tl);
	hop__fds_buf_free(tb, tl);
	if (rc < 0)
		return rc;
	trace("FDS");
	o->round++;
	if (o->frozen_bulk)
		return final_full(o);
	if (o->need_full) {
		hop__heap_log_take(freed, o, NULL);
		fprintf(stderr, "hop: the heap's alloc/free log overflowed during the rounds; scanning the frozen state whole\n");
		return final_full(o);
	}
	if ((rc = delta(o, 1, &ids, &n, &dirty)) == 0)
		return send_phase(o, PH_FINAL, ids, n);
	if (rc == HOP_ENOMEM || rc == HOP_ESYS)
		return rc;
	fprintf(stderr, "hop: rescanning the frozen state's changes failed (%s); scanning it whole\n",
		hop_last_error());
	return final_full(o);
}

/* ---- step: digest, commit ------------------------------------------------------------------------- */
static int o_digest(struct out *o)
{
	uint8_t d[HOP_DIGEST_LEN];
	struct hop_frame f;
	int rc = hop__scan_digest(o->scan, d);
	if (rc < 0)
		return rc;
	if (hop__fault("digest"))
		d[0] ^= 0x5a;
	/* DIGEST goes before we read the final phase's PHASE_ACK (the destination
	 * sent that before computing its own digest): waiting for it first would
	 * put one more network round trip into the pause */
	if ((rc = hop__frame_send(&o->c, HOP_F_DIGEST, 0, d, HOP_DIGEST_LEN)) < 0)
		return rc;
	if ((rc = hop__frame_expect(&o->c, HOP_F_PHASE_ACK, &f, ACK_MAX)) < 0) /* of the final phase */
		return rc;
	if ((rc = hop__frame_expect(&o->c, HOP_F_READY, &f, HOP_DIGEST_LEN)) < 0)
		return rc;
	if (f.len != HOP_DIGEST_LEN || memcmp(f.payload, d, HOP_DIGEST_LEN) != 0)
		return hop__fail(HOP_EDIGEST, "the destination's state digest differs from ours");
	return 0;
}

/* After COMMIT: RESUMED means the destination runs the program; the link
 * closing without it means the destination is gone without resuming (it
 * resumes only once RESUMED is on its way), so we carry on; silence until the
 * timeout is ambiguous, and then we never run again (never both). Returns 0
 * when committed, HOP_EABORTED when the program continues here. */
static int o_commit(struct out *o)
{
	struct hop_frame f;
	uint64_t sent = o->c.bytes_out;
	int rc = hop__frame_send(&o->c, HOP_F_COMMIT, 0, NULL, 0);
	if (rc < 0 && o->c.bytes_out == sent) /* not handed to the kernel: the destination cannot have it */
		return rc;
	if (rc == 0)
		rc = hop__frame_expect(&o->c, HOP_F_RESUMED, &f, 0);
	o->res->downtime_us = hop__now_us() - o->freeze_us;
	/* our own end of the link went (o->c.fd < 0): the destination may have
	 * COMMIT and resume; we cannot tell, so we never run again */
	if (rc == 0 || rc == HOP_ETIMEDOUT || o->c.fd < 0) {
		o->res->committed = 1;
		if (rc < 0)
			snprintf(o->res->error, sizeof(o->res->error),
				 "COMMIT sent but the destination did not acknowledge its resume (%s): this process "
				 "exits anyway (never two copies); downtime unknown", hop_last_error());
		return 0;
	}
	return hop__fail(HOP_EABORTED, "the destination closed the link after COMMIT without resuming (%s)",
			 hop_last_error());
}

/* ---- the list ----------------------------------------------------------------------------------- */
int hop__out_run(int fd, const struct hop_mig_params *p, hop_progress_fn progress, void *ctx,
		 struct hop_mig_result *res)
{
	struct out o = { .p = p, .progress = progress, .pctx = ctx, .res = res };
	int rc;

	memset(res, 0, sizeof(*res));
	o.t0 = hop__now_us();
	hop__conn_fd(&o.c, fd, p->timeout_ms ? (int)p->timeout_ms : hop__wire_timeout_ms(), "origin");
	o.fb = malloc(FRAME_TARGET + REC_HEADER + 4096 + 64);
	if (!o.fb) {
		rc = hop__fail(HOP_ENOMEM, "origin: frame buffer");
		goto fail;
	}
	report(&o, HOP_PH_CONNECT, 0, 0);
	if ((rc = o_hello(&o)) < 0)
		goto fail;
	trace("hello");
	if ((rc = o_index(&o)) < 0)
		goto fail;
	trace("index");
	if ((rc = o_track(&o)) < 0)
		goto fail;
	trace("track");
	if ((rc = hop__background("origin bulk and rounds", o_precopy, &o)) < 0)
		goto fail;
	if ((rc = o_freeze(&o)) < 0)
		goto fail;
	trace("freeze");
	if (hop__trace_on())
		fprintf(stderr, "hop: [origin] parked %llu us before this thread saw it\n",
			(unsigned long long)(hop__now_us() - o.freeze_us));
	if ((rc = o_final(&o)) < 0)
		goto fail;
	trace("final");
	if ((rc = o_digest(&o)) < 0)
		goto fail;
	trace("digest");
	report(&o, HOP_PH_COMMIT, 0, 0);
	if ((rc = o_commit(&o)) < 0)
		goto fail;
	/* committed: the program thread is parked and will exit (ctl.c);
	 * the tracker is stopped there, after the result went to `hop
	 * migrate`: its relay waits for it, and the clients with it */
	trace("commit");
	res->rounds = o.round;
	res->bytes = o.c.bytes_out;
	res->total_ms = (hop__now_us() - o.t0) / 1000;
	fprintf(stderr, "hop: committed after %u rounds, %llu bytes; downtime %llu us\n", o.round,
		(unsigned long long)res->bytes, (unsigned long long)res->downtime_us);
	hop__conn_close(&o.c);
	free(o.fb);
	return 0;

fail:
	res->err = rc;
	snprintf(res->error, sizeof(res->error), "%s", hop_last_error());
	hop__send_error(&o.c, rc, res->error);
	hop__conn_close(&o.c);
	hop__park_release(0); /* the program carries on, untouched */
	if (o.tracking)
		hop__track_stop();
	hop__heap_log(0);
	hop__heap_hold(0);
	hop__scan_free(o.scan);
	free(o.sent);
	free(o.dirty);
	free(o.pending);
	free(o.drops);
	free(o.fb);
	res->rounds = o.round;
	res->bytes = o.c.bytes_out;
	res->total_ms = (hop__now_us() - o.t0) / 1000;
	hop__status.phase = HOP_PH_IDLE;
	fprintf(stderr, "hop: migration aborted, the program continues: %s\n", res->error);
	return rc;
}
