/*
 * asgswap deploy IMAGE VERSION and asgswap promote IMAGE: the plan of ctl_plan_deploy.c run
 * by the executor. A new set that does not become live in time is undone; a bake that
 * fails is undone too (before the switch the new set goes back to 0, after it the
 * rollback), or with --no-auto-rollback recorded as failed and left as it is.
 */
#include <errno.h>
#include <stdlib.h>

#include "ctl_events.h"
#include "ctl_alarms.h"
#include "ctl_plan.h"
#include "log.h"
#include "strutil.h"
#include "banned.h"

#define DEPLOY_TIMEOUT_S 900.0

/* The planner's arguments with the context, so that every plan sees AWS's clock now. */
struct deploy_run {
	struct ctl_context *ctx;
	struct deploy_args a;
};

static int planner(const struct ctl_service *s, const void *args, struct plan **ret, char **ret_why)
{
	const struct deploy_run *run = args;
	struct deploy_args a = run->a;

	a.now = ctl_aws_now(run->ctx);
	return plan_deploy(s, &a, ret, ret_why);
}

static int abort_planner(const struct ctl_service *s, const void *args, struct plan **ret,
                         char **ret_why)
{
	(void)args;
	return plan_abort_launch(s, ret, ret_why);
}

static int rollback_planner(const struct ctl_service *s, const void *args, struct plan **ret,
                            char **ret_why)
{
	return plan_rollback(s, *(const double *)args, ret, ret_why);
}

/* The release recorded as failed, and why: a person decides (abort or promote). */
static int failed_planner(const struct ctl_service *s, const void *args, struct plan **ret,
                          char **ret_why)
{
	_cleanup_(plan_freep) struct plan *p = plan_new("deploy", s->image);
	_cleanup_free_ char *why = ctl_tag_text(args);
	const struct ctl_release *rel = &s->release;

	(void)ret_why;
	if (!p || !why)
		return -ENOMEM;
	if (!s->have_release)
		return -ESTALE;
	plan_phase(p, 0, 0, "recording the failed release", "recording that the release failed");
	plan_release_step(p, s, rel->from, rel->to, rel->version, "failed", &rel->strategy,
	                  rel->step, 0, false);
	plan_record(p, s, TAG_FAILED, why);
	*ret = TAKE_PTR(p);
	return 0;
}

/* After a failed bake: undone, or left for a person. */
static int bake_failed(struct ctl_context *ctx, struct ctl_service *s, double timeout)
{
	const char *where;
	bool switched;
	int wait, r;

	if (!s->have_release) {
		ctl_lock_release(ctx, s);
		return CTL_EXIT_UNDONE;
	}
	switched = ctl_release_switched(&s->release);
	if (s->release.strategy.no_auto_rollback) {
		r = ctl_exec(ctx, s, failed_planner, ctx->gate_failure, &where, &wait);
		if (r < 0)
			return ctl_stopped(ctx, s, r, where);
		log_error("left as it is (--no-auto-rollback): undo with 'asgswap abort %s', or "
		          "continue with 'asgswap promote %s'",
		          s->image, s->image);
		ctl_outcome(ctx, "failed: %s (left as it is)", ctx->gate_failure);
		ctl_lock_release(ctx, s);
		return CTL_EXIT_UNDONE;
	}
	if (switched) {
		log_error("rolling back to %s", ctl_set_name(s->release.from));
		r = ctl_standby_running(ctx, s, s->release.from);
		if (r < 0) {
			ctl_lock_release(ctx, s);
			return ctl_exit_code(r);
		}
		r = ctl_exec(ctx, s, rollback_planner, &timeout, &where, &wait);
	} else {
		log_error("undoing the release: %s back to 0, %s never left service",
		          ctl_set_name(s->release.to), ctl_set_name(s->release.from));
		r = ctl_exec(ctx, s, abort_planner, NULL, &where, &wait);
	}
	if (r < 0)
		return ctl_stopped(ctx, s, r, where);
	ctl_lock_release(ctx, s);
	return CTL_EXIT_UNDONE;
}

static int run(struct ctl_context *ctx, struct ctl_service *s, struct deploy_run *dr)
{
	const char *where;
	int wait, r;

	r = ctl_exec(ctx, s, planner, dr, &where, &wait);
	if (r == -ETIMEDOUT && wait == WAIT_SETTLED) {
		log_error("a set of '%s' is still moving after %.0f s: nothing was changed",
		          s->image, dr->a.timeout_s);
		ctl_outcome(ctx, "failed: a set still moving after %.0f s", dr->a.timeout_s);
		ctl_lock_release(ctx, s);
		return CTL_EXIT_STATE;
	}
	if (r == -ETIMEDOUT && wait == WAIT_LIVE && s->have_release) {
		log_error("the %s set did not become live within %.0f s: undoing the release",
		          ctl_set_name(s->release.to), dr->a.timeout_s);
		ctl_outcome(ctx, "undone: the %s set did not become live within %.0f s",
		            ctl_set_name(s->release.to), dr->a.timeout_s);
		r = ctl_exec(ctx, s, abort_planner, NULL, &where, &wait);
		if (r < 0)
			return ctl_stopped(ctx, s, r, where);
		ctl_lock_release(ctx, s);
		return CTL_EXIT_UNDONE;
	}
	if (r == -ECANCELED)
		return bake_failed(ctx, s, dr->a.timeout_s);
	if (r < 0)
		return ctl_stopped(ctx, s, r, where);
	ctl_lock_release(ctx, s);
	return 0;
}

int ctl_deploy(struct ctl_context *ctx)
{
	_cleanup_(ctl_service_done) struct ctl_service s = { 0 };
	_cleanup_(ctl_strategy_done) struct ctl_strategy st = { 0 };
	struct deploy_run dr = {
		.ctx = ctx,
		.a = {
			.version = ctx->o->args[1],
			.timeout_s = ctx->o->timeout_s > 0 ? ctx->o->timeout_s : DEPLOY_TIMEOUT_S,
			.force = ctx->o->force,
			.finalize_first = ctx->o->finalize_first,
			.strategy = &st,
		},
	};
	int r;

	st = ctx->o->strategy;
	st.alarms = NULL;
	if (ctl_strategy_steps(&st) == 1 && st.bake_s)
		log_warning("--bake has no effect with one step (--steps, or --bake-after for "
		            "the bake after the switch)");
	r = ctl_observe(ctx, ctx->o->args[0], true, &s);
	if (r < 0)
		return ctl_exit_code(r);
	if (s.have_release && ctx->o->strategy_given && !s.release_error) {
		_cleanup_free_ char *given = NULL, *recorded = NULL;

		if (ctl_strategy_format(&st, &given) < 0 ||
		    ctl_strategy_format(&s.release.strategy, &recorded) < 0)
			return log_error_errno(-ENOMEM, "out of memory"), CTL_EXIT_AWS;
		if (!streq(given, recorded))
			log_warning("a release is in flight: it goes on with its recorded "
			            "strategy (%s), not this one",
			            recorded);
	}
	/* The alarms are resolved once, before any change; a release in flight has them in
	 * its record. */
	if (!s.have_release && (ctx->o->alarm_names || ctx->o->alarm_prefix)) {
		r = ctl_alarms_resolve(ctx, ctx->o->alarm_names, ctx->o->alarm_prefix, &st,
		                       &st.alarms);
		if (r < 0)
			return ctl_exit_code(r);
		{
			_cleanup_strv_free_ char **tags = NULL;

			/* They are recorded with the release: refused before any change. */
			r = ctl_alarms_format(st.alarms, &tags);
			if (r == -E2BIG) {
				log_error("the alarm names do not fit in %d tags of 256 characters",
				          CTL_ALARM_TAGS);
				return CTL_EXIT_USAGE;
			}
			if (r < 0)
				return ctl_exit_code(r);
		}
	}
	return run(ctx, &s, &dr);
}

int ctl_promote(struct ctl_context *ctx)
{
	_cleanup_(ctl_service_done) struct ctl_service s = { 0 };
	_cleanup_free_ char *version = NULL;
	struct deploy_run dr = {
		.ctx = ctx,
		.a = {
			.timeout_s = ctx->o->timeout_s > 0 ? ctx->o->timeout_s : DEPLOY_TIMEOUT_S,
			.promote = true,
		},
	};
	int r;

	r = ctl_observe(ctx, ctx->o->args[0], true, &s);
	if (r < 0)
		return ctl_exit_code(r);
	if (s.release_error) {
		log_error("%s: nothing was changed", s.release_error);
		return CTL_EXIT_STATE;
	}
	if (!s.have_release ||
	    (!streq(s.release.phase, "paused") && !streq(s.release.phase, "failed"))) {
		log_error("no paused release of '%s' to promote%s%s%s", s.image,
		          s.have_release ? " (the release in flight is " : "",
		          s.have_release ? s.release.phase : "", s.have_release ? ")" : "");
		return CTL_EXIT_STATE;
	}
	version = strdup(s.release.version);
	if (!version)
		return log_error_errno(-ENOMEM, "out of memory"), CTL_EXIT_AWS;
	dr.a.version = version;
	return run(ctx, &s, &dr);
}
