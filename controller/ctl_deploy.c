/*
 * asgswap deploy IMAGE VERSION: the plan of ctl_plan_deploy.c run by the executor; a new
 * set that does not become live in time is undone.
 */
#include <errno.h>

#include "ctl_events.h"
#include "ctl_plan.h"
#include "log.h"
#include "banned.h"

#define DEPLOY_TIMEOUT_S 900.0

static int planner(const struct ctl_service *s, const void *args, struct plan **ret, char **ret_why)
{
	return plan_deploy(s, args, ret, ret_why);
}

static int abort_planner(const struct ctl_service *s, const void *args, struct plan **ret,
                         char **ret_why)
{
	(void)args;
	return plan_abort_launch(s, ret, ret_why);
}

int ctl_deploy(struct ctl_context *ctx)
{
	_cleanup_(ctl_service_done) struct ctl_service s = { 0 };
	struct deploy_args a = {
		.version = ctx->o->args[1],
		.timeout_s = ctx->o->timeout_s > 0 ? ctx->o->timeout_s : DEPLOY_TIMEOUT_S,
		.force = ctx->o->force,
		.finalize_first = ctx->o->finalize_first,
	};
	const char *where;
	int wait, r;

	r = ctl_observe(ctx, ctx->o->args[0], true, &s);
	if (r < 0)
		return ctl_exit_code(r);
	a.now = ctl_aws_now(ctx);
	r = ctl_exec(ctx, &s, planner, &a, &where, &wait);
	if (r == -ETIMEDOUT && wait == WAIT_SETTLED) {
		log_error("a set of '%s' is still moving after %.0f s: nothing was changed",
		          s.image, a.timeout_s);
		ctl_outcome(ctx, "failed: a set still moving after %.0f s", a.timeout_s);
		ctl_lock_release(ctx, &s);
		return CTL_EXIT_STATE;
	}
	if (r == -ETIMEDOUT && wait == WAIT_LIVE && s.have_release) {
		log_error("the %s set did not become live within %.0f s: undoing the release",
		          ctl_set_name(s.release.to), a.timeout_s);
		ctl_outcome(ctx, "undone: the %s set did not become live within %.0f s",
		            ctl_set_name(s.release.to), a.timeout_s);
		r = ctl_exec(ctx, &s, abort_planner, NULL, &where, &wait);
		if (r < 0)
			return ctl_stopped(ctx, &s, r, where);
		ctl_lock_release(ctx, &s);
		return CTL_EXIT_UNDONE;
	}
	if (r < 0)
		return ctl_stopped(ctx, &s, r, where);
	ctl_lock_release(ctx, &s);
	return 0;
}
