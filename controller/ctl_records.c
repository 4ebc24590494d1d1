/* Sending calls, one by one or side by side in a batch; and the one record call made
 * outside a plan (unlock's DeleteTags). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "strutil.h"
#include "banned.h"

static struct ctl_batch the_batch;

/* The most calls in flight at once: a batch larger than this goes out in slices. */
#define CTL_BATCH_MAX 50

static void entry_done(struct ctl_batch_entry *e);

void ctl_batch_begin(struct ctl_context *ctx)
{
	/* What an error path left queued is never sent. */
	for (size_t i = 0; i < the_batch.n; i++)
		entry_done(&the_batch.v[i]);
	free(the_batch.v);
	the_batch = (struct ctl_batch){ 0 };
	ctx->batch = &the_batch;
}

static void entry_done(struct ctl_batch_entry *e)
{
	query_done(e->q);
	free(e->q);
	free(e->what);
	*e = (struct ctl_batch_entry){ 0 };
}

/* Queues q (moved in) in the open batch. */
static int batch_add(struct ctl_batch *b, struct query *q, char *what, ctl_reply_fn reply,
                     void *userdata)
{
	struct ctl_batch_entry *v = realloc(b->v, (b->n + 1) * sizeof(*v));
	struct query *copy = malloc(sizeof(*copy));

	if (v)
		b->v = v;
	if (!v || !copy) {
		free(copy);
		free(what);
		query_done(q);
		return -ENOMEM;
	}
	*copy = *q;
	*q = (struct query){ 0 };
	b->v[b->n++] = (struct ctl_batch_entry){ copy, what, reply, userdata };
	return 0;
}

/* A retry of a call that moves instances failed with ValidationError after an earlier
 * attempt's answer was lost: that attempt took effect (the instance is in Standby
 * already, or gone). The wait that follows checks the state. */
static bool applied_before(const char *action, const struct aws_error *err)
{
	if (!err->answer_lost || !aws_error_is(err, "ValidationError"))
		return false;
	if (!streq(action, "EnterStandby") && !streq(action, "ExitStandby") &&
	    !streq(action, "TerminateInstanceInAutoScalingGroup"))
		return false;
	log_debug("%s: an earlier attempt took effect, its answer was lost", action);
	return true;
}

/* Sends entries side by side; the first failure is logged and returned, and replies go
 * to the calls that succeeded. */
static int batch_send(struct ctl_context *ctx, struct ctl_batch_entry *v, size_t n)
{
	_cleanup_free_ struct query **qs = calloc(n, sizeof(*qs));
	_cleanup_free_ xmlDoc **docs = calloc(n, sizeof(*docs));
	_cleanup_free_ struct aws_error *errs = calloc(n, sizeof(*errs));
	_cleanup_free_ int *results = calloc(n, sizeof(*results));
	int r = 0;

	if (!qs || !docs || !errs || !results)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		qs[i] = v[i].q;
	r = aws_query_many(ctx->aws, qs, n, docs, errs, results);
	if (r < 0)
		r = ctl_aws_failed(r, NULL, "%s", v[0].what);
	for (size_t i = 0; i < n; i++) {
		if (r == 0 && results[i] < 0 &&
		    !(v[i].reply == NULL && applied_before(qs[i]->action, &errs[i])))
			r = ctl_aws_failed(results[i], &errs[i], "%s", v[i].what);
		else if (r == 0 && v[i].reply)
			r = v[i].reply(v[i].userdata, v[i].what, docs[i]);
		if (docs[i])
			xmlFreeDoc(docs[i]);
		aws_error_clear(&errs[i]);
	}
	return r;
}

int ctl_batch_end(struct ctl_context *ctx)
{
	struct ctl_batch *b = ctx->batch;
	int r = 0;

	ctx->batch = NULL;
	if (!b)
		return 0;
	for (size_t i = 0; r == 0 && i < b->n; i += CTL_BATCH_MAX)
		r = batch_send(ctx, b->v + i, MIN(b->n - i, (size_t)CTL_BATCH_MAX));
	for (size_t i = 0; i < b->n; i++)
		entry_done(&b->v[i]);
	free(b->v);
	*b = (struct ctl_batch){ 0 };
	return r;
}

int ctl_batch_end_after(struct ctl_context *ctx, int r)
{
	int e = ctl_batch_end(ctx);

	return r < 0 ? r : e;
}

int ctl_send(struct ctl_context *ctx, struct query *q, ctl_reply_fn reply, void *userdata,
             const char *fmt, ...)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	struct aws_error err = { 0 };
	char *what = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	if (!what) {
		query_done(q);
		return -ENOMEM;
	}
	if (ctx->batch)
		return batch_add(ctx->batch, q, what, reply, userdata);
	r = aws_query(ctx->aws, q, &doc, &err);
	if (r < 0 && !reply && applied_before(q->action, &err))
		r = 0;
	else if (r < 0)
		r = ctl_aws_failed(r, &err, "%s", what);
	else if (reply)
		r = reply(userdata, what, doc);
	query_done(q);
	free(what);
	return r;
}

/* The keys (NULL-terminated) that g carries, deleted in one call. */
static int untag_keys(struct ctl_context *ctx, const struct ctl_group *g, const char *const *keys)
{
	_cleanup_strv_free_ char **present = NULL;
	_cleanup_free_ char *list = NULL;
	struct query q = { 0 };
	struct buf b;
	int r = 0;

	buf_init(&b, 0);
	for (; *keys; keys++)
		if (asg_group_tag(g->asg, *keys) &&
		    (strv_extend(&present, *keys) < 0 ||
		     buf_printf(&b, "%s%s", b.len ? " " : "", *keys) < 0))
			r = -ENOMEM;
	list = buf_steal(&b);
	if (r < 0 || (present && !list))
		return -ENOMEM;
	if (!present)
		return 0;
	r = ctl_step(ctx, "DeleteTags %s %s", g->asg->name, list);
	if (r < 0)
		return r;
	r = asg_query_delete_tags(&q, g->asg->name, present);
	if (r < 0) {
		query_done(&q);
		return r;
	}
	return ctl_send(ctx, &q, NULL, NULL, "DeleteTags '%s' %s", g->asg->name, list);
}

int ctl_untag(struct ctl_context *ctx, const struct ctl_group *g, const char *key)
{
	const char *keys[] = { key, NULL };

	return untag_keys(ctx, g, keys);
}
