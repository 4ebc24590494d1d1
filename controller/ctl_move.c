/*
 * Moving a group's scaling to its pair: scaling policies and scheduled actions are created
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
#include "banned.h"

struct rewrite {
	const char *from_group, *to_group;
	char **old_arns, **new_arns; /* parallel */
	time_t now;
	bool dropped_start;
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
	if (streq(name, "Value") && streq(value, rw->from_group))
		return rw->to_group;
	return value;
}

static int parse_time(const char *s, time_t *ret)
{
	struct tm tm = { 0 };
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);

	if (!end)
		return -EINVAL;
	*ret = timegm(&tm);
	return 0;
}

/* PutScheduledUpdateGroupAction refuses a StartTime in the past: leave it out. */
static const char *rewrite_action(void *userdata, const char *key, const char *name,
                                  const char *value)
{
	struct rewrite *rw = userdata;
	time_t t;

	(void)key;
	if (streq(name, "StartTime") && parse_time(value, &t) == 0 && t <= rw->now) {
		rw->dropped_start = true;
		return NULL;
	}
	return value;
}

static bool action_expired(const xmlNode *a, time_t now)
{
	_cleanup_free_ char *start = NULL, *end = NULL, *rec = NULL;
	time_t t;

	if (xml_child_text(a, "EndTime", &end) == 0 && parse_time(end, &t) == 0 && t <= now)
		return true;
	/* A one-off action (no Recurrence) whose time has come already ran. */
	if (xml_child_text(a, "Recurrence", &rec) == 0 && *rec)
		return false;
	return xml_child_text(a, "StartTime", &start) == 0 && parse_time(start, &t) == 0 &&
	       t <= now;
}

static int move_alarms(struct ctl_context *ctx, struct rewrite *rw)
{
	_cleanup_strv_free_ char **done = NULL;
	struct aws_error err = { 0 };
	int r;

	STRV_FOREACH(arn, rw->old_arns) {
		_cleanup_(query_items_done) struct query_items alarms = { 0 };

		r = cw_describe_alarms_by_action_prefix(ctx->aws, *arn, &alarms, &err);
		if (r < 0)
			return ctl_aws_failed(r, &err, "DescribeAlarms");
		for (size_t i = 0; i < alarms.n; i++) {
			_cleanup_free_ char *name = NULL;
			bool seen = false;

			if (xml_child_text(alarms.nodes[i], "AlarmName", &name) < 0)
				continue;
			STRV_FOREACH(d, done)
				if (streq(*d, name))
					seen = true;
			if (seen)
				continue;
			r = ctl_step(ctx, "PutMetricAlarm %s (actions and dimension: %s -> %s)",
			             name, rw->from_group, rw->to_group);
			if (r < 0)
				return r;
			if (!ctx->o->dry_run) {
				r = cw_put_metric_alarm_from_xml(ctx->aws, alarms.nodes[i],
				                                 rewrite_alarm, rw, &err);
				if (r < 0)
					return ctl_aws_failed(r, &err, "PutMetricAlarm '%s'", name);
			}
			if (strv_extend(&done, name) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

int ctl_move_scaling(struct ctl_context *ctx, const struct ctl_group *from,
                     const struct ctl_group *to)
{
	_cleanup_(query_items_done) struct query_items policies = { 0 }, actions = { 0 };
	_cleanup_strv_free_ char **old_arns = NULL, **new_arns = NULL;
	struct rewrite rw = { from->asg->name, to->asg->name, NULL, NULL, time(NULL), false };
	struct aws_error err = { 0 };
	int r;

	r = asg_describe_policies(ctx->aws, from->asg->name, &policies, &err);
	if (r < 0)
		return ctl_aws_failed(r, &err, "DescribePolicies '%s'", from->asg->name);
	r = asg_describe_scheduled_actions(ctx->aws, from->asg->name, &actions, &err);
	if (r < 0)
		return ctl_aws_failed(r, &err, "DescribeScheduledActions '%s'", from->asg->name);

	for (size_t i = 0; i < policies.n; i++) {
		_cleanup_free_ char *name = NULL, *type = NULL, *arn = NULL, *new_arn = NULL;

		if (xml_child_text(policies.nodes[i], "PolicyName", &name) < 0)
			continue;
		(void)xml_child_text(policies.nodes[i], "PolicyType", &type);
		(void)xml_child_text(policies.nodes[i], "PolicyARN", &arn);
		r = ctl_step(ctx, "PutScalingPolicy %s %s%s%s", to->asg->name, name,
		             type ? " " : "", type ? type : "");
		if (r < 0)
			return r;
		if (ctx->o->dry_run) {
			new_arn = strdup("(new)");
		} else {
			r = asg_put_policy_from_xml(ctx->aws, to->asg->name, policies.nodes[i],
			                            &new_arn, &err);
			if (r < 0)
				return ctl_aws_failed(r, &err, "PutScalingPolicy '%s' on '%s'",
				                      name, to->asg->name);
		}
		/* Target-tracking policies own their alarms: AWS re-creates them. */
		if (arn && new_arn && !streq_ptr(type, "TargetTrackingScaling")) {
			if (strv_push(&old_arns, TAKE_PTR(arn)) < 0 ||
			    strv_push(&new_arns, TAKE_PTR(new_arn)) < 0)
				return -ENOMEM;
		}
	}
	rw.old_arns = old_arns;
	rw.new_arns = new_arns;
	r = move_alarms(ctx, &rw);
	if (r < 0)
		return r;

	for (size_t i = 0; i < actions.n; i++) {
		_cleanup_free_ char *name = NULL;

		if (xml_child_text(actions.nodes[i], "ScheduledActionName", &name) < 0)
			continue;
		if (action_expired(actions.nodes[i], rw.now)) {
			log_info("scheduled action '%s' of '%s' already ran: not copied", name,
			         from->asg->name);
			continue;
		}
		r = ctl_step(ctx, "PutScheduledUpdateGroupAction %s %s", to->asg->name, name);
		if (r < 0)
			return r;
		if (ctx->o->dry_run)
			continue;
		r = asg_put_scheduled_action_from_xml(ctx->aws, to->asg->name, actions.nodes[i],
		                                      rewrite_action, &rw, &err);
		if (r < 0)
			return ctl_aws_failed(r, &err, "PutScheduledUpdateGroupAction '%s' on '%s'",
			                      name, to->asg->name);
	}

	/* The replacements exist: now the originals go. */
	for (size_t i = 0; i < policies.n; i++) {
		_cleanup_free_ char *name = NULL;

		if (xml_child_text(policies.nodes[i], "PolicyName", &name) < 0)
			continue;
		r = ctl_step(ctx, "DeletePolicy %s %s", from->asg->name, name);
		if (r < 0)
			return r;
		if (ctx->o->dry_run)
			continue;
		r = asg_delete_policy(ctx->aws, from->asg->name, name, &err);
		if (r < 0)
			return ctl_aws_failed(r, &err, "DeletePolicy '%s' of '%s'", name,
			                      from->asg->name);
	}
	for (size_t i = 0; i < actions.n; i++) {
		_cleanup_free_ char *name = NULL;

		if (xml_child_text(actions.nodes[i], "ScheduledActionName", &name) < 0)
			continue;
		r = ctl_step(ctx, "DeleteScheduledAction %s %s", from->asg->name, name);
		if (r < 0)
			return r;
		if (ctx->o->dry_run)
			continue;
		r = asg_delete_scheduled_action(ctx->aws, from->asg->name, name, &err);
		if (r < 0)
			return ctl_aws_failed(r, &err, "DeleteScheduledAction '%s' of '%s'", name,
			                      from->asg->name);
	}
	return 0;
}
