/*
 * The CloudWatch alarms a release watches: resolved once before any change (names and a
 * prefix, refusals, a warning for alarms slower than the bake), then polled by name during
 * bakes.
 */
#include <errno.h>
#include <stdlib.h>

#include "cloudwatch.h"
#include "ctl_alarms.h"
#include "log.h"
#include "strutil.h"
#include "banned.h"

static bool strv_has(char *const *v, const char *s)
{
	STRV_FOREACH(i, v)
		if (streq(*i, s))
			return true;
	return false;
}

/* The shortest bake an alarm has to fire within: a canary bake, else the one after. */
static unsigned shortest_bake(const struct ctl_strategy *st)
{
	if (st->bake_s && st->bake_after_s)
		return MIN(st->bake_s, st->bake_after_s);
	return st->bake_s ? st->bake_s : st->bake_after_s;
}

int ctl_alarms_resolve(struct ctl_context *ctx, char *const *names, const char *prefix,
                       const struct ctl_strategy *st, char ***ret)
{
	_cleanup_(cw_alarms_done) struct cw_alarms named = { 0 }, prefixed = { 0 };
	_cleanup_strv_free_ char **out = NULL;
	struct aws_error err = { 0 };
	unsigned bake = shortest_bake(st);
	int r;

	if (names) {
		r = cw_describe_alarms(ctx->aws, names, NULL, &named, &err);
		if (r < 0)
			return ctl_aws_failed(r, &err, "DescribeAlarms");
		STRV_FOREACH(n, names) {
			if (!cw_alarms_find(&named, *n)) {
				log_error("alarm '%s' does not exist (DescribeAlarms, metric and "
				          "composite alarms): nothing was changed",
				          *n);
				return -EINVAL;
			}
			if (!strv_has(out, *n) && strv_extend(&out, *n) < 0)
				return -ENOMEM;
		}
	}
	if (prefix) {
		r = cw_describe_alarms(ctx->aws, NULL, prefix, &prefixed, &err);
		if (r < 0)
			return ctl_aws_failed(r, &err, "DescribeAlarms");
		if (prefixed.n == 0) {
			log_error("no alarm's name starts with '%s' (--alarm-prefix): nothing was "
			          "changed",
			          prefix);
			return -EINVAL;
		}
		for (size_t i = 0; i < prefixed.n; i++)
			if (!strv_has(out, prefixed.v[i].name) &&
			    strv_extend(&out, prefixed.v[i].name) < 0)
				return -ENOMEM;
	}
	STRV_FOREACH(n, out) {
		const struct cw_alarm *a = cw_alarms_find(&named, *n);

		if (!a)
			a = cw_alarms_find(&prefixed, *n);
		if (streq(a->state, "ALARM") && !st->ignore_alarm_state) {
			log_error("alarm '%s' is in ALARM already: nothing was changed "
			          "(--ignore-alarm-state deploys anyway)",
			          *n);
			return -ESTALE;
		}
		if (!a->composite && bake && a->period &&
		    (unsigned long long)a->period * MAX(a->evaluation_periods, 1U) > bake)
			log_warning("alarm '%s' needs %u x %u s of data to change state, longer "
			            "than the %u s bake: it may not fire in time",
			            *n, MAX(a->evaluation_periods, 1U), a->period, bake);
	}
	if (out && !bake)
		log_warning("the alarms are watched during bakes only, and there is none "
		            "(--bake with --steps, or --bake-after)");
	*ret = TAKE_PTR(out);
	return 0;
}

int ctl_alarms_poll(struct ctl_context *ctx, char *const *names, char **ret_firing,
                    unsigned *ret_ok, unsigned *ret_missing)
{
	_cleanup_(cw_alarms_done) struct cw_alarms got = { 0 };
	struct aws_error err = { 0 };
	unsigned ok = 0, missing = 0;
	int r;

	*ret_firing = NULL;
	r = cw_describe_alarms(ctx->aws, names, NULL, &got, &err);
	if (r < 0)
		return ctl_aws_failed(r, &err, "DescribeAlarms");
	STRV_FOREACH(n, names) {
		const struct cw_alarm *a = cw_alarms_find(&got, *n);

		if (!a)
			missing++;
		else if (streq(a->state, "ALARM")) {
			*ret_firing = strdup(*n);
			if (!*ret_firing)
				return -ENOMEM;
			break;
		} else if (streq(a->state, "OK"))
			ok++;
	}
	*ret_ok = ok;
	*ret_missing = missing;
	return 0;
}

int ctl_alarms_states(struct ctl_context *ctx, char *const *names, char **ret)
{
	_cleanup_(cw_alarms_done) struct cw_alarms got = { 0 };
	_cleanup_(buf_free) struct buf b;
	struct aws_error err = { 0 };
	int r;

	buf_init(&b, 0);
	r = cw_describe_alarms(ctx->aws, names, NULL, &got, &err);
	if (r < 0)
		return ctl_aws_failed(r, &err, "DescribeAlarms");
	STRV_FOREACH(n, names) {
		const struct cw_alarm *a = cw_alarms_find(&got, *n);

		(void)buf_printf(&b, "%s%s %s", b.len ? ", " : "", *n, a ? a->state : "missing");
	}
	*ret = buf_steal(&b);
	return *ret ? 0 : -ENOMEM;
}
