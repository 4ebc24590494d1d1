/*
 * asgswap deploy IMAGE VERSION: launch VERSION on the idle set pinned at the live set's
 * size, wait until it is live, move scaling over, then put the old set into Standby.
 * Every step is computed from the observed state and the release record, so a re-run
 * after a crash continues where the last run stopped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "log.h"
#include "strutil.h"
#include "banned.h"

#define DEPLOY_TIMEOUT_S 900.0

/* Refusals that apply to both sets before anything changes. */
static int preflight(struct ctl_service *s, int live, int target)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct ctl_group *g = &s->groups[i];

		if (g->asg->warm_pool) {
			log_error("group '%s' has a warm pool: asgswap does not deploy with warm "
			          "pools",
			          g->asg->name);
			return -ESTALE;
		}
	}
	for (size_t i = 0; i < s->sets[target].n; i++) {
		const struct ctl_group *g = s->sets[target].groups[i];

		if (asg_group_suspended(g->asg, "Launch")) {
			log_error("the Launch process of '%s' is suspended: it could not launch",
			          g->asg->name);
			return -ESTALE;
		}
		if (!ctl_group_has_health_signal(g)) {
			log_error("group '%s' has neither a load balancer nor a launch lifecycle "
			          "hook: there is no health signal to deploy on",
			          g->asg->name);
			return -ESTALE;
		}
	}
	(void)live;
	return 0;
}

static int query_protection(struct query *q, const char *group, char *const *ids, size_t n,
                            bool protect)
{
	return asg_query_set_instance_protection(q, group, ids, n, protect);
}

int ctl_clear_protection(struct ctl_context *ctx, const struct ctl_set *set)
{
	_cleanup_free_ char ***ids = calloc(set->n ? set->n : 1, sizeof(*ids));
	bool any = false;
	int r = 0;

	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; r == 0 && i < set->n; i++) {
		const struct asg_group *a = set->groups[i]->asg;

		for (size_t k = 0; r == 0 && k < a->n_instances; k++)
			if (a->instances[k].protected_from_scale_in)
				r = strv_extend(&ids[i], a->instances[k].id);
		if (r == 0 && ids[i]) {
			any = true;
			r = ctl_step(ctx,
			             "SetInstanceProtection %s ProtectedFromScaleIn=false (%zu "
			             "instances)",
			             a->name, strv_length(ids[i]));
		}
	}
	if (r == 0 && any)
		r = ctl_instance_calls(ctx, set, ids, "SetInstanceProtection", query_protection,
		                       false);
	for (size_t i = 0; i < set->n; i++)
		strv_free(ids[i]);
	return r;
}

int ctl_abort_launch(struct ctl_context *ctx, struct ctl_service *s, int from, int to)
{
	int r = ctl_clear_protection(ctx, &s->sets[to]);

	if (r < 0)
		return r;
	ctl_batch_begin(ctx);
	for (size_t i = 0; r == 0 && i < s->sets[to].n; i++) {
		const struct ctl_group *g = s->sets[to].groups[i];

		if (g->asg->min || g->asg->desired)
			r = ctl_update(ctx, g, 0, -1, 0);
	}
	r = ctl_batch_end_after(ctx, r);
	if (r < 0)
		return r;
	ctl_batch_begin(ctx);
	for (size_t i = 0; r == 0 && i < s->sets[from].n; i++)
		r = ctl_untag(ctx, s->sets[from].groups[i], TAG_SAVED);
	r = ctl_batch_end_after(ctx, r);
	if (r < 0)
		return r;
	return ctl_clear_release(ctx, s);
}

static int step_launch(struct ctl_context *ctx, struct ctl_service *s, int live, int target,
                       const char *version)
{
	int r;

	ctl_batch_begin(ctx);
	for (size_t i = 0; i < s->sets[live].n; i++) {
		const struct ctl_group *g = s->sets[live].groups[i];
		_cleanup_free_ char *v = NULL;

		if (asg_group_tag(g->asg, TAG_SAVED))
			continue;
		if (asprintf(&v, "%u,%u,%u", g->asg->min, g->asg->max, g->asg->desired) < 0)
			return -ENOMEM;
		r = ctl_tag(ctx, g, TAG_SAVED, v, false);
		if (r < 0)
			return r;
	}
	r = ctl_batch_end(ctx);
	if (r == 0)
		r = ctl_set_release(ctx, s, live, target, version, "launching");
	if (r < 0)
		return r;
	ctl_batch_begin(ctx);
	for (size_t i = 0; i < s->sets[target].n; i++) {
		const struct ctl_group *g = s->sets[target].groups[i];

		r = ctl_untag(ctx, g, TAG_ROLLED_BACK);
		if (r < 0)
			return r;
		if (streq_ptr(asg_group_tag(g->asg, TAG_VERSION), version))
			continue;
		r = ctl_tag(ctx, g, TAG_VERSION, version, true);
		if (r < 0)
			return r;
	}
	/* The version must be on every group before any capacity rises. */
	r = ctl_batch_end(ctx);
	if (r < 0)
		return r;
	ctl_batch_begin(ctx);
	for (size_t i = 0; i < s->sets[target].n; i++) {
		const struct ctl_group *g = s->sets[target].groups[i];
		unsigned d = ctl_pair(s, g)->asg->desired;

		if (g->asg->min == d && g->asg->max == d && g->asg->desired == d)
			continue;
		/* Pinned: no policy on the new set yet, and nothing scales it in meanwhile. */
		r = ctl_update(ctx, g, d, d, d);
		if (r < 0)
			return r;
	}
	return ctl_batch_end(ctx);
}

static int lb_description(const struct ctl_set *set, char **ret)
{
	_cleanup_(buf_free) struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < set->n; i++) {
		const struct ctl_group *g = set->groups[i];

		STRV_FOREACH(t, g->tg_names)
			buf_printf(&b, "%sALB %s", b.len ? ", " : "", *t);
		STRV_FOREACH(l, g->asg->load_balancers)
			buf_printf(&b, "%sCLB %s", b.len ? ", " : "", *l);
		if (!g->asg->load_balancers && !g->asg->target_groups)
			buf_printf(&b, "%shook %s", b.len ? ", " : "", g->asg->name);
	}
	*ret = buf_steal(&b);
	return *ret ? 0 : -ENOMEM;
}

static int step_move(struct ctl_context *ctx, struct ctl_service *s, int live, int target,
                     const char *version)
{
	int r = ctl_set_release(ctx, s, live, target, version, "moving");

	if (r < 0)
		return r;
	ctl_batch_begin(ctx);
	for (size_t i = 0; i < s->sets[target].n; i++) {
		const struct ctl_group *g = s->sets[target].groups[i];
		const struct ctl_group *p = ctl_pair(s, g);
		const char *saved = asg_group_tag(p->asg, TAG_SAVED);
		unsigned min, max, desired;

		if (!saved || ctl_parse_saved(saved, &min, &max, &desired) < 0) {
			min = p->asg->min;
			max = p->asg->max;
		}
		unsigned d = ctx->o->dry_run ? p->asg->desired : g->asg->desired;

		max = MAX(max, d);
		min = MIN(min, d);
		if (ctx->o->dry_run || g->asg->min != min || g->asg->max != max) {
			r = ctl_update(ctx, g, min, max, -1);
			if (r < 0)
				return r;
		}
	}
	r = ctl_batch_end(ctx);
	return r < 0 ? r : ctl_move_scaling(ctx, s, live);
}

static int query_enter_standby(struct query *q, const char *group, char *const *ids, size_t n,
                               bool decrement)
{
	return asg_query_enter_standby(q, group, ids, n, decrement);
}

static int step_standby(struct ctl_context *ctx, struct ctl_service *s, int live, int target,
                        const char *version)
{
	char *azr[] = { (char *)"AZRebalance", NULL };
	struct ctl_set *set = &s->sets[live];
	_cleanup_free_ char ***ids = NULL;
	bool any = false;
	char now[32];
	int r = ctl_set_release(ctx, s, live, target, version, "standby");

	if (r < 0)
		return r;
	(void)snprintf(now, sizeof(now), "%lld", (long long)ctl_aws_now(ctx));
	/* Remember what asgswap suspends, so that finalize resumes only that. */
	ctl_batch_begin(ctx);
	for (size_t i = 0; r == 0 && i < set->n; i++) {
		const struct ctl_group *g = set->groups[i];

		if (!asg_group_suspended(g->asg, "AZRebalance") &&
		    !asg_group_tag(g->asg, TAG_SUSPENDED))
			r = ctl_tag(ctx, g, TAG_SUSPENDED, "AZRebalance", false);
	}
	r = ctl_batch_end_after(ctx, r);
	ctl_batch_begin(ctx);
	for (size_t i = 0; r == 0 && i < set->n; i++) {
		const struct ctl_group *g = set->groups[i];
		struct query q = { 0 };

		if (asg_group_suspended(g->asg, "AZRebalance"))
			continue;
		r = ctl_step(ctx, "SuspendProcesses %s AZRebalance", g->asg->name);
		if (r < 0 || ctx->o->dry_run)
			continue;
		r = asg_query_suspend_processes(&q, g->asg->name, azr);
		if (r < 0)
			query_done(&q);
		else
			r = ctl_send(ctx, &q, NULL, NULL, "SuspendProcesses '%s'", g->asg->name);
	}
	r = ctl_batch_end_after(ctx, r);
	r = r < 0 ? r : ctl_clear_protection(ctx, set);
	if (r < 0)
		return r;
	ctl_batch_begin(ctx);
	for (size_t i = 0; r == 0 && i < set->n; i++) {
		const struct ctl_group *g = set->groups[i];

		if (g->asg->min != 0)
			r = ctl_update(ctx, g, 0, -1, -1);
		if (r == 0 && !asg_group_tag(g->asg, TAG_STANDBY_SINCE))
			r = ctl_tag(ctx, g, TAG_STANDBY_SINCE, now, false);
	}
	r = ctl_batch_end_after(ctx, r);
	if (r < 0)
		return r;
	ids = calloc(set->n ? set->n : 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; r == 0 && i < set->n; i++) {
		const struct ctl_group *g = set->groups[i];

		for (size_t k = 0; r == 0 && k < g->asg->n_instances; k++)
			if (streq(g->asg->instances[k].lifecycle, "InService"))
				r = strv_extend(&ids[i], g->asg->instances[k].id);
		if (r < 0 || !ids[i])
			continue;
		any = true;
		r = ctl_step(ctx,
		             "EnterStandby %s ShouldDecrementDesiredCapacity=true (%zu instances)",
		             g->asg->name, strv_length(ids[i]));
	}
	/* Each group's batches of 20 one after another, the groups side by side. */
	if (r == 0 && any)
		r = ctl_instance_calls(ctx, set, ids, "EnterStandby", query_enter_standby, true);
	for (size_t i = 0; i < set->n; i++)
		strv_free(ids[i]);
	return r;
}

int ctl_deploy(struct ctl_context *ctx)
{
	_cleanup_(ctl_service_done) struct ctl_service s = { 0 };
	const char *image = ctx->o->args[0], *version = ctx->o->args[1];
	double timeout = ctx->o->timeout_s > 0 ? ctx->o->timeout_s : DEPLOY_TIMEOUT_S;
	_cleanup_free_ char *phase = NULL, *lbs = NULL;
	int live = -1, target, r;

	r = ctl_observe(ctx, image, true, &s);
	if (r < 0)
		return ctl_exit_code(r);
	if (s.have_release) {
		if (!streq(s.release.phase, "launching") && !streq(s.release.phase, "moving") &&
		    !streq(s.release.phase, "standby")) {
			log_error("a %s of '%s' is in flight (%s=%s>%s:%s:%s): run it again to "
			          "finish",
			          s.release.phase, image, TAG_RELEASE, ctl_set_name(s.release.from),
			          ctl_set_name(s.release.to), s.release.version, s.release.phase);
			return CTL_EXIT_STATE;
		}
		if (!streq(s.release.version, version)) {
			log_error("the release of version '%s' to %s is in flight: finish it with "
			          "'asgswap deploy %s %s' or undo it with 'asgswap rollback %s'",
			          s.release.version, ctl_set_name(s.release.to), image,
			          s.release.version, image);
			return CTL_EXIT_STATE;
		}
		live = s.release.from;
		phase = strdup(s.release.phase);
		if (!phase)
			return CTL_EXIT_AWS;
		log_info("continuing the release of '%s' to %s (phase %s)", version,
		         ctl_set_name(s.release.to), phase);
	} else {
		for (int k = 0; k < _SET_MAX; k++)
			if (s.sets[k].state == CTL_LIVE)
				live = k;
		if (live < 0) {
			log_error(
			        "'%s' has no live set (blue is %s, green is %s): deploy needs one",
			        image, ctl_state_name(s.sets[SET_BLUE].state),
			        ctl_state_name(s.sets[SET_GREEN].state));
			return CTL_EXIT_STATE;
		}
		if (streq_ptr(s.sets[live].version, version) && !ctx->o->force) {
			log_info("'%s' already runs %s on %s: nothing to do (--force redeploys)",
			         image, version, ctl_set_name(live));
			return 0;
		}
	}
	target = !live;
	r = preflight(&s, live, target);
	if (r < 0)
		return ctl_exit_code(r);
	if (!phase && s.sets[target].state == CTL_MOVING) {
		/* Instances still leaving it (a rollback or finalize just returned): a moving
		 * set is waited for, then judged by what it settled to. */
		ctl_step(ctx, "wait settled %s", ctl_set_name(target));
		r = ctl_wait(ctx, &s, target, WAIT_SETTLED, timeout, false);
		if (r == -ETIMEDOUT) {
			log_error("the %s set of '%s' is still moving after %.0f s: nothing was "
			          "changed",
			          ctl_set_name(target), image, timeout);
			return CTL_EXIT_STATE;
		}
		if (r < 0)
			return ctl_exit_code(r);
		if (ctx->o->dry_run) /* the plan goes on as if it settled to idle */
			s.sets[target].state = CTL_IDLE;
	}
	if (!phase && s.sets[target].state != CTL_IDLE) {
		if (s.sets[target].state != CTL_STANDBY) {
			log_error("the %s set of '%s' is %s, not idle: nothing was changed",
			          ctl_set_name(target), image,
			          ctl_state_name(s.sets[target].state));
			return CTL_EXIT_STATE;
		}
		if (!ctx->o->finalize_first) {
			log_error("the %s set of '%s' holds Standby instances of the previous "
			          "release: "
			          "finalize it first ('asgswap finalize %s' or deploy "
			          "--finalize-first)",
			          ctl_set_name(target), image, image);
			return CTL_EXIT_STATE;
		}
	}
	r = ctl_lock_take(ctx, &s);
	if (r < 0)
		return ctl_exit_code(r);
	if (!phase && s.sets[target].state == CTL_STANDBY) {
		r = ctl_finalize_set(ctx, &s, target);
		if (r < 0)
			return ctl_stopped(ctx, &s, r, "finalizing the standby set first");
	}

	if (!phase || streq(phase, "launching")) {
		r = step_launch(ctx, &s, live, target, version);
		if (r < 0)
			return ctl_stopped(ctx, &s, r, "launching the new set");
		if (lb_description(&s.sets[target], &lbs) < 0)
			return CTL_EXIT_AWS;
		ctl_step(ctx, "wait live %s (%s)", ctl_set_name(target), lbs);
		r = ctl_wait(ctx, &s, target, WAIT_LIVE, timeout, true);
		if (r == -ETIMEDOUT) {
			log_error(
			        "the %s set did not become live within %.0f s: undoing the release",
			        ctl_set_name(target), timeout);
			r = ctl_abort_launch(ctx, &s, live, target);
			ctl_lock_release(ctx, &s);
			return r < 0 ? ctl_exit_code(r) : CTL_EXIT_UNDONE;
		}
		if (r < 0)
			return ctl_stopped(ctx, &s, r, "waiting for the new set");
	}
	if (!phase || !streq(phase, "standby")) {
		r = step_move(ctx, &s, live, target, version);
		if (r < 0)
			return ctl_stopped(ctx, &s, r, "moving scaling policies");
	}
	r = step_standby(ctx, &s, live, target, version);
	if (r < 0)
		return ctl_stopped(ctx, &s, r, "putting the old set into Standby");
	ctl_step(ctx, "wait standby %s", ctl_set_name(live));
	r = ctl_wait(ctx, &s, live, WAIT_STANDBY, timeout, false);
	if (r < 0)
		return ctl_stopped(ctx, &s, r, "waiting for the old set to reach Standby");
	r = ctl_clear_release(ctx, &s);
	if (r < 0)
		return ctl_stopped(ctx, &s, r, "clearing the release record");
	ctl_lock_release(ctx, &s);
	if (!ctx->o->dry_run)
		log_info("'%s' %s is live on %s; %s is in Standby until finalize", image, version,
		         ctl_set_name(target), ctl_set_name(live));
	return 0;
}
