/*
 * The lock of a service as an item of a DynamoDB table (--lock-table): pk "lock#KEY", sk 0,
 * with nonce, holder, expires (AWS time, epoch seconds: also the table's TTL attribute, so
 * that DynamoDB deletes stale locks) and release (the history key of the run holding it).
 * A conditional PutItem takes it (no item, or an expired one), a conditional UpdateItem
 * (our nonce) renews it at every check, a conditional DeleteItem (our nonce) releases it:
 * DynamoDB evaluates each condition atomically, so exclusion holds whatever the timing and
 * no settle time is needed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "dynamodb.h"
#include "log.h"
#include "strutil.h"
#include "banned.h"

#define LOCK_PK_PREFIX "lock#"

char *ctl_service_key(const char *image, const char *prefix)
{
	char *v = NULL;

	if (asprintf(&v, "%s%s%s", image, prefix && *prefix ? " " : "", prefix ? prefix : "") < 0)
		return NULL;
	return v;
}

/* {pk: lock#KEY, sk: 0} */
static int lock_key(const char *image, const char *prefix, struct ddb_item **ret)
{
	_cleanup_(ddb_item_freep) struct ddb_item *key = ddb_item_new();
	_cleanup_free_ char *svc = ctl_service_key(image, prefix), *pk = NULL;
	int r;

	if (!key || !svc || asprintf(&pk, LOCK_PK_PREFIX "%s", svc) < 0)
		return -ENOMEM;
	r = ddb_item_add_s(key, "pk", pk);
	if (r >= 0)
		r = ddb_item_add_i64(key, "sk", 0);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(key);
	return 0;
}

static int lock_failed(int r, struct aws_error *err, const char *what, const char *image,
                       const char *table)
{
	return ctl_aws_failed(r, err, "%s (the lock of '%s' in table '%s')", what, image, table);
}

int ctl_lock_table_read(struct ctl_context *ctx, const char *image, struct ctl_lock_info *ret,
                        char **ret_release)
{
	_cleanup_(ddb_item_freep) struct ddb_item *key = NULL, *item = NULL;
	const char *table = ctx->o->lock_table, *nonce, *holder, *release;
	struct aws_error err = { 0 };
	int64_t expiry;
	int r;

	r = lock_key(image, ctx->o->prefix, &key);
	if (r < 0)
		return r;
	r = ddb_get_item(ctx->aws, table, key, &item, &err);
	if (r == -ENOENT && !err.code) {
		aws_error_clear(&err);
		return 0;
	}
	if (r == -ENOENT) {
		aws_error_clear(&err);
		log_error("lock table '%s' does not exist ('asgswap init-table %s' creates it)",
		          table, table);
		return -EINVAL;
	}
	if (r < 0)
		return lock_failed(r, &err, "GetItem", image, table);
	nonce = ddb_item_get_s(item, "nonce");
	holder = ddb_item_get_s(item, "holder");
	release = ddb_item_get_s(item, "release");
	/* An item we cannot read is still the lock: it reads as held by nobody we can name
	 * until its expiry, and one without a readable expiry as expired. */
	if (ddb_item_get_i64(item, "expires", &expiry) < 0)
		expiry = 0;
	*ret = (struct ctl_lock_info){
		.nonce = strdup(nonce ? nonce : ""),
		.expiry = (time_t)expiry,
		.holder = holder ? strdup(holder) : NULL,
	};
	if (!ret->nonce || (holder && !ret->holder)) {
		ctl_lock_info_done(ret);
		return -ENOMEM;
	}
	if (ret_release) {
		*ret_release = release ? strdup(release) : NULL;
		if (release && !*ret_release) {
			ctl_lock_info_done(ret);
			return -ENOMEM;
		}
	}
	return 1;
}

/* Who holds it now, for a refusal: 0 with *ret filled, or a failure (logged). */
static int read_holder(struct ctl_context *ctx, struct ctl_service *s, struct ctl_lock_info *ret)
{
	int r = ctl_lock_table_read(ctx, s->image, ret, NULL);

	if (r == 0) /* released between our write and this read */
		*ret = (struct ctl_lock_info){ 0 };
	return r < 0 ? r : 0;
}

int ctl_lock_table_take(struct ctl_context *ctx, struct ctl_service *s)
{
	static const char *const names[] = { "#e", "expires", NULL };
	_cleanup_(ddb_item_freep) struct ddb_item *item = NULL, *values = ddb_item_new();
	_cleanup_(ctl_lock_info_done) struct ctl_lock_info l = { 0 };
	_cleanup_free_ char *holder = ctl_lock_holder(ctx);
	const char *table = ctx->o->lock_table, *release = ctl_history_key(ctx);
	struct aws_error err = { 0 };
	time_t now = ctl_aws_now(ctx), expiry = now + ctl_lock_ttl();
	struct ddb_expr cond = {
		.expression = "attribute_not_exists(pk) OR #e < :now",
		.names = names,
		.values = values,
	};
	int r;

	if (ctx->lock_nonce) /* already ours: a renewal */
		return ctl_lock_table_check(ctx, s);
	if (!holder || !values || !release)
		return -ENOMEM;
	r = ctl_lock_new_nonce(ctx);
	if (r >= 0)
		r = lock_key(s->image, s->prefix, &item);
	if (r >= 0)
		r = ddb_item_add_s(item, "nonce", ctx->lock_nonce);
	if (r >= 0)
		r = ddb_item_add_s(item, "holder", holder);
	if (r >= 0)
		r = ddb_item_add_i64(item, "expires", (int64_t)expiry);
	if (r >= 0)
		r = ddb_item_add_s(item, "image", s->image);
	if (r >= 0)
		r = ddb_item_add_s(item, "release", release);
	if (r >= 0)
		r = ddb_item_add_i64(values, ":now", (int64_t)now);
	if (r < 0)
		goto fail;
	log_debug("lock of '%s' in table '%s': nonce %s until %lld (AWS's clock %+lld s from ours)",
	          s->image, table, ctx->lock_nonce, (long long)expiry,
	          (long long)(now - time(NULL)));
	r = ddb_put_item(ctx->aws, table, item, &cond, &err);
	if (r == -EEXIST) {
		bool lost = err.answer_lost;

		aws_error_clear(&err);
		r = read_holder(ctx, s, &l);
		if (r < 0)
			goto fail;
		/* Our own first attempt took it and its answer was lost: the retry found it
		 * held, by us. */
		if (lost && streq_ptr(l.nonce, ctx->lock_nonce))
			goto taken;
		r = l.nonce ? ctl_lock_refuse(ctx, s, &l) : -EBUSY;
		if (!l.nonce)
			log_error("'%s' was locked at the same moment by another asgswap run; "
			          "nothing was changed",
			          s->image);
		goto fail;
	}
	if (r == -ENOENT) {
		aws_error_clear(&err);
		log_error("lock table '%s' does not exist ('asgswap init-table %s' creates it)",
		          table, table);
		r = -EINVAL;
		goto fail;
	}
	if (r < 0) {
		r = lock_failed(r, &err, "PutItem", s->image, table);
		goto fail;
	}
taken:
	ctx->lock_expiry = expiry;
	ctl_history_begin(ctx, s);
	return 0;
fail:
	free(ctx->lock_nonce);
	ctx->lock_nonce = NULL;
	return r;
}

int ctl_lock_table_check(struct ctl_context *ctx, struct ctl_service *s)
{
	static const char *const names[] = { "#e", "expires", "#n", "nonce", NULL };
	_cleanup_(ddb_item_freep) struct ddb_item *key = NULL, *values = ddb_item_new();
	_cleanup_(ctl_lock_info_done) struct ctl_lock_info l = { 0 };
	const char *table = ctx->o->lock_table;
	struct aws_error err = { 0 };
	time_t expiry = ctl_aws_now(ctx) + ctl_lock_ttl();
	struct ddb_expr update = { .expression = "SET #e = :e", .values = NULL };
	struct ddb_expr cond = { .expression = "#n = :me", .names = names, .values = values };
	int r;

	if (!values)
		return -ENOMEM;
	r = lock_key(s->image, s->prefix, &key);
	if (r >= 0)
		r = ddb_item_add_i64(values, ":e", (int64_t)expiry);
	if (r >= 0)
		r = ddb_item_add_s(values, ":me", ctx->lock_nonce);
	if (r < 0)
		return r;
	/* Every check renews: the write that proves the lock still ours is the renewal. */
	r = ddb_update_item(ctx->aws, table, key, &update, &cond, &err);
	if (r == 0) {
		ctx->lock_expiry = expiry;
		return 0;
	}
	if (r != -EEXIST && r != -ENOENT)
		return lock_failed(r, &err, "UpdateItem", s->image, table);
	aws_error_clear(&err);
	r = read_holder(ctx, s, &l);
	if (r < 0)
		return r;
	if (l.nonce) {
		char what[512];

		ctl_lock_describe(ctx, &l, what, sizeof(what));
		log_error("the lock on '%s' was taken over by %s; stopping", s->image, what);
	} else {
		log_error("the lock on '%s' was removed by another run; stopping", s->image);
	}
	free(ctx->lock_nonce);
	ctx->lock_nonce = NULL;
	return -EBUSY;
}

int ctl_lock_table_remove(struct ctl_context *ctx, const char *image, const char *nonce)
{
	static const char *const names[] = { "#n", "nonce", NULL };
	_cleanup_(ddb_item_freep) struct ddb_item *key = NULL, *values = ddb_item_new();
	struct aws_error err = { 0 };
	struct ddb_expr cond = { .expression = "#n = :me", .names = names, .values = values };
	int r;

	if (!values)
		return -ENOMEM;
	r = lock_key(image, ctx->o->prefix, &key);
	if (r >= 0)
		r = ddb_item_add_s(values, ":me", nonce);
	if (r < 0)
		return r;
	r = ddb_delete_item(ctx->aws, ctx->o->lock_table, key, &cond, &err);
	/* A lost answer whose retry finds the item gone: our first attempt deleted it. */
	if (r == -EEXIST && err.answer_lost) {
		aws_error_clear(&err);
		return 0;
	}
	if (r == -EEXIST) {
		aws_error_clear(&err);
		return -EEXIST;
	}
	if (r < 0)
		return lock_failed(r, &err, "DeleteItem", image, ctx->o->lock_table);
	return 0;
}

void ctl_lock_table_release(struct ctl_context *ctx, struct ctl_service *s)
{
	int r;

	ctl_history_end(ctx);
	r = ctl_lock_table_remove(ctx, s->image, ctx->lock_nonce);
	if (r == -EEXIST)
		log_warning("the lock of '%s' was no longer ours when released", s->image);
	free(ctx->lock_nonce);
	ctx->lock_nonce = NULL;
}
