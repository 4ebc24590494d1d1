/*
 * The release history, kept in the lock table: pk "release#KEY" (KEY as the lock's), sk the
 * release's start in AWS time (microseconds, the last three digits random so that two
 * records never share a key), so that a Query on pk lists one service's releases newest
 * first and never meets its lock item. The record is written when the lock is taken
 * (outcome "running"), again at each phase and at the end: a run killed outright leaves a
 * record that says how far it got, and `history` shows it as interrupted once its lock is
 * no longer held. Writing it is never a reason for a release to fail.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <cjson/cJSON.h>

#include "ctl_plan.h"
#include "dynamodb.h"
#include "jsonutil.h"
#include "log.h"
#include "strutil.h"
#include "sts.h"
#include "banned.h"

#define HISTORY_PK_PREFIX     "release#"
#define HISTORY_LIMIT_DEFAULT 20U
/* Small pages: a record is about a kilobyte, and a few pages cost less than one page of
 * 1 MB read for the 20 records asked for. */
#define HISTORY_PAGE       25U
#define HISTORY_MAX_PHASES 64

struct history_phase {
	char *name;
	time_t at;
};

struct ctl_history {
	char key[32];
	bool begun, ended, warned;
	int from, to;
	char *from_version, *to_version;
	char *caller, *holder, *outcome;
	char *strategy; /* a deploy's, as its release record holds it */
	char *image;    /* kept from begin: the end has no service at hand */
	time_t started, ended_at;
	struct history_phase phases[HISTORY_MAX_PHASES];
	size_t n;
};

static struct ctl_history *history_of(struct ctl_context *ctx)
{
	if (!ctx->o->lock_table || ctx->o->dry_run)
		return NULL;
	if (!ctx->history) {
		ctx->history = calloc(1, sizeof(*ctx->history));
		if (ctx->history)
			ctx->history->from = ctx->history->to = -1;
	}
	return ctx->history;
}

void ctl_history_free(struct ctl_context *ctx)
{
	struct ctl_history *h = ctx->history;

	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		free(h->phases[i].name);
	free(h->from_version);
	free(h->to_version);
	free(h->caller);
	free(h->holder);
	free(h->outcome);
	free(h->strategy);
	free(h->image);
	free(h);
	ctx->history = NULL;
}

const char *ctl_history_key(struct ctl_context *ctx)
{
	struct ctl_history *h = history_of(ctx);
	struct timespec ts;
	unsigned short rnd = 0;
	time_t skew = 0;
	long long usec;

	if (!h)
		return NULL;
	if (h->key[0])
		return h->key;
	(void)aws_client_clock_skew(ctx->aws, &skew);
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = 0;
	usec = ((long long)ts.tv_sec + (long long)skew) * 1000000LL + ts.tv_nsec / 1000000 * 1000 +
	       rnd % 1000;
	(void)snprintf(h->key, sizeof(h->key), "%lld", usec);
	return h->key;
}

static int add_opt_s(struct ddb_item *it, const char *name, const char *v)
{
	return v ? ddb_item_add_s(it, name, v) : 0;
}

static int history_item(struct ctl_context *ctx, const char *image, struct ddb_item **ret)
{
	struct ctl_history *h = ctx->history;
	_cleanup_(ddb_item_freep) struct ddb_item *it = ddb_item_new();
	_cleanup_free_ char *svc = ctl_service_key(image, ctx->o->prefix), *pk = NULL;
	struct ddb_value *phases = NULL;
	int r;

	if (!it || !svc || asprintf(&pk, HISTORY_PK_PREFIX "%s", svc) < 0)
		return -ENOMEM;
	r = ddb_item_add_s(it, "pk", pk);
	if (r >= 0)
		r = ddb_item_add_n(it, "sk", h->key);
	if (r >= 0)
		r = ddb_item_add_s(it, "image", image);
	if (r >= 0)
		r = ddb_item_add_s(it, "prefix", ctx->o->prefix);
	if (r >= 0)
		r = ddb_item_add_s(it, "command", ctx->command);
	if (r >= 0 && h->from >= 0)
		r = ddb_item_add_s(it, "from", ctl_set_name(h->from));
	if (r >= 0 && h->to >= 0)
		r = ddb_item_add_s(it, "to", ctl_set_name(h->to));
	if (r >= 0)
		r = add_opt_s(it, "from_version", h->from_version);
	if (r >= 0)
		r = add_opt_s(it, "to_version", h->to_version);
	if (r >= 0)
		r = add_opt_s(it, "strategy", h->strategy);
	if (r >= 0)
		r = add_opt_s(it, "holder", h->holder);
	if (r >= 0)
		r = add_opt_s(it, "caller", h->caller);
	if (r >= 0)
		r = ddb_item_add_s(it, "asgswap_version", ASGSWAP_VERSION);
	if (r >= 0)
		r = ddb_item_add_s(it, "outcome", h->ended ? h->outcome : "running");
	if (r >= 0)
		r = ddb_item_add_i64(it, "started", (int64_t)h->started);
	if (r >= 0 && h->ended)
		r = ddb_item_add_i64(it, "ended", (int64_t)h->ended_at);
	if (r >= 0)
		r = ddb_item_add_l(it, "phases", &phases);
	for (size_t i = 0; r >= 0 && i < h->n; i++) {
		struct ddb_item *m;

		r = ddb_list_append_m(phases, &m);
		if (r >= 0)
			r = ddb_item_add_s(m, "name", h->phases[i].name);
		if (r >= 0)
			r = ddb_item_add_i64(m, "at", (int64_t)h->phases[i].at);
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(it);
	return 0;
}

/* The record as it stands, written over the previous version. */
static void history_write(struct ctl_context *ctx, const char *image)
{
	struct ctl_history *h = ctx->history;
	_cleanup_(ddb_item_freep) struct ddb_item *it = NULL;
	struct aws_error err = { 0 };
	int r;

	r = history_item(ctx, image, &it);
	if (r >= 0)
		r = ddb_put_item(ctx->aws, ctx->o->lock_table, it, NULL, &err);
	if (r < 0 && !h->warned) {
		_cleanup_free_ char *msg = ctl_printable(err.message ? err.message : strerror(-r));

		h->warned = true;
		log_warning("could not record the release of '%s' in table '%s' (%s%s%s); the "
		            "release goes on",
		            image, ctx->o->lock_table, err.code ? err.code : "",
		            err.code ? ": " : "", msg ? msg : "?");
	}
	aws_error_clear(&err);
}

void ctl_history_begin(struct ctl_context *ctx, struct ctl_service *s)
{
	struct ctl_history *h = history_of(ctx);
	struct aws_error err = { 0 };
	int r;

	if (!h || h->begun || !ctl_history_key(ctx))
		return;
	h->image = strdup(s->image);
	if (!h->image)
		return;
	h->started = ctl_aws_now(ctx);
	h->holder = ctl_lock_holder(ctx);
	r = sts_get_caller_arn(ctx->aws, &h->caller, &err);
	if (r < 0) {
		log_warning("could not ask STS who is releasing '%s' (%s); the history names the "
		            "holder only",
		            s->image, err.code ? err.code : strerror(-r));
		aws_error_clear(&err);
	}
	h->begun = true;
	history_write(ctx, h->image);
}

void ctl_history_phase(struct ctl_context *ctx, const struct plan *p, const char *title)
{
	struct ctl_history *h = history_of(ctx);

	if (!h || h->ended)
		return;
	if (h->from < 0 && p->from >= 0 && p->to >= 0) {
		h->from = p->from;
		h->to = p->to;
		h->from_version = strdup_or_null(p->from_version);
		h->to_version = strdup_or_null(p->to_version);
	}
	if (!h->strategy && p->strategy)
		h->strategy = strdup(p->strategy);
	if (h->n >= HISTORY_MAX_PHASES)
		return;
	h->phases[h->n].name = strdup(title);
	if (!h->phases[h->n].name)
		return;
	h->phases[h->n++].at = ctl_aws_now(ctx);
	if (h->begun)
		history_write(ctx, h->image);
}

void ctl_history_end(struct ctl_context *ctx)
{
	struct ctl_history *h = ctx->history;

	if (!h || !h->begun || h->ended)
		return;
	free(h->outcome);
	/* Called where the lock goes: the release got to its end, or said how it stopped. */
	h->outcome = strdup(ctl_outcome_of(ctx, CTL_EXIT_OK));
	if (!h->outcome)
		return;
	h->ended = true;
	h->ended_at = ctl_aws_now(ctx);
	history_write(ctx, h->image);
}

/* ---- asgswap history IMAGE ---- */

struct record {
	const struct ddb_item *it;
	char *outcome; /* as shown: a "running" record whose run is gone reads as interrupted */
};

static const char *get_s(const struct ddb_item *it, const char *name)
{
	return ddb_item_get_s(it, name);
}

static void json_s(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static void json_time(cJSON *o, const char *key, const struct ddb_item *it, const char *name)
{
	char iso[32];
	int64_t t;

	if (ddb_item_get_i64(it, name, &t) == 0 && ctl_iso_time((time_t)t, iso, sizeof(iso), false))
		cJSON_AddStringToObject(o, key, iso);
	else
		cJSON_AddNullToObject(o, key);
}

static cJSON *record_json(const struct record *rec)
{
	static const char *const plain[] = { "command",    "from",   "to",     "from_version",
		                             "to_version", "caller", "holder", "asgswap_version" };
	const struct ddb_value *phases = ddb_item_get(rec->it, "phases");
	cJSON *o = cJSON_CreateObject(), *list;

	if (!o)
		return NULL;
	json_s(o, "key", ddb_item_get(rec->it, "sk") ? ddb_item_get(rec->it, "sk")->s : NULL);
	json_time(o, "started", rec->it, "started");
	json_time(o, "ended", rec->it, "ended");
	for (size_t i = 0; i < ELEMENTSOF(plain); i++)
		json_s(o, plain[i], get_s(rec->it, plain[i]));
	json_s(o, "strategy", get_s(rec->it, "strategy"));
	json_s(o, "outcome", rec->outcome);
	json_s(o, "recorded_outcome", get_s(rec->it, "outcome"));
	list = cJSON_AddArrayToObject(o, "phases");
	for (size_t i = 0; list && phases && phases->type == DDB_L && i < phases->n; i++) {
		const struct ddb_value *v = &phases->l[i];
		cJSON *ph;

		if (v->type != DDB_M)
			continue;
		ph = cJSON_CreateObject();
		if (!ph || !cJSON_AddItemToArray(list, ph)) {
			cJSON_Delete(ph);
			break;
		}
		json_s(ph, "name", get_s(v->m, "name"));
		json_time(ph, "at", v->m, "at");
	}
	return o;
}

static void record_text(const struct record *rec)
{
	static const char *const fields[] = { "command",      "from",       "to",
		                              "from_version", "to_version", "caller" };
	char *f[ELEMENTSOF(fields)] = { 0 }, when[40] = "?", took[48] = "";
	_cleanup_free_ char *outcome = ctl_printable(rec->outcome);
	int64_t start = 0, end = 0;

	for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
		const char *v = get_s(rec->it, fields[i]);

		f[i] = ctl_printable(v ? v : "?");
	}
	if (ddb_item_get_i64(rec->it, "started", &start) == 0)
		(void)ctl_iso_time((time_t)start, when, sizeof(when), true);
	if (ddb_item_get_i64(rec->it, "ended", &end) == 0 && end >= start) {
		char span[32];

		ctl_format_span((long long)(end - start), span, sizeof(span));
		(void)snprintf(took, sizeof(took), " in %s", span);
	}
	printf("%s  %s %s>%s %s>%s: %s%s; by %s\n", when, f[0] ? f[0] : "?", f[1] ? f[1] : "?",
	       f[2] ? f[2] : "?", f[3] ? f[3] : "?", f[4] ? f[4] : "?", outcome ? outcome : "?",
	       took, f[5] ? f[5] : "?");
	for (size_t i = 0; i < ELEMENTSOF(fields); i++)
		free(f[i]);
}

int ctl_history(struct ctl_context *ctx)
{
	static const char *const names[] = { "#p", "pk", NULL };
	_cleanup_(ddb_item_freep) struct ddb_item *values = ddb_item_new();
	_cleanup_(ctl_lock_info_done) struct ctl_lock_info lock = { 0 };
	_cleanup_ddb_items_ struct ddb_items items = { 0 };
	_cleanup_free_ char *svc = NULL, *pk = NULL, *release = NULL;
	const char *image = ctx->o->args[0], *table = ctx->o->lock_table;
	struct ddb_query q = {
		.table = table,
		.key = { .expression = "#p = :p", .names = names, .values = values },
		.forward = false,
		.page_size = HISTORY_PAGE,
		.max_items = ctx->o->limit ? ctx->o->limit : HISTORY_LIMIT_DEFAULT,
	};
	struct aws_error err = { 0 };
	struct record *recs = NULL;
	time_t now;
	unsigned pages = 0;
	int r, held;

	if (!table) {
		log_error("'history' needs a lock table: --lock-table NAME, ASGSWAP_LOCK_TABLE or "
		          "lock_table in the profile's section of the config file");
		return CTL_EXIT_USAGE;
	}
	svc = ctl_service_key(image, ctx->o->prefix);
	if (!values || !svc || asprintf(&pk, HISTORY_PK_PREFIX "%s", svc) < 0 ||
	    ddb_item_add_s(values, ":p", pk) < 0)
		return log_error_errno(-ENOMEM, "out of memory"), CTL_EXIT_AWS;
	held = ctl_lock_table_read(ctx, image, &lock, &release);
	if (held < 0)
		return ctl_exit_code(held);
	r = ddb_query(ctx->aws, &q, &items, &pages, &err);
	if (r == -ENOENT) {
		aws_error_clear(&err);
		log_error("lock table '%s' does not exist ('asgswap init-table %s' creates it)",
		          table, table);
		return CTL_EXIT_USAGE;
	}
	if (r < 0)
		return ctl_exit_code(ctl_aws_failed(
		        r, &err, "Query (the history of '%s' in table '%s')", image, table));
	log_debug("history of '%s': %zu records in %u pages", image, items.n, pages);
	now = ctl_aws_now(ctx);
	recs = calloc(items.n ? items.n : 1, sizeof(*recs));
	if (!recs)
		return log_error_errno(-ENOMEM, "out of memory"), CTL_EXIT_AWS;
	for (size_t i = 0; i < items.n; i++) {
		const char *o = get_s(items.v[i], "outcome");
		const struct ddb_value *sk = ddb_item_get(items.v[i], "sk");
		bool live =
		        held > 0 && lock.expiry > now && sk && sk->s && streq_ptr(release, sk->s);

		recs[i].it = items.v[i];
		recs[i].outcome = strdup(o && streq(o, "running") && !live
		                                 ? "interrupted: the run ended without recording "
		                                   "how"
		                                 : (o ? o : "unknown"));
	}
	if (ctx->o->json) {
		cJSON *root = cJSON_CreateObject(), *list;

		if (root) {
			cJSON_AddStringToObject(root, "image", image);
			cJSON_AddStringToObject(root, "prefix", ctx->o->prefix);
			cJSON_AddStringToObject(root, "table", table);
		}
		list = root ? cJSON_AddArrayToObject(root, "releases") : NULL;
		for (size_t i = 0; list && i < items.n; i++) {
			cJSON *o = record_json(&recs[i]);

			if (!o || !cJSON_AddItemToArray(list, o))
				cJSON_Delete(o);
		}
		r = ctl_print_json(list ? root : NULL);
		cJSON_Delete(root);
	} else if (items.n == 0) {
		log_info("no release of '%s' recorded in table '%s'", image, table);
	} else {
		for (size_t i = 0; i < items.n; i++)
			record_text(&recs[i]);
	}
	for (size_t i = 0; i < items.n; i++)
		free(recs[i].outcome);
	free(recs);
	return r < 0 ? CTL_EXIT_AWS : 0;
}
