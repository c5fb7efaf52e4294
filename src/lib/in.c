/* in.c -- the destination's side of a migration, as a list of steps.
 *
 * Runs on the program's own thread, parked at the first HOP_POINT it reached
 * after `hop receive` started it (runtime.c):
 *
 *   hello      agree on a version; tell the origin where we wait
 *   index      receive the origin's index and load bias; set up translation
 *   startup    remember the blocks our own start-up allocated
 *   phases     receive bulk, rounds and the final delta; translate each
 *              object as it arrives (FREEZE comes before the final delta)
 *   digest     finish translation, compare digests, say READY
 *   commit     wait for COMMIT; free start-up blocks nothing reaches; RESUMED
 *
 * and returns: the program continues after the same named point, with the
 * origin's state. Failures before FREEZE's data are provisional (the origin
 * read memory its program was writing; it will send it again), kept with
 * their bytes and retried as updates come; after FREEZE every failure is
 * real and ends the migration. Every count and length the origin sends is
 * checked against what the phase declared before anything is allocated.
 */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
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
#include "compat.h"
#include "index.h"
#include "thread.h"
#include "wire.h"
#include "xlate.h"

static void trace(const char *step)
{
	hop__trace("destination", step);
}

#define REC_HEADER (1 + HOP_OBJ_HEADER + 8 + 4)
#define DATA_MAX ((2u << 20) + 8192) /* a DATA frame is ~1 MiB; allow slack */

enum { REC_OBJ = 1, REC_RANGE = 2, REC_DROP = 3 };
enum { PH_BULK = 1, PH_ROUND = 2, PH_FINAL = 3 };

/* An object whose translation failed while the origin was running (or that
 * arrives in parts): its bytes, kept until a full, successful translation. */
struct held {
	struct hop_obj o;
	uint8_t *bytes;
	uint64_t have;   /* parts received so far (assembly) */
	int failed;      /* translation failed provisionally */
	char why[300];
};

struct in {
	struct hop_conn c;
	const char *point;  /* where we wait */
	const char *park;   /* where the origin parks: point, or its old name (HOP_POINT_RENAMED) */
	const struct hop_index *to;
	intptr_t to_bias;
	struct hop_index *from;
	int64_t from_bias;  /* a 64-bit origin's bias does not fit a 32-bit intptr_t */
	struct hop_xlate *x;
	struct hop_heap_ops heap;
	uintptr_t *startup; /* blocks of our own start-up */
	size_t nstartup, capstartup;
	size_t new_globals; /* ours the origin has no value for (an upgrade's) */
	struct held *held;
	size_t nheld, capheld;
	uint64_t held_bytes;
	int frozen, final_done;
	uint32_t origin_resumed;
	/* current phase */
	int phase;
	uint64_t decl_recs, decl_bytes, got_recs, got_bytes;
	uint64_t objects, failures;
	/* objects a RANGE update failed for while the origin ran: the origin sends
	 * them whole next time (listed in PHASE_ACK) */
	uint64_t *nack;
	size_t nnack, capnack;
	int nack_all;     /* too many to list: the origin resends everything */
};

#define NACK_MAX (1u << 20)
#define RESERVE_MAX (1u << 22) /* objects the bulk may make room for before they arrive */
#define WARM_BEFORE_ACK 4096   /* objects to hash: more (milliseconds) are hashed before PHASE_ACK */

/* ---- heap for translated blocks: the real one, with the "oom" fault point --------- */
static void *in_alloc(void *ctx, size_t n)
{
	if (hop__faults_on && hop__fault("oom"))
		return NULL;
	return hop__real_heap.alloc(hop__real_heap.ctx, n);
}

/* ---- step: hello -------------------------------------------------------------------- */
static int i_hello(struct in *in)
{
	struct hop_frame f;
	uint8_t b[8 + 128], arch, psize, be, ld;
	size_t pl = strlen(in->point);
	int rc;

	/* the origin talks when `hop migrate` hands it the link: no hurry */
	int saved = in->c.timeout_ms;
	in->c.timeout_ms = saved * 6;
	rc = hop__frame_expect(&in->c, HOP_F_HELLO, &f, 64);
	in->c.timeout_ms = saved;
	if (rc < 0)
		return rc;
	if (f.len != 16 || memcmp(f.payload, "hopm", 4) != 0)
		return hop__fail(HOP_EPROTO, "HELLO: not a hop origin");
	uint8_t lo = f.payload[4], hi = f.payload[5];
	if (lo > HOP_PROTO_VERSION || hi < HOP_PROTO_VERSION) {
		rc = hop__fail(HOP_EPROTO,
			       "origin speaks protocol versions %u..%u, we speak %u: build both sides with the same hop",
			       lo, hi, HOP_PROTO_VERSION);
		hop__send_error(&in->c, rc, hop_last_error());
		return rc;
	}
	fprintf(stderr, "hop: receiving from a %s origin (%u-byte pointers, %s endian), waiting at HOP_POINT(%s)\n",
		hop__arch_name(f.payload[6]), f.payload[7], f.payload[8] ? "big" : "little", in->point);
	if (pl >= 128)
		return hop__fail(HOP_EINVAL, "point name too long: %s", in->point);
	hop__native_target(&arch, &psize, &be, &ld);
	b[0] = HOP_PROTO_VERSION;
	b[1] = arch;
	b[2] = psize;
	b[3] = be;
	b[4] = ld;
	hop__put16(b + 5, (uint16_t)pl);
	memcpy(b + 7, in->point, pl);
	return hop__frame_send(&in->c, HOP_F_HELLO_ACK, 0, b, 7 + pl);
}

/* ---- step: index -------------------------------------------------------------------- */
static int i_index(struct in *in)
{
	struct hop_frame f;
	int rc = hop__frame_expect(&in->c, HOP_F_INDEX, &f, HOP_FRAME_MAX);
	if (rc < 0)
		return rc;
	if (f.len < 8)
		return hop__fail(HOP_EPROTO, "INDEX: %u bytes", f.len);
	in->from_bias = (int64_t)hop__get64(f.payload);
	if ((rc = hop__index_decode(f.payload + 8, f.len - 8, &in->from)) < 0)
		return rc;
	if ((rc = hop__self_index(&in->to, &in->to_bias)) < 0)
		return rc;
	in->heap = hop__real_heap;
	in->heap.alloc = in_alloc;
	if ((rc = hop__xlate_new(in->from, in->from_bias, in->to, in->to_bias, &in->heap, &in->x)) < 0)
		return rc;
	/* another version of the program (an upgrade): refuse now, before the
	 * origin freezes, what `hop check` would refuse (compat.c) */
	if ((rc = hop__compat_check(in->from, in->to, in->point, &in->park, &in->new_globals)) < 0) {
		hop__send_error(&in->c, rc, hop_last_error());
		return rc;
	}
	/* INDEX_OK names the point the origin parks at: ours, or the old name
	 * of ours in the origin's version */
	uint8_t b[2 + 128];
	size_t pl = strlen(in->park);
	if (pl >= 128)
		return hop__fail(HOP_EINVAL, "point name too long: %s", in->park);
	hop__put16(b, (uint16_t)pl);
	memcpy(b + 2, in->park, pl);
	return hop__frame_send(&in->c, HOP_F_INDEX_OK, 0, b, 2 + pl);
}

/* ---- step: start-up blocks -------------------------------------------------------------- */
static int note_block(void *ctx, uintptr_t start, size_t size)
{
	struct in *in = ctx;
	(void)size;
	if (in->nstartup == in->capstartup) {
		size_t cap = in->capstartup ? in->capstartup * 2 : 256;
		uintptr_t *p = realloc(in->startup, cap * sizeof(*p)); /* libc's heap: runtime thread mode */
		if (!p)
			return 1;
		in->startup = p;
		in->capstartup = cap;
	}
	in->startup[in->nstartup++] = start;
	return 0;
}

static int i_startup(struct in *in)
{
	if (hop__heap_foreach(note_block, in) != 0)
		return hop__fail(HOP_ENOMEM, "destination: listing start-up blocks");
	return 0;
}

/* ---- held objects ---------------------------------------------------------------------------- */
static struct held *held_find(struct in *in, uint64_t addr)
{
	for (size_t i = 0; i < in->nheld; i++)
		if (in->held[i].o.addr == addr)
			return &in->held[i];
	return NULL;
}

static void held_remove(struct in *in, struct held *h)
{
	in->held_bytes -= h->o.size;
	free(h->bytes);
	*h = in->held[--in->nheld];
}

static struct held *held_new(struct in *in, const struct hop_obj *o)
{
	/* bounded: never more than the phases declared */
	if (o->size > in->decl_bytes + in->held_bytes) {
		hop__fail(HOP_EPROTO, "object of %llu bytes exceeds what the phase declared",
			  (unsigned long long)o->size);
		return NULL;
	}
	if (in->nheld == in->capheld) {
		size_t cap = in->capheld ? in->capheld * 2 : 16;
		struct held *p = realloc(in->held, cap * sizeof(*p));
		if (!p)
			return NULL;
		in->held = p;
		in->capheld = cap;
	}
	struct held *h = &in->held[in->nheld];
	memset(h, 0, sizeof(*h));
	h->o = *o;
	h->bytes = malloc(o->size ? o->size : 1);
	if (!h->bytes) {
		hop__fail(HOP_ENOMEM, "destination: %llu bytes", (unsigned long long)o->size);
		return NULL;
	}
	in->nheld++;
	in->held_bytes += o->size;
	return h;
}

/* Translate a whole object; a failure before the freeze is kept for later. */
static int translate(struct in *in, const struct hop_obj *o, const uint8_t *bytes, struct held *h)
{
	int rc = hop__xlate_object(in->x, o, bytes);
	in->objects++;
	if (rc == 0) {
		if (h)
			held_remove(in, h);
		return 0;
	}
	if (in->frozen)
		return rc;
	in->failures++;
	if (!h) {
		if (!(h = held_new(in, o)))
			return HOP_ENOMEM;
		memcpy(h->bytes, bytes, o->size);
		h->have = o->size;
	}
	h->failed = 1;
	snprintf(h->why, sizeof(h->why), "%s", hop_last_error());
	return 0;
}

/* ---- records ----------------------------------------------------------------------------------- */
static int rec_data(struct in *in, int kind, struct hop_rd *r)
{
	struct hop_obj o;
	const uint8_t *hdr = hop__rd_take(r, HOP_OBJ_HEADER);
	uint64_t off = hop__rd64(r);
	uint32_t len = hop__rd32(r);
	const uint8_t *bytes = hop__rd_take(r, len);
	int rc;

	if (r->bad)
		return hop__fail(HOP_EPROTO, "DATA: truncated record");
	if ((rc = hop__obj_decode(hdr, &o)) < 0)
		return rc;
	if (off > o.size || len > o.size - off)
		return hop__fail(HOP_EPROTO, "DATA: bytes [%llu, +%u) outside an object of %llu bytes",
				 (unsigned long long)off, len, (unsigned long long)o.size);
	in->got_bytes += len;
	if (in->got_bytes > in->decl_bytes)
		return hop__fail(HOP_EPROTO, "DATA: more bytes than the phase declared (%llu)",
				 (unsigned long long)in->decl_bytes);
	struct held *h = held_find(in, o.addr);
	if (kind == REC_OBJ) {
		if (off == 0 && len == o.size) /* the common case: one piece, no copy */
			return translate(in, &o, bytes, h);
		if (h && (h->o.size != o.size || h->o.type != o.type || h->o.count != o.count)) {
			held_remove(in, h);
			h = NULL;
		}
		if (!h && !(h = held_new(in, &o)))
			return HOP_ENOMEM;
		memcpy(h->bytes + off, bytes, len);
		if (off == 0)
			h->have = 0;
		h->have += len;
		if (h->have < o.size)
			return 0; /* more parts to come */
		return translate(in, &o, h->bytes, h);
	}
	/* RANGE: an update of an object we have */
	if (h) {
		if (h->o.size != o.size)
			return hop__fail(HOP_EPROTO, "DATA: range of 0x%llx with a new size", (unsigned long long)o.addr);
		memcpy(h->bytes + off, bytes, len);
		if (h->failed && h->have == o.size)
			return translate(in, &o, h->bytes, h);
		return 0;
	}
	rc = hop__xlate_range(in->x, &o, off, bytes, len);
	if (rc < 0 && !in->frozen) {
		/* a torn value: the object may now be half updated; ask for it whole
		 * (its page need not be written again, so nothing else would resend it) */
		in->failures++;
		rc = 0;
		if (in->nnack == in->capnack && !in->nack_all) {
			size_t cap = in->capnack ? in->capnack * 2 : 64;
			uint64_t *p = cap <= NACK_MAX ? realloc(in->nack, cap * sizeof(*p)) : NULL;
			if (p) {
				in->nack = p;
				in->capnack = cap;
			} else {
				in->nack_all = 1;
			}
		}
		if (!in->nack_all)
			in->nack[in->nnack++] = o.addr;
	}
	return rc;
}

/* Skip one record of r (read as on_data reads it); its object's origin
 * address in *addr (0 for none). Only to look ahead: on_data checks. */
static void rec_skip(struct hop_rd *r, uint64_t *addr)
{
	uint8_t kind = hop__rd8(r);
	*addr = 0;
	if (kind == REC_DROP) {
		*addr = hop__rd64(r);
		return;
	}
	const uint8_t *hdr = hop__rd_take(r, HOP_OBJ_HEADER);
	hop__rd64(r);
	uint32_t len = hop__rd32(r);
	hop__rd_take(r, len);
	if (hdr && hdr[0] != HOP_OBJ_GLOBAL)
		*addr = hop__get64(hdr + 5);
}

/* Records are looked up this many ahead of their translation */
#define PREFETCH_AHEAD 6

static int on_data(struct in *in, const struct hop_frame *f)
{
	struct hop_rd r, ahead;
	uint64_t a;
	int rc;
	if (!in->phase)
		return hop__fail(HOP_EPROTO, "DATA outside a phase");
	hop__rd_init(&r, f->payload, f->len);
	hop__rd_init(&ahead, f->payload, f->len);
	for (int i = 0; i < PREFETCH_AHEAD && hop__rd_left(&ahead) && !ahead.bad; i++) {
		rec_skip(&ahead, &a);
		hop__xlate_prefetch(in->x, a);
	}
	while (hop__rd_left(&r)) {
		if (hop__rd_left(&ahead) && !ahead.bad) {
			rec_skip(&ahead, &a);
			hop__xlate_prefetch(in->x, a);
		}
		uint8_t kind = hop__rd8(&r);
		if (++in->got_recs > in->decl_recs)
			return hop__fail(HOP_EPROTO, "DATA: more records than the phase declared (%llu)",
					 (unsigned long long)in->decl_recs);
		if (kind == REC_DROP) {
			uint64_t addr = hop__rd64(&r);
			if (r.bad)
				return hop__fail(HOP_EPROTO, "DATA: truncated record");
			struct held *h = held_find(in, addr);
			if (h)
				held_remove(in, h);
			rc = hop__xlate_drop(in->x, addr);
			if (rc < 0 && rc != HOP_ENOENT)
				return rc;
			continue;
		}
		if (kind != REC_OBJ && kind != REC_RANGE)
			return hop__fail(HOP_EPROTO, "DATA: record kind %u", kind);
		if ((rc = rec_data(in, kind, &r)) < 0)
			return rc;
	}
	return 0;
}

static int on_phase(struct in *in, const struct hop_frame *f)
{
	if (in->phase)
		return hop__fail(HOP_EPROTO, "PHASE inside a phase");
	if (f->len != 21)
		return hop__fail(HOP_EPROTO, "PHASE: %u bytes", f->len);
	int kind = f->payload[0];
	if (kind < PH_BULK || kind > PH_FINAL || (kind == PH_FINAL) != in->frozen || in->final_done)
		return hop__fail(HOP_EPROTO, "PHASE %d out of order", kind);
	in->phase = kind;
	in->decl_recs = hop__get64(f->payload + 5);
	in->decl_bytes = hop__get64(f->payload + 13);
	in->got_recs = in->got_bytes = 0;
	if (in->decl_bytes > ((uint64_t)1 << 40))
		return hop__fail(HOP_EPROTO, "PHASE declares %llu bytes", (unsigned long long)in->decl_bytes);
	/* the bulk's records are (about) every object: room for them in the address
	 * maps now rather than rehashing them all as they grow. A hint, bounded so
	 * that a declaration alone cannot make us allocate much (the maps grow
	 * past it as objects really arrive); without the room they grow as before. */
	if (kind == PH_BULK)
		(void)hop__xlate_reserve(in->x, in->decl_recs < RESERVE_MAX ? (uint32_t)in->decl_recs : RESERVE_MAX);
	return 0;
}

static int on_phase_end(struct in *in)
{
	uint8_t b[20];
	if (!in->phase)
		return hop__fail(HOP_EPROTO, "PHASE_END outside a phase");
	if (in->got_recs != in->decl_recs || in->got_bytes != in->decl_bytes)
		return hop__fail(HOP_EPROTO, "phase declared %llu records/%llu bytes, got %llu/%llu",
				 (unsigned long long)in->decl_recs, (unsigned long long)in->decl_bytes,
				 (unsigned long long)in->got_recs, (unsigned long long)in->got_bytes);
	if (in->phase == PH_FINAL)
		in->final_done = 1;
	/* hashing that takes long is done BEFORE acknowledging: the whole
	 * arrived state after the bulk, or everything again when the kept
	 * hashes cannot be trusted (xlate.c come_back). Overlapped with the
	 * origin's next round, it would still run when the origin freezes after
	 * a short round, i.e. in the pause, and the origin's stop rule would not
	 * see it (1M keys: 13 s of hashing left at the switch after the bulk;
	 * 1 s at 300k when a block came back of another size in the last round) */
	int warmed = in->phase == PH_BULK ||
		     (in->phase == PH_ROUND && hop__xlate_digest_pending(in->x) > WARM_BEFORE_ACK);
	if (warmed) {
		hop__xlate_settle(in->x);
		hop__xlate_digest_warm(in->x);
	}
	in->phase = 0;
	hop__put64(b, in->objects);
	hop__put64(b + 8, in->failures);
	/* then the objects to resend whole: count u32 (0xffffffff: all), origin addresses u64 */
	uint8_t *l = NULL;
	size_t n = in->nack_all ? 0 : in->nnack;
	hop__put32(b + 16, in->nack_all ? 0xffffffffu : (uint32_t)n);
	if (n && !(l = malloc(n * 8)))
		return hop__fail(HOP_ENOMEM, "destination: resend list");
	for (size_t i = 0; i < n; i++)
		hop__put64(l + 8 * i, in->nack[i]);
	struct iovec iov[2] = { { b, sizeof(b) }, { l, n * 8 } };
	int rc = hop__frame_sendv(&in->c, HOP_F_PHASE_ACK, 0, iov, n ? 2 : 1);
	free(l);
	in->nnack = 0;
	in->nack_all = 0;
	/* while the origin collects its next delta, hash what this phase changed,
	 * so the digest at the switch costs only the final delta (a failure here
	 * is provisional: those objects are hashed again later) */
	if (rc == 0 && !in->final_done && !warmed) {
		hop__xlate_settle(in->x); /* parked pointers whose target arrived */
		hop__xlate_digest_warm(in->x);
	}
	return rc;
}

static int on_freeze(struct in *in, const struct hop_frame *f)
{
	struct hop_rd r;
	if (in->frozen || in->phase)
		return hop__fail(HOP_EPROTO, "FREEZE out of order");
	hop__rd_init(&r, f->payload, f->len);
	in->origin_resumed = hop__rd32(&r);
	uint16_t n = hop__rd16(&r);
	const uint8_t *name = hop__rd_take(&r, n);
	if (r.bad || hop__rd_left(&r) || in->origin_resumed > 1000000)
		return hop__fail(HOP_EPROTO, "FREEZE: malformed");
	if (n != strlen(in->park) || memcmp(name, in->park, n) != 0)
		return hop__fail(HOP_EPROTO, "origin froze at HOP_POINT(%.*s), we wait at HOP_POINT(%s) and expected %s",
				 (int)n, (const char *)name, in->point, in->park);
	in->frozen = 1;
	return 0;
}

/* ---- step: phases until the digest ----------------------------------------------------------- */
static int frames(struct in *in, int one_phase);

/* The rest of a phase before the freeze: its DATA, PHASE_END and what
 * follows the acknowledgement, at background priority (bg.c) -- the origin
 * runs meanwhile. FREEZE comes between phases: this program's thread reads
 * it at its own priority, and the final phase and all after it run there. */
static int phase_rest(void *arg)
{
	return frames(arg, 1);
}

static int i_phases(struct in *in)
{
	return frames(in, 0);
}

/* Frames until the final phase ends, or (one_phase) until this phase ends. */
static int frames(struct in *in, int one_phase)
{
	struct hop_frame f;
	int rc, timeout = in->c.timeout_ms;
	for (;;) {
		/* between phases, before the freeze, the origin scans (its whole
		 * state before the bulk: seconds for a large heap on a busy
		 * machine) while its program runs: wait longer then, as for HELLO */
		in->c.timeout_ms = !in->phase && !in->frozen && timeout > 0 ? timeout * 6 : timeout;
		rc = hop__frame_recv(&in->c, &f, DATA_MAX);
		in->c.timeout_ms = timeout;
		if (rc < 0)
			return rc;
		switch (f.type) {
		case HOP_F_PHASE:
			rc = on_phase(in, &f);
			if (rc == 0 && !in->frozen && !one_phase)
				rc = hop__background("destination phase", phase_rest, in);
			break;
		case HOP_F_DATA:
			rc = on_data(in, &f);
			break;
		case HOP_F_PHASE_END:
			rc = on_phase_end(in);
			if (rc == 0 && (in->final_done || one_phase))
				return 0; /* the origin computes its digest meanwhile */
			break;
		case HOP_F_FREEZE:
			rc = on_freeze(in, &f);
			break;
		case HOP_F_FDS: /* the origin's descriptors, rebuilt at their numbers (fds.c) */
			rc = in->frozen ? hop__fds_thaw(f.payload, f.len, &in->c.fd)
					: hop__fail(HOP_EPROTO, "FDS before FREEZE");
			break;
		case HOP_F_ERROR: {
			struct hop_rd r;
			hop__rd_init(&r, f.payload, f.len);
			hop__rd32(&r);
			size_t n = hop__rd_left(&r);
			return hop__fail(HOP_EABORTED, "the origin aborted: %.*s", (int)n, (const char *)hop__rd_take(&r, n));
		}
		default:
			return hop__fail(HOP_EPROTO, "unexpected frame %s", hop__frame_name(f.type));
		}
		if (rc < 0)
			return rc;
	}
}

/* ---- step: digest ---------------------------------------------------------------------------------- */
static int i_digest(struct in *in)
{
	uint8_t ours[HOP_DIGEST_LEN];
	struct hop_frame f;
	int rc;

	/* whatever still failed is real now: the origin is frozen and sent all */
	for (size_t i = 0; i < in->nheld; i++) {
		struct held *h = &in->held[i];
		if (h->have < h->o.size)
			return hop__fail(HOP_EPROTO, "object at 0x%llx arrived incomplete", (unsigned long long)h->o.addr);
		if ((rc = hop__xlate_object(in->x, &h->o, h->bytes)) < 0)
			return rc;
	}
	trace("retry");
	if ((rc = hop__xlate_finish(in->x)) < 0)
		return rc;
	trace("finish");
	if ((rc = hop__xlate_digest(in->x, ours)) < 0)
		return rc;
	trace("hash");
	if (hop__fault("digest"))
		ours[0] ^= 0xa5;
	if ((rc = hop__frame_expect(&in->c, HOP_F_DIGEST, &f, HOP_DIGEST_LEN)) < 0)
		return rc;
	if (f.len != HOP_DIGEST_LEN || memcmp(ours, f.payload, HOP_DIGEST_LEN) != 0)
		return hop__fail(HOP_EDIGEST, "state digests differ: the translated state is not the origin's");
	return hop__frame_send(&in->c, HOP_F_READY, 0, ours, HOP_DIGEST_LEN);
}

/* ---- step: commit ------------------------------------------------------------------------------------- */
static int i_commit(struct in *in)
{
	struct hop_frame f;
	int rc = hop__frame_expect(&in->c, HOP_F_COMMIT, &f, 0);
	if (rc < 0)
		return rc;
	return 0;
}

/* Free the blocks our start-up allocated that the new state does not reach.
 * Every global the origin has a value for was overwritten with it, and the
 * origin's pointers lead to the origin's blocks (allocated anew here), never
 * to ours: so when every global of ours came from the origin -- two builds
 * of one program -- nothing reaches a start-up block and all are freed
 * without looking. Globals an upgrade adds keep our start-up values: then a
 * scan of our whole state from our globals says which blocks they reach
 * (inside the pause, as long as a full scan). When the scan cannot say, the
 * blocks are left allocated, and we say so. */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void i_cleanup(struct in *in)
{
	struct hop_scan *s = NULL;
	size_t freed = 0;
	if (!in->nstartup)
		return;
	if (in->new_globals == 0) {
		for (size_t i = 0; i < in->nstartup; i++)
			hop__free((void *)in->startup[i]);
		fprintf(stderr, "hop: freed all %zu start-up blocks (every global came from the origin)\n",
			in->nstartup);
		return;
	}
	if (hop__scan_new(in->to, in->to_bias, NULL, &s) < 0 || hop__scan_all(s) < 0) {
		fprintf(stderr, "hop: %zu start-up blocks left allocated (cannot tell what reaches them: %s)\n",
			in->nstartup, hop_last_error());
		hop__scan_free(s);
		return;
	}
	size_t n = hop__scan_count(s), nr = 0;
	uint64_t *reached = malloc((n ? n : 1) * sizeof(*reached));
	if (!reached) {
		hop__scan_free(s);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct hop_obj *o = hop__scan_obj(s, i);
		if (o && o->kind == HOP_OBJ_BLOCK)
			reached[nr++] = o->addr;
	}
	hop__scan_free(s);
	qsort(reached, nr, sizeof(*reached), cmp_u64);
	for (size_t i = 0; i < in->nstartup; i++) {
		uint64_t a = in->startup[i];
		if (!bsearch(&a, reached, nr, sizeof(*reached), cmp_u64)) {
			hop__free((void *)in->startup[i]);
			freed++;
		}
	}
	free(reached);
	if (freed)
		fprintf(stderr, "hop: freed %zu of %zu start-up blocks the new state does not reach\n", freed,
			in->nstartup);
}

/* The translator's tables are as large as the state (tens of ms to free for
 * 300k objects): a thread of ours frees them, so the program resumes at
 * once. They are hop's runtime memory (libc's heap), never the program's,
 * except the memory of dropped blocks kept for blocks that did not come
 * back (xlate.c come_back), which goes back to the program's heap.
 * The thread is started before the phases and waits: starting one takes
 * 0.2-1.3 ms on a busy machine, which at the switch would be pause. */
static struct {
	pthread_t th;
	sem_t go;
	struct in *job; /* what to free; NULL: the migration failed, just end */
	int started;
} rel;

static void release_free(struct in *in)
{
	hop__xlate_free(in->x);
	hop__index_free(in->from);
	free(in->startup);
	free(in->held);
	free(in->nack);
}

static void *release_main(void *arg)
{
	(void)arg;
	hop__heap_runtime_thread(1);
	/* SCHED_BATCH: woken at the switch, it must not preempt the program's
	 * thread that woke it (a wakeup onto the same CPU did: 2.8 ms of freeing
	 * before RESUMED left); at normal weight all the same, so a libc heap
	 * lock it holds is never stuck behind a starved thread */
	struct sched_param sp = { 0 };
	pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
	while (sem_wait(&rel.go) < 0)
		; /* EINTR */
	if (rel.job) {
		release_free(rel.job);
		free(rel.job);
	}
	sem_destroy(&rel.go);
	return NULL;
}

static void release_start(void)
{
	pthread_attr_t a;
	if (sem_init(&rel.go, 0, 0) < 0)
		return;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	rel.started = hop__thread_create(&rel.th, &a, release_main, NULL) == 0;
	pthread_attr_destroy(&a);
	if (!rel.started)
		sem_destroy(&rel.go);
}

/* Hands in's tables to the waiting thread (in == NULL: nothing to free, the
 * thread just ends); without the thread, or memory for the copy, frees them
 * here. */
static void release(struct in *in)
{
	struct in *copy = in && rel.started ? malloc(sizeof(*copy)) : NULL;
	if (copy)
		*copy = *in;
	else if (in)
		release_free(in);
	if (rel.started) {
		rel.job = copy;
		rel.started = 0;
		sem_post(&rel.go);
	}
}

int hop__in_run(int fd, const char *point)
{
	struct in in = { .point = point };
	int rc;

	hop__conn_fd(&in.c, fd, hop__wire_timeout_ms(), "destination");
	if ((rc = i_hello(&in)) < 0)
		goto fail;
	trace("hello");
	if ((rc = i_index(&in)) < 0)
		goto fail;
	trace("index");
	if ((rc = i_startup(&in)) < 0)
		goto fail;
	trace("startup");
	release_start();
	if ((rc = i_phases(&in)) < 0)
		goto fail;
	trace("phases");
	if ((rc = i_digest(&in)) < 0)
		goto fail;
	trace("digest");
	if ((rc = i_commit(&in)) < 0)
		goto fail;
	trace("commit");
	/* committed: the program is ours now */
	i_cleanup(&in);
	/* the freeing thread is woken before RESUMED, not after: the origin's
	 * downtime_us ends when RESUMED arrives, so what we do after sending it
	 * would be a pause nobody measures; after it only close(2) is left */
	release(&in);
	trace("freed");
	/* resume only once RESUMED is handed to the kernel: if it cannot be, the
	 * origin will see the link close without it and carry on itself */
	uint64_t sent = in.c.bytes_out; /* a link cut after RESUMED left still counts as sent */
	if ((rc = hop__frame_send(&in.c, HOP_F_RESUMED, 0, NULL, 0)) < 0 && in.c.bytes_out == sent)
		goto fail;
	hop__conn_close(&in.c);
	fprintf(stderr, "hop: resumed at HOP_POINT(%s), migration %u\n", point, in.origin_resumed + 1);
	return (int)in.origin_resumed + 1;

fail:
	release(NULL);
	hop__send_error(&in.c, rc, hop_last_error());
	hop__conn_close(&in.c);
	return rc;
}
