/* cmd.c -- kvd's commands: strings, lists, expiry, server commands.
 *
 * Each command checks its arguments, does its work on the keyspace (db.c),
 * replies (proto.c), and, if it changed anything, feeds the AOF the command
 * that repeats the change: relative expiries are logged as absolute times
 * (SET ... PXAT, PEXPIREAT) so a replay later gives the same deadline.
 * Errors are Redis's own texts, so clients and scripts that match on them
 * keep working.
 */
#include "cmd.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aof.h"
#include "db.h"
#include "hop.h"
#include "proto.h"

#define E_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define E_NOTINT "ERR value is not an integer or out of range"
#define E_SYNTAX "ERR syntax error"

typedef void cmd_fn(struct kvd_client *c, int argc, const struct kvd_arg *argv);

struct kvd_cmd {
	const char *name; /* lower case */
	cmd_fn *fn;
	int arity;        /* > 0: exactly; < 0: at least -arity (name included) */
};

static int get_int(struct kvd_client *c, const struct kvd_arg *a, int64_t *v)
{
	if (kvd_str2ll(a->p, a->len, v))
		return 1;
	reply_error(c, E_NOTINT);
	return 0;
}

/* The entry for key if it holds `type` (or is missing: NULL, *ok = 1);
 * wrong type: error replied, *ok = 0. */
static struct kvd_entry *lookup_typed(struct kvd_client *c, const struct kvd_arg *key, int type, int *ok)
{
	struct kvd_entry *e = db_lookup(key->p, key->len);
	*ok = 1;
	if (e && e->type != type) {
		reply_error(c, E_WRONGTYPE);
		*ok = 0;
		return NULL;
	}
	return e;
}

/* ---- strings ------------------------------------------------------------------ */

static void cmd_get(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	int ok;
	struct kvd_entry *e = lookup_typed(c, &argv[1], KVD_STR, &ok);
	if (!ok)
		return;
#ifdef KVD_V2
	if (e)
		e->hits++;
#endif
	if (e)
		reply_bulk(c, e->str, e->slen);
	else
		reply_nil(c);
}

#ifdef KVD_V2
/* HITS key: how many GETs the key served since v2 runs (a live upgrade from
 * v1 brings the keys with 0; tests/upgrade/t_upgrade_kvd.sh) */
static void cmd_hits(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	struct kvd_entry *e = db_lookup(argv[1].p, argv[1].len);
	reply_int(c, e ? (int64_t)e->hits : 0);
}
#endif

/* now + v units of `unit` ms, or absolute v * unit; 0 if out of range. */
static int64_t expire_at(int64_t v, int64_t unit, int absolute)
{
	int64_t base = absolute ? 0 : kvd_now_ms();
	if (v > (INT64_MAX - base) / unit || v < INT64_MIN / unit)
		return 0;
	return base + v * unit;
}

static void cmd_set(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	int nx = 0, xx = 0, get = 0, keepttl = 0, have_exp = 0, created;
	int64_t when = 0;
	struct kvd_entry *e;

	for (int i = 3; i < argc; i++) {
		const struct kvd_arg *a = &argv[i];
		int64_t unit = 0, absolute = 0, v;
		if (kvd_eq(a->p, a->len, "nx") && !xx)
			nx = 1;
		else if (kvd_eq(a->p, a->len, "xx") && !nx)
			xx = 1;
		else if (kvd_eq(a->p, a->len, "get"))
			get = 1;
		else if (kvd_eq(a->p, a->len, "keepttl") && !have_exp)
			keepttl = 1;
		else if (kvd_eq(a->p, a->len, "ex"))
			unit = 1000;
		else if (kvd_eq(a->p, a->len, "px"))
			unit = 1;
		else if (kvd_eq(a->p, a->len, "exat"))
			unit = 1000, absolute = 1;
		else if (kvd_eq(a->p, a->len, "pxat"))
			unit = 1, absolute = 1;
		else
			return reply_error(c, E_SYNTAX);
		if (!unit)
			continue;
		if (have_exp || keepttl || i + 1 >= argc)
			return reply_error(c, E_SYNTAX);
		if (!get_int(c, &argv[++i], &v))
			return;
		if (v <= 0 || (when = expire_at(v, unit, (int)absolute)) <= 0)
			return reply_error(c, "ERR invalid expire time in 'set' command");
		have_exp = 1;
	}
	e = db_lookup(argv[1].p, argv[1].len);
	if (get && e && e->type != KVD_STR)
		return reply_error(c, E_WRONGTYPE);
	if (get) {
		if (e)
			reply_bulk(c, e->str, e->slen);
		else
			reply_nil(c);
	}
	if ((nx && e) || (xx && !e)) {
		if (!get)
			reply_nil(c);
		return;
	}
	e = db_lookup_or_add(argv[1].p, argv[1].len, &created);
	db_set_str(e, argv[2].p, argv[2].len);
	if (have_exp)
		db_set_expire(e, when);
	else if (!keepttl)
		db_set_expire(e, 0);
	if (!get)
		reply_status(c, "OK");

	/* the AOF gets SET key value [PXAT when | KEEPTTL] */
	char buf[24];
	struct kvd_arg out[5] = { { "SET", 3 }, argv[1], argv[2], { "PXAT", 4 }, { buf, 0 } };
	int n = 3;
	if (have_exp) {
		out[4].len = (uint32_t)kvd_ll2str(buf, when);
		n = 5;
	} else if (keepttl) {
		out[3].p = "KEEPTTL";
		out[3].len = 7;
		n = 4;
	}
	aof_feed(n, out);
}

static void incr_by(struct kvd_client *c, const struct kvd_arg *key, int64_t by,
		    int argc, const struct kvd_arg *argv)
{
	int ok, created;
	int64_t v = 0;
	char buf[24];
	struct kvd_entry *e = lookup_typed(c, key, KVD_STR, &ok);

	if (!ok)
		return;
	if (e && !kvd_str2ll(e->str, e->slen, &v))
		return reply_error(c, E_NOTINT);
	if ((by > 0 && v > INT64_MAX - by) || (by < 0 && v < INT64_MIN - by))
		return reply_error(c, "ERR increment or decrement would overflow");
	v += by;
	if (!e)
		e = db_lookup_or_add(key->p, key->len, &created);
	db_set_str(e, buf, (uint32_t)kvd_ll2str(buf, v)); /* the expiry stays */
	reply_int(c, v);
	aof_feed(argc, argv);
}

static void cmd_incr(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	incr_by(c, &argv[1], 1, argc, argv);
}

static void cmd_decr(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	incr_by(c, &argv[1], -1, argc, argv);
}

static void cmd_incrby(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	int64_t by;
	if (get_int(c, &argv[2], &by))
		incr_by(c, &argv[1], by, argc, argv);
}

static void cmd_decrby(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	int64_t by;
	if (!get_int(c, &argv[2], &by))
		return;
	if (by == INT64_MIN)
		return reply_error(c, "ERR decrement would overflow");
	incr_by(c, &argv[1], -by, argc, argv);
}

static void cmd_mget(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	reply_array(c, argc - 1);
	for (int i = 1; i < argc; i++) {
		struct kvd_entry *e = db_lookup(argv[i].p, argv[i].len);
		if (e && e->type == KVD_STR)
			reply_bulk(c, e->str, e->slen);
		else
			reply_nil(c);
	}
}

static void cmd_mset(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	int created;
	if (argc % 2 == 0)
		return reply_error(c, "ERR wrong number of arguments for 'mset' command");
	for (int i = 1; i < argc; i += 2) {
		struct kvd_entry *e = db_lookup_or_add(argv[i].p, argv[i].len, &created);
		db_set_str(e, argv[i + 1].p, argv[i + 1].len);
		db_set_expire(e, 0);
	}
	reply_status(c, "OK");
	aof_feed(argc, argv);
}

static void cmd_strlen(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	int ok;
	struct kvd_entry *e = lookup_typed(c, &argv[1], KVD_STR, &ok);
	if (ok)
		reply_int(c, e ? e->slen : 0);
}

/* ---- keys and expiry ---------------------------------------------------------- */

static void cmd_del(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	int64_t n = 0;
	for (int i = 1; i < argc; i++)
		n += db_delete(argv[i].p, argv[i].len);
	reply_int(c, n);
	if (n)
		aof_feed(argc, argv);
}

static void cmd_exists(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	int64_t n = 0;
	for (int i = 1; i < argc; i++)
		n += db_lookup(argv[i].p, argv[i].len) != NULL;
	reply_int(c, n);
}

static void cmd_type(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	struct kvd_entry *e = db_lookup(argv[1].p, argv[1].len);
	reply_status(c, !e ? "none" : e->type == KVD_LIST ? "list" : "string");
}

static void expire_generic(struct kvd_client *c, const struct kvd_arg *argv, int64_t unit, int absolute,
			   const char *name)
{
	int64_t v, when;
	char buf[24];
	struct kvd_entry *e;

	if (!get_int(c, &argv[2], &v))
		return;
	when = expire_at(v, unit, absolute);
	if (when == 0 && v != 0)
		return reply_error(c, "ERR invalid expire time in '%s' command", name);
	e = db_lookup(argv[1].p, argv[1].len);
	if (!e)
		return reply_int(c, 0);
	if (when <= kvd_now_ms() && !kvd_db.loading) {
		/* a deadline already past deletes the key, as in Redis */
		db_delete(argv[1].p, argv[1].len);
		struct kvd_arg del[2] = { { "DEL", 3 }, argv[1] };
		aof_feed(2, del);
	} else {
		db_set_expire(e, when);
		struct kvd_arg out[3] = { { "PEXPIREAT", 9 }, argv[1], { buf, (uint32_t)kvd_ll2str(buf, when) } };
		aof_feed(3, out);
	}
	reply_int(c, 1);
}

static void cmd_expire(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	expire_generic(c, argv, 1000, 0, "expire");
}

static void cmd_pexpire(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	expire_generic(c, argv, 1, 0, "pexpire");
}

static void cmd_expireat(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	expire_generic(c, argv, 1000, 1, "expireat");
}

static void cmd_pexpireat(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	expire_generic(c, argv, 1, 1, "pexpireat");
}

static void ttl_generic(struct kvd_client *c, const struct kvd_arg *key, int ms)
{
	struct kvd_entry *e = db_lookup(key->p, key->len);
	int64_t left;
	if (!e)
		return reply_int(c, -2);
	if (!e->expire_ms)
		return reply_int(c, -1);
	left = e->expire_ms - kvd_now_ms();
	if (left < 0)
		left = 0;
	reply_int(c, ms ? left : (left + 500) / 1000);
}

static void cmd_ttl(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	ttl_generic(c, &argv[1], 0);
}

static void cmd_pttl(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	ttl_generic(c, &argv[1], 1);
}

static void cmd_persist(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	struct kvd_entry *e = db_lookup(argv[1].p, argv[1].len);
	if (!e || !e->expire_ms)
		return reply_int(c, 0);
	db_set_expire(e, 0);
	reply_int(c, 1);
	aof_feed(argc, argv);
}

/* ---- lists -------------------------------------------------------------------- */

static void push_generic(struct kvd_client *c, int argc, const struct kvd_arg *argv, int head)
{
	int ok, created;
	struct kvd_entry *e = lookup_typed(c, &argv[1], KVD_LIST, &ok);
	if (!ok)
		return;
	if (!e) {
		e = db_lookup_or_add(argv[1].p, argv[1].len, &created);
		e->type = KVD_LIST;
		e->list = list_new();
	}
	for (int i = 2; i < argc; i++)
		list_push(e->list, head, argv[i].p, argv[i].len);
	reply_int(c, e->list->len);
	aof_feed(argc, argv);
}

static void cmd_lpush(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	push_generic(c, argc, argv, 1);
}

static void cmd_rpush(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	push_generic(c, argc, argv, 0);
}

static void pop_generic(struct kvd_client *c, int argc, const struct kvd_arg *argv, int head)
{
	int ok;
	int64_t count = 1;
	struct kvd_entry *e;

	if (argc > 3)
		return reply_error(c, E_SYNTAX);
	if (argc == 3) {
		if (!kvd_str2ll(argv[2].p, argv[2].len, &count) || count < 0)
			return reply_error(c, "ERR value is out of range, must be positive");
	}
	e = lookup_typed(c, &argv[1], KVD_LIST, &ok);
	if (!ok)
		return;
	if (!e)
		return argc == 3 ? reply_raw(c, "*-1\r\n", 5) : reply_nil(c);
	if (count > e->list->len)
		count = e->list->len;
	if (argc == 3)
		reply_array(c, count);
	for (int64_t i = 0; i < count; i++) {
		struct kvd_lnode *n = list_pop(e->list, head);
		reply_bulk(c, n->data, n->len);
		list_node_free(n);
	}
	if (e->list->len == 0)
		db_delete(argv[1].p, argv[1].len);
	if (count)
		aof_feed(argc, argv);
}

static void cmd_lpop(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	pop_generic(c, argc, argv, 1);
}

static void cmd_rpop(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	pop_generic(c, argc, argv, 0);
}

static void cmd_llen(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	int ok;
	struct kvd_entry *e = lookup_typed(c, &argv[1], KVD_LIST, &ok);
	if (ok)
		reply_int(c, e ? e->list->len : 0);
}

static void cmd_lrange(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	int ok;
	int64_t start, stop, len;
	struct kvd_entry *e;
	struct kvd_lnode *n;

	if (!get_int(c, &argv[2], &start) || !get_int(c, &argv[3], &stop))
		return;
	e = lookup_typed(c, &argv[1], KVD_LIST, &ok);
	if (!ok)
		return;
	if (!e)
		return reply_array(c, 0);
	len = e->list->len;
	if (start < 0)
		start = len + start;
	if (stop < 0)
		stop = len + stop;
	if (start < 0)
		start = 0;
	if (start > stop || start >= len)
		return reply_array(c, 0);
	if (stop >= len)
		stop = len - 1;
	reply_array(c, stop - start + 1);
	for (n = list_index(e->list, start); start <= stop; start++, n = n->next)
		reply_bulk(c, n->data, n->len);
}

/* ---- server ------------------------------------------------------------------- */

static void cmd_ping(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	if (argc > 2)
		return reply_error(c, "ERR wrong number of arguments for 'ping' command");
	if (argc == 2)
		reply_bulk(c, argv[1].p, argv[1].len);
	else
		reply_status(c, "PONG");
}

static void cmd_echo(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	reply_bulk(c, argv[1].p, argv[1].len);
}

static void cmd_select(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	int64_t db;
	if (!kvd_str2ll(argv[1].p, argv[1].len, &db))
		return reply_error(c, E_NOTINT);
	if (db != 0)
		return reply_error(c, "ERR DB index is out of range");
	reply_status(c, "OK");
}

static void cmd_dbsize(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	reply_int(c, (int64_t)db_size());
}

static void cmd_flushall(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	if (argc > 2 || (argc == 2 && !kvd_eq(argv[1].p, argv[1].len, "sync") &&
			 !kvd_eq(argv[1].p, argv[1].len, "async")))
		return reply_error(c, E_SYNTAX);
	db_flush();
	reply_status(c, "OK");
	struct kvd_arg out[1] = { { "FLUSHALL", 8 } };
	aof_feed(1, out);
}

static void cmd_quit(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	reply_status(c, "OK");
	c->closing = 1;
}

static void cmd_shutdown(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	kvd_log("SHUTDOWN asked by client %llu", (unsigned long long)c->id);
	kvd.shutdown = 1;
	c->closing = 1;
}

/* COMMAND: redis-cli asks for the command docs in interactive mode; an empty
 * array means "no hints" and is enough. COUNT answers the table's size. */
static int ncommands; /* set by cmd_check_table() */

static void cmd_command(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	if (argc >= 2 && kvd_eq(argv[1].p, argv[1].len, "count"))
		return reply_int(c, ncommands);
	reply_array(c, 0);
}

/* CONFIG GET: the parameters a client may ask about (redis-benchmark reads
 * "save" and "appendonly" at start); glob patterns "*" and exact names only. */
static void cmd_config(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	char port[24], maxc[24];
	const char *fsync[] = { "no", "everysec", "always" };
	const char *params[][2] = {
		{ "save", "" },
		{ "appendonly", kvd.dir ? "yes" : "no" },
		{ "appendfsync", fsync[kvd.fsync_policy] },
		{ "port", port },
		{ "bind", kvd.bind },
		{ "dir", kvd.dir ? kvd.dir : "" },
		{ "maxclients", maxc },
		{ "databases", "1" },
	};
	int np = (int)(sizeof(params) / sizeof(params[0]));

	kvd_ll2str(port, kvd.port);
	kvd_ll2str(maxc, kvd.maxclients);
	if (kvd_eq(argv[1].p, argv[1].len, "resetstat") && argc == 2) {
		kvd.total_commands = kvd.total_connections = kvd.rejected_connections = 0;
		kvd.net_in = kvd.net_out = 0;
		return reply_status(c, "OK");
	}
	if (!kvd_eq(argv[1].p, argv[1].len, "get") || argc < 3)
		return reply_error(c, "ERR CONFIG subcommand must be GET or RESETSTAT in kvd");
	int match[8] = { 0 }, n = 0;
	for (int i = 2; i < argc; i++) {
		for (int j = 0; j < np; j++) {
			int all = argv[i].len == 1 && argv[i].p[0] == '*';
			if (!match[j] && (all || kvd_eq(argv[i].p, argv[i].len, params[j][0]))) {
				match[j] = 1;
				n++;
			}
		}
	}
	reply_array(c, 2 * n);
	for (int j = 0; j < np; j++)
		if (match[j]) {
			reply_cstr(c, params[j][0]);
			reply_cstr(c, params[j][1]);
		}
}

/* INFO: a text of "# Section" headers and "field:value" lines. */
struct textbuf {
	char *p;
	size_t len, cap;
};

static void tb_printf(struct textbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(struct textbuf *t, const char *fmt, ...)
{
	va_list ap;
	int n;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len)
			break;
		t->cap = t->cap * 2 + (size_t)(n > 0 ? n : 0);
		t->p = kvd_realloc(t->p, t->cap);
	}
	t->len += (size_t)n;
}

static const char *arch_name(void)
{
#if defined(__x86_64__)
	return "x86_64";
#elif defined(__i386__)
	return "i686";
#elif defined(__aarch64__)
	return "aarch64";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__powerpc__)
	return "powerpc";
#else
	return "unknown";
#endif
}

static int want(int argc, const struct kvd_arg *argv, const char *section)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (kvd_eq(argv[i].p, argv[i].len, section) || kvd_eq(argv[i].p, argv[i].len, "all") ||
		    kvd_eq(argv[i].p, argv[i].len, "everything") || kvd_eq(argv[i].p, argv[i].len, "default"))
			return 1;
	return 0;
}

static void cmd_info(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	struct textbuf t = { kvd_malloc(1024), 0, 1024 };
	int64_t now = kvd_now_ms();
	const uint16_t one = 1;

	if (want(argc, argv, "server"))
		tb_printf(&t,
			  "# Server\r\nredis_version:7.0.0\r\nkvd_version:0.1\r\nredis_mode:standalone\r\n"
			  "arch:%s\r\narch_bits:%d\r\nbyte_order:%s\r\nprocess_id:%d\r\ntcp_port:%d\r\n"
			  "uptime_in_seconds:%" PRId64 "\r\nhz:100\r\nexecutable_time_base:CLOCK_REALTIME\r\n\r\n",
			  arch_name(), (int)(sizeof(void *) * 8),
			  *(const uint8_t *)&one ? "little-endian" : "big-endian", (int)getpid(), kvd.port,
			  (now - kvd.start_ms) / 1000);
	if (want(argc, argv, "clients"))
		tb_printf(&t, "# Clients\r\nconnected_clients:%d\r\nmaxclients:%d\r\n\r\n", kvd.nclients,
			  kvd.maxclients);
	if (want(argc, argv, "persistence"))
		tb_printf(&t,
			  "# Persistence\r\nloading:0\r\naof_enabled:%d\r\naof_current_size:%" PRId64
			  "\r\naof_buffer_length:%u\r\n\r\n",
			  kvd.aof_fd >= 0, kvd.aof_size, kvd.aof_len);
	if (want(argc, argv, "stats"))
		tb_printf(&t,
			  "# Stats\r\ntotal_connections_received:%" PRId64 "\r\ntotal_commands_processed:%" PRId64
			  "\r\nrejected_connections:%" PRId64 "\r\ntotal_net_input_bytes:%" PRId64
			  "\r\ntotal_net_output_bytes:%" PRId64 "\r\nexpired_keys:%" PRId64
			  "\r\nht_size:%" PRIu64 "\r\nht_rehashing:%d\r\nht_rehashes:%" PRId64 "\r\n\r\n",
			  kvd.total_connections, kvd.total_commands, kvd.rejected_connections, kvd.net_in,
			  kvd.net_out, kvd_db.expired, kvd_db.t[0].size + kvd_db.t[1].size,
			  kvd_db.rehashidx >= 0, kvd_db.rehashes);
	if (want(argc, argv, "hop")) {
		tb_printf(&t, "# Hop\r\nhop_enabled:%d\r\n", kvd.hop_status == 0);
		if (kvd.hop_status != 0)
			tb_printf(&t, "hop_init_error:%s\r\n", hop_err_name(kvd.hop_status));
		tb_printf(&t, "hop_migrations:%d\r\nhop_last_pause_ms:%" PRId64 "\r\nhop_last_move_time_ms:%" PRId64
			      "\r\n\r\n",
			  hop_resumed(), kvd.hop_last_pause_ms, kvd.hop_last_move_ms);
	}
	if (want(argc, argv, "keyspace")) {
		tb_printf(&t, "# Keyspace\r\n");
		if (db_size())
			tb_printf(&t, "db0:keys=%" PRIu64 ",expires=%" PRId64 ",avg_ttl=0\r\n", db_size(),
				  kvd_db.expires);
	}
	reply_bulk(c, t.p, (uint32_t)t.len);
	free(t.p);
}

/* ---- the table: sorted by name, searched by bisection ------------------------------ */

static const struct kvd_cmd cmd_table[] = {
	{ "command", cmd_command, -1 },
	{ "config", cmd_config, -2 },
	{ "dbsize", cmd_dbsize, 1 },
	{ "decr", cmd_decr, 2 },
	{ "decrby", cmd_decrby, 3 },
	{ "del", cmd_del, -2 },
	{ "echo", cmd_echo, 2 },
	{ "exists", cmd_exists, -2 },
	{ "expire", cmd_expire, 3 },
	{ "expireat", cmd_expireat, 3 },
	{ "flushall", cmd_flushall, -1 },
	{ "flushdb", cmd_flushall, -1 },
	{ "get", cmd_get, 2 },
#ifdef KVD_V2
	{ "hits", cmd_hits, 2 },
#endif
	{ "incr", cmd_incr, 2 },
	{ "incrby", cmd_incrby, 3 },
	{ "info", cmd_info, -1 },
	{ "llen", cmd_llen, 2 },
	{ "lpop", cmd_lpop, -2 },
	{ "lpush", cmd_lpush, -3 },
	{ "lrange", cmd_lrange, 4 },
	{ "mget", cmd_mget, -2 },
	{ "mset", cmd_mset, -3 },
	{ "persist", cmd_persist, 2 },
	{ "pexpire", cmd_pexpire, 3 },
	{ "pexpireat", cmd_pexpireat, 3 },
	{ "ping", cmd_ping, -1 },
	{ "pttl", cmd_pttl, 2 },
	{ "quit", cmd_quit, -1 },
	{ "rpop", cmd_rpop, -2 },
	{ "rpush", cmd_rpush, -3 },
	{ "select", cmd_select, 2 },
	{ "set", cmd_set, -3 },
	{ "shutdown", cmd_shutdown, -1 },
	{ "strlen", cmd_strlen, 2 },
	{ "ttl", cmd_ttl, 2 },
	{ "type", cmd_type, 2 },
};
static const int cmd_count = (int)(sizeof(cmd_table) / sizeof(cmd_table[0]));

int cmd_check_table(void)
{
	for (int i = 1; i < cmd_count; i++)
		if (strcmp(cmd_table[i - 1].name, cmd_table[i].name) >= 0)
			return -1;
	ncommands = cmd_count;
	return 0;
}

/* Compare s[0..len) case-insensitively with a lower-case name. */
static int name_cmp(const char *s, uint32_t len, const char *name)
{
	for (uint32_t i = 0; i < len; i++) {
		int a = (unsigned char)s[i], b = (unsigned char)name[i];
		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (b == 0)
			return 1;
		if (a != b)
			return a - b;
	}
	return name[len] ? -1 : 0;
}

static const struct kvd_cmd *cmd_find(const struct kvd_arg *name)
{
	int lo = 0, hi = cmd_count - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int r = name_cmp(name->p, name->len, cmd_table[mid].name);
		if (r == 0)
			return &cmd_table[mid];
		if (r < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

void cmd_call(struct kvd_client *c, int argc, const struct kvd_arg *argv)
{
	const struct kvd_cmd *cmd = cmd_find(&argv[0]);

	kvd.total_commands++;
	if (!cmd) {
		char args[160];
		size_t n = 0;
		args[0] = '\0';
		for (int i = 1; i < argc && n < sizeof(args) - 40; i++)
			n += (size_t)snprintf(args + n, sizeof(args) - n, "'%.*s' ",
					      (int)(argv[i].len > 32 ? 32 : argv[i].len), argv[i].p);
		return reply_error(c, "ERR unknown command '%.*s', with args beginning with: %s",
				   (int)(argv[0].len > 64 ? 64 : argv[0].len), argv[0].p, args);
	}
	if ((cmd->arity > 0 && argc != cmd->arity) || (cmd->arity < 0 && argc < -cmd->arity))
		return reply_error(c, "ERR wrong number of arguments for '%s' command", cmd->name);
	cmd->fn(c, argc, argv);
}
