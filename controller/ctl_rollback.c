/*
 * asgswap rollback IMAGE: the EC2 check of the standby set's instances, then the plan of
 * ctl_plan_rollback.c run by the executor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_plan.h"
#include "ec2.h"
#include "log.h"
#include "strutil.h"
#include "banned.h"

#define ROLLBACK_TIMEOUT_S 900.0

static int standby_ids(const struct ctl_group *g, char ***ret)
{
	for (size_t k = 0; k < g->asg->n_instances; k++)
		if (streq(g->asg->instances[k].lifecycle, "Standby") &&
		    strv_extend(ret, g->asg->instances[k].id) < 0)
			return -ENOMEM;
	return 0;
}

/* Rollback refuses Standby instances that EC2 no longer runs: they read healthy in Auto
 * Scaling but would never serve again. */
int ctl_standby_running(struct ctl_context *ctx, struct ctl_service *s, int set)
{
	_cleanup_(lb_targets_done) struct lb_targets states = { 0 };
	_cleanup_strv_free_ char **ids = NULL;
	struct aws_error err = { 0 };
	int r;

	for (size_t i = 0; i < s->sets[set].n; i++) {
		r = standby_ids(s->sets[set].groups[i], &ids);
		if (r < 0)
			return r;
	}
	if (!ids)
		return 0;
	r = ec2_describe_instance_states(ctx->aws, ids, &states, &err);
	if (r < 0)
		return ctl_aws_failed(r, &err, "DescribeInstances");
	STRV_FOREACH(id, ids) {
		const char *st = lb_targets_state(&states, *id);

		if (!st || !streq(st, "running")) {
			log_error(
			        "Standby instance %s of the %s set is %s in EC2: cannot roll back "
			        "to it",
			        *id, ctl_set_name(set), st ? st : "unknown");
			return -ESTALE;
		}
	}
	return 0;
}

static int planner(const struct ctl_service *s, const void *args, struct plan **ret, char **ret_why)
{
	return plan_rollback(s, *(const double *)args, ret, ret_why);
}

static int rollback(struct ctl_context *ctx, bool in_flight)
{
	_cleanup_(ctl_service_done) struct ctl_service s = { 0 };
	double timeout = ctx->o->timeout_s > 0 ? ctx->o->timeout_s : ROLLBACK_TIMEOUT_S;
	const char *where;
	int standby, wait, r;

	r = ctl_observe(ctx, ctx->o->args[0], true, &s);
	if (r < 0)
		return ctl_exit_code(r);
	if (in_flight && !s.have_release && !s.release_error) {
		log_error("no release of '%s' is in flight: nothing to abort (a finished release "
		          "is undone with 'asgswap rollback %s')",
		          s.image, s.image);
		return CTL_EXIT_STATE;
	}
	standby = plan_rollback_standby(&s);
	if (standby >= 0) {
		r = ctl_standby_running(ctx, &s, standby);
		if (r < 0)
			return ctl_exit_code(r);
	}
	r = ctl_exec(ctx, &s, planner, &timeout, &where, &wait);
	if (r < 0)
		return ctl_stopped(ctx, &s, r, where);
	ctl_lock_release(ctx, &s);
	return 0;
}

int ctl_rollback(struct ctl_context *ctx)
{
	return rollback(ctx, false);
}

int ctl_abort(struct ctl_context *ctx)
{
	return rollback(ctx, true);
}
