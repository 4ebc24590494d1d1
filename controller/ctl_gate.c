/*
 * A bake (a plan's gate): until its end in AWS's clock, every poll observes the service
 * (which checks and renews the lock), asks CloudWatch for the alarms' state, and checks
 * that every instance of the new set seen serving still is. An alarm in ALARM or an
 * instance that stopped serving fails it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ctl_alarms.h"
#include "ctl_plan.h"
#include "log.h"
#include "strutil.h"
#include "timeutil.h"
#include "banned.h"

static bool strv_has(char *const *v, const char *s)
{
	STRV_FOREACH(i, v)
		if (streq(*i, s))
			return true;
	return false;
}

static const struct ctl_instance *find_instance(const struct ctl_set *set, const char *id)
{
	for (size_t i = 0; i < set->n; i++)
		for (size_t k = 0; k < set->groups[i]->asg->n_instances; k++)
			if (streq(set->groups[i]->asg->instances[k].id, id))
				return &set->groups[i]->instances[k];
	return NULL;
}

/* The first instance seen serving that no longer is (its message in *ret), after adding
 * those newly serving to *watched. */
static int check_health(const struct ctl_set *set, int k, char ***watched, unsigned *ret_serving,
                        unsigned *ret_desired, char **ret)
{
	unsigned serving = 0, desired = 0;

	*ret = NULL;
	for (size_t i = 0; i < set->n; i++) {
		const struct ctl_group *g = set->groups[i];

		desired += g->asg->desired;
		serving += g->serving;
		for (size_t n = 0; n < g->asg->n_instances; n++)
			if (g->instances[n].serving &&
			    !strv_has(*watched, g->asg->instances[n].id) &&
			    strv_extend(watched, g->asg->instances[n].id) < 0)
				return -ENOMEM;
	}
	*ret_serving = serving;
	*ret_desired = desired;
	STRV_FOREACH(id, *watched) {
		const struct ctl_instance *in = find_instance(set, *id);

		if (in && in->serving)
			continue;
		if (!in)
			return asprintf(ret, "instance %s of %s is gone", *id, ctl_set_name(k)) < 0
			               ? -ENOMEM
			               : 0;
		return asprintf(ret, "instance %s of %s stopped serving (%s, %s, %s%s%s)", *id,
		                ctl_set_name(k), in->asg->lifecycle, in->asg->health,
		                in->health ? in->health : "unknown", in->reason ? ": " : "",
		                in->reason ? in->reason : "") < 0
		               ? -ENOMEM
		               : 0;
	}
	return 0;
}

/* Seconds past a bake's end during which failed checks are tried again. */
#define GATE_CHECK_GRACE_S 60

int ctl_gate(struct ctl_context *ctx, struct ctl_service *s, const struct step *st)
{
	_cleanup_strv_free_ char **watched = NULL;
	_cleanup_free_ char *last = NULL;
	double start = ctl_now(), last_at = 0;
	int level = log_get_max_level(), r;

	for (;;) {
		_cleanup_free_ char *failure = NULL, *firing = NULL, *key = NULL, *line = NULL;
		unsigned ok = 0, missing = 0, serving = 0, desired = 0;
		struct ctl_service fresh;
		char left[48];
		bool checked = false;
		time_t now;

		if (ctl_stop_requested())
			return -EINTR;
		if (level < LOG_DEBUG)
			log_set_max_level(LOG_CRIT);
		r = ctl_observe(ctx, s->image, true, &fresh);
		log_set_max_level(level);
		if (r == -ENOMEM || r == -EINTR)
			return r;
		if (r < 0) {
			log_warning("observing '%s' failed: trying again at the next poll",
			            s->image);
			goto next;
		}
		checked = true;
		ctl_service_done(s);
		*s = fresh;
		r = ctl_lock_check(ctx, s);
		if (r < 0)
			return r;
		r = check_health(&s->sets[st->set], st->set, &watched, &serving, &desired,
		                 &failure);
		if (r < 0)
			return r;
		if (!failure && st->alarms) {
			if (level < LOG_DEBUG)
				log_set_max_level(LOG_CRIT);
			r = ctl_alarms_poll(ctx, st->alarms, &firing, &ok, &missing);
			log_set_max_level(level);
			if (r == -ENOMEM || r == -EINTR)
				return r;
			if (r < 0) {
				log_warning("DescribeAlarms failed: trying again at the next poll");
				checked = false;
			} else if (firing &&
			           asprintf(&failure, "alarm '%s' is in ALARM", firing) < 0)
				return -ENOMEM;
		}
		if (failure) {
			ctl_progress_clear();
			log_error("%s: the bake of %s %s failed", failure, st->version, st->label);
			if (firing)
				ctl_outcome(ctx, "undone by alarm %s", firing);
			else
				ctl_outcome(ctx, "undone: %s", failure);
			free(ctx->gate_failure);
			ctx->gate_failure = TAKE_PTR(failure);
			return -ECANCELED;
		}
		now = ctl_aws_now(ctx);
		ctl_format_span(now < st->until ? (long long)(st->until - now) : 0, left,
		                sizeof(left));
		if (asprintf(&key, "%u alarm%s OK%s, %s %u/%u healthy", ok, ok == 1 ? "" : "s",
		             missing ? " (some no longer exist)" : "", ctl_set_name(st->set),
		             serving, desired) < 0 ||
		    asprintf(&line, "baking %s %s: %s left, %s", st->version, st->label, left,
		             key) < 0)
			return -ENOMEM;
		ctl_progress_text(ctx, line, key, ctl_now() - start, &last, &last_at);
		if (now >= st->until && checked) {
			ctl_progress_clear();
			return 0;
		}
	next:
		now = ctl_aws_now(ctx);
		/* A bake ends with one whole check after its end, never on a failed one. */
		if (now >= st->until + GATE_CHECK_GRACE_S) {
			ctl_progress_clear();
			log_error("the bake of %s %s ended but it could not be checked for %d s: "
			          "stopping; the same command checks it again",
			          st->version, st->label, GATE_CHECK_GRACE_S);
			return r < 0 ? r : -EREMOTEIO;
		}
		sleep_s(now >= st->until ? ctx->o->poll_s
		                         : MIN(ctx->o->poll_s, (double)(st->until - now)));
	}
}
