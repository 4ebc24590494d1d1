/* asgswap finalize IMAGE: terminate the Standby set for good (the plan: ctl_plan_finalize.c). */
#include <errno.h>

#include "ctl_plan.h"
#include "banned.h"

#define FINALIZE_TIMEOUT_S 900.0

static int planner(const struct ctl_service *s, const void *args, struct plan **ret, char **ret_why)
{
	return plan_finalize(s, *(const double *)args, ret, ret_why);
}

int ctl_finalize(struct ctl_context *ctx)
{
	_cleanup_(ctl_service_done) struct ctl_service s = { 0 };
	double timeout = ctx->o->timeout_s > 0 ? ctx->o->timeout_s : FINALIZE_TIMEOUT_S;
	const char *where;
	int wait, r;

	r = ctl_observe(ctx, ctx->o->args[0], true, &s);
	if (r < 0)
		return ctl_exit_code(r);
	r = ctl_exec(ctx, &s, planner, &timeout, &where, &wait);
	if (r < 0)
		return ctl_stopped(ctx, &s, r, where);
	ctl_lock_release(ctx, &s);
	return 0;
}
