/*
 * Moving a set's scaling to its pair: scaling policies and scheduled actions are created
 * on the target first, the CloudWatch alarms of simple and step policies re-pointed at the
 * new policy ARNs (and their AutoScalingGroupName dimension, metric math included), and
 * only then deleted from the source. Target-tracking policies own their alarms.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloudwatch.h"
#include "ctl.h"
#include "log.h"
#include "strutil.h"
#include "timeutil.h"
#include "banned.h"

/*
 * Moving the scaling of a whole set side by side, in rounds: describe every group's
 * policies and scheduled actions; create them all on the pairs; describe the alarms of the
 * moved simple and step policies and re-point them all (the policies they name exist by
 * then); and only then delete everything from the source groups. A re-run after a crash
 * finds what is left on the sources and does the rest: puts are upserts, and alarms already
 * re-pointed no longer match the old ARNs.
 */
struct move_group {
	const struct ctl_group *from, *to;
	struct query_items policies, actions;
};

struct policy_put {
	char *old_arn, *new_arn;
	bool owns_alarms; /* target tracking: AWS re-creates its alarms */
};

struct rewrite {
	const char *from_set, *to_set;
	struct move_group *groups;
	size_t n_groups;
	char **old_arns, **new_arns; /* parallel */
	time_t now;
};

static const char *rewrite_alarm(void *userdata, const char *key, const char *name,
                                 const char *value)
{
	struct rewrite *rw = userdata;

	(void)key;
	for (size_t i = 0; rw->old_arns && rw->old_arns[i]; i++)
		if (streq(value, rw->old_arns[i]))
			return rw->new_arns[i];
	/* Dimensions.member.N.Value, also inside Metrics for metric math. */
	if (streq(name, "Value"))
		for (size_t i = 0; i < rw->n_groups; i++)
			if (streq(value, rw->groups[i].from->asg->name))
				return rw->groups[i].to->asg->name;
	return value;
}

/* PutScheduledUpdateGroupAction refuses a StartTime in the past: leave it out. */
static const char *rewrite_action(void *userdata, const char *key, const char *name,
                                  const char *value)
{
	struct rewrite *rw = userdata;
	time_t t;

	(void)key;
	if (streq(name, "StartTime") && parse_iso8601(value, &t) == 0 && t <= rw->now)
		return NULL;
	return value;
}

static bool action_expired(const xmlNode *a, time_t now)
{
	_cleanup_free_ char *start = NULL, *end = NULL, *rec = NULL;
	time_t t;

	if (xml_child_text(a, "EndTime", &end) == 0 && parse_iso8601(end, &t) == 0 && t <= now)
		return true;
	/* A one-off action (no Recurrence) whose time has come already ran. */
	if (xml_child_text(a, "Recurrence", &rec) == 0 && *rec)
		return false;
	return xml_child_text(a, "StartTime", &start) == 0 && parse_iso8601(start, &t) == 0 &&
	       t <= now;
}

static void move_groups_free(struct move_group *g, size_t n)
{
	for (size_t i = 0; g && i < n; i++) {
		query_items_done(&g[i].policies);
		query_items_done(&g[i].actions);
	}
	free(g);
}

/* Round 1: the policies and scheduled actions of every source group, side by side. */
static int describe_sources(struct ctl_context *ctx, struct move_group *g, size_t n)
{
	_cleanup_free_ struct query *q = calloc(2 * n, sizeof(*q));
	_cleanup_free_ struct query **qs = calloc(2 * n, sizeof(*qs));
	_cleanup_free_ const char **lists = calloc(2 * n, sizeof(*lists));
	_cleanup_free_ struct query_items *items = calloc(2 * n, sizeof(*items));
	_cleanup_free_ struct aws_error *errs = calloc(2 * n, sizeof(*errs));
	_cleanup_free_ int *results = calloc(2 * n, sizeof(*results));
	int r = 0;

	if (n == 0)
		return 0;
	if (!q || !qs || !lists || !items || !errs || !results)
		return -ENOMEM;
	for (size_t i = 0; r == 0 && i < n; i++) {
		qs[2 * i] = &q[2 * i];
		qs[2 * i + 1] = &q[2 * i + 1];
		lists[2 * i] = ASG_POLICIES_LIST;
		lists[2 * i + 1] = ASG_SCHEDULED_ACTIONS_LIST;
		r = asg_query_describe_policies(&q[2 * i], g[i].from->asg->name);
		if (r == 0)
			r = asg_query_describe_scheduled_actions(&q[2 * i + 1],
			                                         g[i].from->asg->name);
	}
	if (r == 0)
		r = aws_query_items_many(ctx->aws, qs, 2 * n, "NextToken", "NextToken", lists,
		                         items, errs, results);
	for (size_t k = 0; k < 2 * n; k++) {
		if (r == 0 && results[k] < 0)
			r = ctl_aws_failed(results[k], &errs[k], "%s '%s'", q[k].action,
			                   g[k / 2].from->asg->name);
		else if (r == 0 && k % 2 == 0)
			g[k / 2].policies = items[k];
		else if (r == 0)
			g[k / 2].actions = items[k];
		else
			query_items_done(&items[k]);
		aws_error_clear(&errs[k]);
		query_done(&q[k]);
	}
	return r;
}

static int policy_created(void *userdata, const char *what, xmlDoc *doc)
{
	struct policy_put *p = userdata;

	if (asg_policy_arn_parse(doc, &p->new_arn) < 0) {
		log_error("%s: no PolicyARN in the answer", what);
		return -EBADMSG;
	}
	return 0;
}

/* Round 2: every policy and scheduled action created on the target groups, side by side. */
static int create_on_targets(struct ctl_context *ctx, struct move_group *g, size_t n,
                             struct policy_put *puts, struct rewrite *rw)
{
	size_t k = 0;
	int r = 0;

	ctl_batch_begin(ctx);
	for (size_t i = 0; r == 0 && i < n; i++) {
		const char *to = g[i].to->asg->name, *from = g[i].from->asg->name;

		for (size_t j = 0; r == 0 && j < g[i].policies.n; j++) {
			const xmlNode *pol = g[i].policies.nodes[j];
			struct policy_put *p = &puts[k++];
			_cleanup_free_ char *name = NULL, *type = NULL;
			struct query q = { 0 };

			if (xml_child_text(pol, "PolicyName", &name) < 0)
				continue;
			(void)xml_child_text(pol, "PolicyType", &type);
			(void)xml_child_text(pol, "PolicyARN", &p->old_arn);
			p->owns_alarms = streq_ptr(type, "TargetTrackingScaling");
			r = ctl_step(ctx, "PutScalingPolicy %s %s%s%s", to, name, type ? " " : "",
			             type ? type : "");
			if (r < 0)
				break;
			r = asg_query_put_policy_from_xml(&q, to, pol);
			if (r < 0) {
				query_done(&q);
				break;
			}
			r = ctl_send(ctx, &q, policy_created, p, "PutScalingPolicy '%s' on '%s'",
			             name, to);
		}
		for (size_t j = 0; r == 0 && j < g[i].actions.n; j++) {
			const xmlNode *a = g[i].actions.nodes[j];
			_cleanup_free_ char *name = NULL;
			struct query q = { 0 };

			if (xml_child_text(a, "ScheduledActionName", &name) < 0)
				continue;
			if (action_expired(a, rw->now)) {
				log_info("scheduled action '%s' of '%s' already ran: not copied",
				         name, from);
				continue;
			}
			r = ctl_step(ctx, "PutScheduledUpdateGroupAction %s %s", to, name);
			if (r < 0)
				continue;
			r = asg_query_put_scheduled_action_from_xml(&q, to, a, rewrite_action, rw);
			if (r < 0) {
				query_done(&q);
				break;
			}
			r = ctl_send(ctx, &q, NULL, NULL,
			             "PutScheduledUpdateGroupAction '%s' on '%s'", name, to);
		}
	}
	return ctl_batch_end_after(ctx, r);
}

/* Rounds 3 and 4: the alarms acting on the moved simple and step policies, described side
 * by side, then each re-pointed once (actions and AutoScalingGroupName dimensions). */
static int move_alarms(struct ctl_context *ctx, struct rewrite *rw)
{
	size_t n = strv_length(rw->old_arns);
	_cleanup_free_ struct query *q = calloc(n ? n : 1, sizeof(*q));
	_cleanup_free_ struct query **qs = calloc(n ? n : 1, sizeof(*qs));
	_cleanup_free_ const char **lists = calloc(n ? n : 1, sizeof(*lists));
	_cleanup_free_ struct query_items *alarms = calloc(n ? n : 1, sizeof(*alarms));
	_cleanup_free_ struct aws_error *errs = calloc(n ? n : 1, sizeof(*errs));
	_cleanup_free_ int *results = calloc(n ? n : 1, sizeof(*results));
	_cleanup_strv_free_ char **done = NULL;
	int r = 0;

	if (!q || !qs || !lists || !alarms || !errs || !results)
		return -ENOMEM;
	if (n == 0)
		return 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		qs[i] = &q[i];
		lists[i] = CW_ALARMS_LIST;
		r = cw_query_describe_alarms_by_action_prefix(&q[i], rw->old_arns[i]);
	}
	if (r == 0)
		r = aws_query_items_many(ctx->aws, qs, n, "NextToken", "NextToken", lists, alarms,
		                         errs, results);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (results[i] < 0)
			r = ctl_aws_failed(results[i], &errs[i], "DescribeAlarms");
	ctl_batch_begin(ctx);
	for (size_t i = 0; r == 0 && i < n; i++)
		for (size_t j = 0; r == 0 && j < alarms[i].n; j++) {
			_cleanup_free_ char *name = NULL;
			struct query aq = { 0 };
			bool seen = false;

			if (xml_child_text(alarms[i].nodes[j], "AlarmName", &name) < 0)
				continue;
			STRV_FOREACH(d, done)
				if (streq(*d, name))
					seen = true;
			if (seen)
				continue;
			if (strv_extend(&done, name) < 0) {
				r = -ENOMEM;
				break;
			}
			r = ctl_step(ctx, "PutMetricAlarm %s (actions and dimensions: %s -> %s)",
			             name, rw->from_set, rw->to_set);
			if (r < 0)
				continue;
			r = cw_query_put_metric_alarm_from_xml(&aq, alarms[i].nodes[j],
			                                       rewrite_alarm, rw);
			if (r < 0) {
				query_done(&aq);
				break;
			}
			r = ctl_send(ctx, &aq, NULL, NULL, "PutMetricAlarm '%s'", name);
		}
	r = ctl_batch_end_after(ctx, r);
	for (size_t i = 0; i < n; i++) {
		query_items_done(&alarms[i]);
		aws_error_clear(&errs[i]);
		query_done(&q[i]);
	}
	return r;
}

/* Round 5: the originals go, side by side. */
/* Queues the delete of every policy or scheduled action of `items` from group `from`. */
static int delete_items(struct ctl_context *ctx, const char *from, const struct query_items *items,
                        const char *action, const char *key,
                        int (*build)(struct query *q, const char *group, const char *name))
{
	int r = 0;

	for (size_t j = 0; r == 0 && j < items->n; j++) {
		_cleanup_free_ char *name = NULL;
		struct query q = { 0 };

		if (xml_child_text(items->nodes[j], key, &name) < 0)
			continue;
		r = ctl_step(ctx, "%s %s %s", action, from, name);
		if (r < 0)
			continue;
		r = build(&q, from, name);
		if (r < 0) {
			query_done(&q);
			break;
		}
		r = ctl_send(ctx, &q, NULL, NULL, "%s '%s' of '%s'", action, name, from);
	}
	return r;
}

static int delete_from_sources(struct ctl_context *ctx, struct move_group *g, size_t n)
{
	int r = 0;

	ctl_batch_begin(ctx);
	for (size_t i = 0; r == 0 && i < n; i++) {
		const char *from = g[i].from->asg->name;

		r = delete_items(ctx, from, &g[i].policies, "DeletePolicy", "PolicyName",
		                 asg_query_delete_policy);
		if (r == 0)
			r = delete_items(ctx, from, &g[i].actions, "DeleteScheduledAction",
			                 "ScheduledActionName", asg_query_delete_scheduled_action);
	}
	return ctl_batch_end_after(ctx, r);
}

int ctl_move_scaling(struct ctl_context *ctx, struct ctl_service *s, int from_set)
{
	const struct ctl_set *set = &s->sets[from_set];
	struct move_group *g = calloc(set->n ? set->n : 1, sizeof(*g));
	_cleanup_strv_free_ char **old_arns = NULL, **new_arns = NULL;
	struct policy_put *puts = NULL;
	struct rewrite rw = {
		ctl_set_name(from_set), ctl_set_name(!from_set), g, set->n, NULL, NULL,
		ctl_aws_now(ctx)
	};
	size_t n_puts = 0;
	int r;

	if (!g)
		return -ENOMEM;
	for (size_t i = 0; i < set->n; i++) {
		g[i].from = set->groups[i];
		g[i].to = ctl_pair(s, set->groups[i]);
	}
	r = describe_sources(ctx, g, set->n);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < set->n; i++)
		n_puts += g[i].policies.n;
	puts = calloc(n_puts ? n_puts : 1, sizeof(*puts));
	if (!puts) {
		r = -ENOMEM;
		goto out;
	}
	r = ctl_stop_requested() ? -EINTR : create_on_targets(ctx, g, set->n, puts, &rw);
	if (r < 0)
		goto out;
	for (size_t k = 0; k < n_puts; k++) {
		if (!puts[k].old_arn || !puts[k].new_arn || puts[k].owns_alarms)
			continue;
		if (strv_push(&old_arns, TAKE_PTR(puts[k].old_arn)) < 0 ||
		    strv_push(&new_arns, TAKE_PTR(puts[k].new_arn)) < 0) {
			r = -ENOMEM;
			goto out;
		}
	}
	rw.old_arns = old_arns;
	rw.new_arns = new_arns;
	r = ctl_stop_requested() ? -EINTR : move_alarms(ctx, &rw);
	if (r < 0)
		goto out;
	/* The replacements exist: now the originals go. */
	r = ctl_stop_requested() ? -EINTR : delete_from_sources(ctx, g, set->n);
out:
	for (size_t k = 0; puts && k < n_puts; k++) {
		free(puts[k].old_arn);
		free(puts[k].new_arn);
	}
	free(puts);
	move_groups_free(g, set->n);
	return r;
}
