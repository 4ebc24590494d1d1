/* The mutating calls on one group, each printed as a plan line first (and only printed
 * under --dry-run), and the release record on the canonical group. */
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

void ctl_batch_begin(struct ctl_context *ctx)
{
	ctx->batch = &the_batch;
}

/* Queues q (moved in) when a batch is open: 1 when queued, 0 when the caller sends it. */
static int batch_add(struct ctl_context *ctx, struct query *q, const char *fmt, ...) _printf_(3, 4);
static int batch_add(struct ctl_context *ctx, struct query *q, const char *fmt, ...)
{
	struct ctl_batch *b = ctx->batch;
	struct query **qs, *copy;
	char **what, *w = NULL;
	va_list ap;

	if (!b)
		return 0;
	qs = realloc(b->qs, (b->n + 1) * sizeof(*qs));
	if (qs)
		b->qs = qs;
	what = realloc(b->what, (b->n + 1) * sizeof(*what));
	if (what)
		b->what = what;
	copy = malloc(sizeof(*copy));
	va_start(ap, fmt);
	w = strdup_vprintf(fmt, ap);
	va_end(ap);
	if (!qs || !what || !copy || !w) {
		free(copy);
		free(w);
		query_done(q);
		return -ENOMEM;
	}
	*copy = *q;
	*q = (struct query){ 0 };
	b->qs[b->n] = copy;
	b->what[b->n++] = w;
	return 1;
}

int ctl_batch_end(struct ctl_context *ctx)
{
	struct ctl_batch *b = ctx->batch;
	_cleanup_free_ xmlDoc **docs = NULL;
	_cleanup_free_ struct aws_error *errs = NULL;
	_cleanup_free_ int *results = NULL;
	int r = 0;

	ctx->batch = NULL;
	if (!b || b->n == 0)
		return 0;
	docs = calloc(b->n, sizeof(*docs));
	errs = calloc(b->n, sizeof(*errs));
	results = calloc(b->n, sizeof(*results));
	if (!docs || !errs || !results)
		r = -ENOMEM;
	else
		r = aws_query_many(ctx->aws, b->qs, b->n, docs, errs, results);
	for (size_t i = 0; i < b->n; i++) {
		if (r == 0 && results && results[i] < 0)
			r = ctl_aws_failed(results[i], &errs[i], "%s", b->what[i]);
		if (docs && docs[i])
			xmlFreeDoc(docs[i]);
		if (errs)
			aws_error_clear(&errs[i]);
		query_done(b->qs[i]);
		free(b->qs[i]);
		free(b->what[i]);
	}
	free(b->qs);
	free(b->what);
	*b = (struct ctl_batch){ 0 };
	return r;
}

/* Sends q now, or queues it in the open batch. */
static int send_or_queue(struct ctl_context *ctx, struct query *q, const char *what)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	struct aws_error err = { 0 };
	int r = batch_add(ctx, q, "%s", what);

	if (r != 0)
		return r < 0 ? r : 0;
	r = aws_query(ctx->aws, q, &doc, &err);
	query_done(q);
	if (r < 0)
		return ctl_aws_failed(r, &err, "%s", what);
	return 0;
}

int ctl_tag(struct ctl_context *ctx, const struct ctl_group *g, const char *key, const char *value,
            bool propagate)
{
	_cleanup_free_ char *what = NULL;
	struct query q = { 0 };
	int r;

	r = ctl_step(ctx, "CreateOrUpdateTags %s %s=%s%s", g->asg->name, key, value,
	             propagate ? " PropagateAtLaunch=true" : "");
	if (r < 0 || ctx->o->dry_run)
		return r;
	if (asprintf(&what, "CreateOrUpdateTags '%s' %s", g->asg->name, key) < 0)
		return -ENOMEM;
	r = asg_query_set_tag(&q, g->asg->name, key, value, propagate);
	if (r < 0) {
		query_done(&q);
		return r;
	}
	return send_or_queue(ctx, &q, what);
}

int ctl_untag(struct ctl_context *ctx, const struct ctl_group *g, const char *key)
{
	char *keys[] = { (char *)key, NULL };
	_cleanup_free_ char *what = NULL;
	struct query q = { 0 };
	int r;

	if (!asg_group_tag(g->asg, key))
		return 0;
	r = ctl_step(ctx, "DeleteTags %s %s", g->asg->name, key);
	if (r < 0 || ctx->o->dry_run)
		return r;
	if (asprintf(&what, "DeleteTags '%s' %s", g->asg->name, key) < 0)
		return -ENOMEM;
	r = asg_query_delete_tags(&q, g->asg->name, keys);
	if (r < 0) {
		query_done(&q);
		return r;
	}
	return send_or_queue(ctx, &q, what);
}

int ctl_terminate(struct ctl_context *ctx, const struct ctl_group *g, const char *id)
{
	_cleanup_free_ char *what = NULL;
	struct query q = { 0 };
	int r;

	/* Desired is 0 already and must stay 0: no decrement (AWS-NOTES.md). */
	r = ctl_step(
	        ctx,
	        "TerminateInstanceInAutoScalingGroup %s %s ShouldDecrementDesiredCapacity=false",
	        g->asg->name, id);
	if (r < 0 || ctx->o->dry_run)
		return r;
	if (asprintf(&what, "TerminateInstanceInAutoScalingGroup '%s'", id) < 0)
		return -ENOMEM;
	r = asg_query_terminate_instance(&q, id, false);
	if (r < 0) {
		query_done(&q);
		return r;
	}
	return send_or_queue(ctx, &q, what);
}

int ctl_update(struct ctl_context *ctx, const struct ctl_group *g, long min, long max, long desired)
{
	_cleanup_free_ char *what = NULL;
	struct query q = { 0 };
	char a[48] = "", b[48] = "", c[48] = "";
	int r;

	if (min >= 0)
		snprintf(a, sizeof(a), " MinSize=%ld", min);
	if (max >= 0)
		snprintf(b, sizeof(b), " MaxSize=%ld", max);
	if (desired >= 0)
		snprintf(c, sizeof(c), " DesiredCapacity=%ld", desired);
	r = ctl_step(ctx, "UpdateAutoScalingGroup %s%s%s%s", g->asg->name, a, b, c);
	if (r < 0 || ctx->o->dry_run)
		return r;
	if (asprintf(&what, "UpdateAutoScalingGroup '%s'", g->asg->name) < 0)
		return -ENOMEM;
	r = asg_query_update_group(&q, g->asg->name, min, max, desired);
	if (r < 0) {
		query_done(&q);
		return r;
	}
	return send_or_queue(ctx, &q, what);
}

static struct ctl_group *canonical(struct ctl_service *s)
{
	return ctl_group_by_name(s, s->canonical->name);
}

int ctl_set_release(struct ctl_context *ctx, struct ctl_service *s, int from, int to,
                    const char *version, const char *phase)
{
	_cleanup_free_ char *v = NULL;
	const char *cur = asg_group_tag(s->canonical, TAG_RELEASE);

	if (asprintf(&v, "%s>%s:%s:%s", ctl_set_name(from), ctl_set_name(to), version, phase) < 0)
		return -ENOMEM;
	if (cur && streq(cur, v))
		return 0;
	return ctl_tag(ctx, canonical(s), TAG_RELEASE, v, false);
}

int ctl_clear_release(struct ctl_context *ctx, struct ctl_service *s)
{
	return ctl_untag(ctx, canonical(s), TAG_RELEASE);
}
