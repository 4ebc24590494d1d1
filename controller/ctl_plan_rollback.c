/*
 * The rollback plan: bring the Standby set back (ExitStandby, saved sizes), move scaling
 * back to it, and empty the set that replaced it. With a release still launching (or
 * moving scaling), the old set never left service: the plan aborts that release instead.
 */
#include <errno.h>
#include <stdlib.h>

#include "ctl_plan.h"
#include "strutil.h"
#include "banned.h"

static int standby_ids(const struct ctl_group *g, char ***ret)
{
	for (size_t k = 0; k < g->asg->n_instances; k++)
		if (streq(g->asg->instances[k].lifecycle, "Standby") &&
		    strv_extend(ret, g->asg->instances[k].id) < 0)
			return -ENOMEM;
	return 0;
}

static unsigned desired_of(const struct ctl_set *set)
{
	unsigned n = 0;

	for (size_t i = 0; i < set->n; i++)
		n += set->groups[i]->asg->desired;
	return n;
}

/* The undo steps of a launching release, into the current phase. */
static void abort_steps(struct plan *p, const struct ctl_service *s, int from, int to, bool move)
{
	if (move)
		plan_move_scaling(p, s, to);
	plan_clear_protection(p, &s->sets[to]);
	for (size_t i = 0; i < s->sets[to].n; i++) {
		const struct ctl_group *g = s->sets[to].groups[i];

		if (g->asg->min || g->asg->desired)
			plan_update(p, g, 0, -1, 0);
	}
	plan_then(p);
	for (size_t i = 0; i < s->sets[from].n; i++)
		plan_untag(p, s->sets[from].groups[i], TAG_SAVED);
	plan_then(p);
	plan_clear_release(p, s);
}

static int abort_plan(const struct ctl_service *s, bool move, struct plan **ret)
{
	_cleanup_(plan_freep) struct plan *p = plan_new(move ? "rollback" : "abort", s->image);
	int from = s->release.from, to = s->release.to;

	if (!p)
		return -ENOMEM;
	p->from = from;
	p->to = to;
	p->from_version = strdup_or_null(s->sets[from].version);
	p->to_version = strdup_or_null(s->release.version);
	p->from_instances = desired_of(&s->sets[from]);
	p->to_instances = desired_of(&s->sets[to]);
	plan_phase(p, 1, 1, "aborting the release", "aborting the release of %s to %s",
	           s->release.version, ctl_set_name(to));
	abort_steps(p, s, from, to, move);
	plan_done(p, "%s stays live with %s; %s is back to 0", ctl_set_name(from),
	          s->sets[from].version ? s->sets[from].version : "its version", ctl_set_name(to));
	*ret = TAKE_PTR(p);
	return 0;
}

int plan_abort_launch(const struct ctl_service *s, struct plan **ret, char **ret_why)
{
	(void)ret_why;
	if (!s->have_release)
		return -EINVAL;
	return abort_plan(s, false, ret);
}

int plan_rollback_standby(const struct ctl_service *s)
{
	if (s->have_release && streq(s->release.phase, "rollback"))
		return s->release.to;
	if (s->have_release && ctl_release_switched(&s->release))
		return s->release.from;
	if (s->have_release)
		return -1;
	for (int k = 0; k < _SET_MAX; k++)
		if (s->sets[k].state == CTL_STANDBY)
			return k;
	return -1;
}

/* The standby set back into service, its saved sizes restored: MaxSize raised first
 * where ExitStandby needs room (it raises desired by one per instance). */
static void exit_standby(struct plan *p, const struct ctl_set *st)
{
	_cleanup_free_ char ***ids = calloc(st->n ? st->n : 1, sizeof(*ids));

	if (!ids) {
		p->error = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < st->n; i++) {
		const struct ctl_group *g = st->groups[i];
		unsigned n;

		if (standby_ids(g, &ids[i]) < 0)
			p->error = -ENOMEM;
		n = (unsigned)strv_length(ids[i]);
		if (n && g->asg->max < g->asg->desired + n) {
			const char *saved = asg_group_tag(g->asg, TAG_SAVED);
			unsigned min, max = 0, desired;

			if (!saved || ctl_parse_saved(saved, &min, &max, &desired) < 0)
				max = g->asg->max;
			plan_update(p, g, -1, MAX(max, g->asg->desired + n), -1);
		}
	}
	plan_then(p);
	plan_instances(p, st, ids, "ExitStandby", NULL, false, false);
	plan_then(p);
	for (size_t i = 0; i < st->n; i++) {
		const struct ctl_group *g = st->groups[i];
		const char *saved = asg_group_tag(g->asg, TAG_SAVED);
		unsigned n = (unsigned)strv_length(ids[i]), min, max, desired;

		if (!saved || ctl_parse_saved(saved, &min, &max, &desired) < 0) {
			min = g->asg->min;
			max = MAX(g->asg->max, g->asg->desired + n);
			desired = g->asg->desired + n;
		}
		if (n || g->asg->min != min || g->asg->max != max || g->asg->desired != desired)
			plan_update(p, g, min, max, desired);
	}
	plan_then(p);
	for (size_t i = 0; i < st->n; i++)
		strv_free(ids[i]);
}

int plan_rollback(const struct ctl_service *s, double timeout_s, struct plan **ret, char **ret_why)
{
	_cleanup_(plan_freep) struct plan *p = NULL;
	const char *version;
	int standby, live;

	if (s->release_error)
		return set_errorf(ret_why, -ESTALE, "%s: nothing was changed", s->release_error);
	if (s->have_release &&
	    (streq(s->release.phase, "launching") || streq(s->release.phase, "moving")))
		return abort_plan(s, true, ret);
	/* Before the switch the live set never left service: the canary goes back to 0. */
	if (s->have_release && !ctl_release_switched(&s->release) &&
	    (streq(s->release.phase, "baking") || streq(s->release.phase, "paused") ||
	     streq(s->release.phase, "failed")))
		return abort_plan(s, false, ret);
	if (s->have_release && !streq(s->release.phase, "rollback") &&
	    !ctl_release_switched(&s->release))
		return set_errorf(ret_why, -ESTALE, "a %s of '%s' is in flight: finish it first",
		                  s->release.phase, s->image);
	p = plan_new("rollback", s->image);
	if (!p)
		return -ENOMEM;
	standby = plan_rollback_standby(s);
	for (int k = 0; standby < 0 && k < _SET_MAX; k++)
		if (s->sets[k].state == CTL_LIVE && s->sets[!k].n &&
		    asg_group_tag(s->sets[!k].groups[0]->asg, TAG_ROLLED_BACK) &&
		    s->sets[!k].groups[0]->asg->desired == 0) {
			/* What a finished rollback leaves: a re-run after a crash is done. */
			plan_note(p, "'%s' was rolled back to %s already", s->image,
			          ctl_set_name(k));
			*ret = TAKE_PTR(p);
			return 0;
		}
	if (standby < 0)
		return plan_explain_mixed(
		        s,
		        set_errorf(ret_why, -ESTALE,
		                   "'%s' has no standby set to roll back to (blue is %s, green is "
		                   "%s)%s",
		                   s->image, ctl_state_name(s->sets[SET_BLUE].state),
		                   ctl_state_name(s->sets[SET_GREEN].state),
		                   s->sets[SET_BLUE].state == CTL_IDLE ||
		                                   s->sets[SET_GREEN].state == CTL_IDLE
		                           ? ": was it finalized?"
		                           : ""),
		        ret_why);
	live = !standby;
	for (size_t i = 0; i < s->sets[standby].n; i++)
		if (asg_group_suspended(s->sets[standby].groups[i]->asg, "Launch"))
			return set_errorf(ret_why, -ESTALE,
			                  "the Launch process of '%s' is suspended: ExitStandby "
			                  "would fail",
			                  s->sets[standby].groups[i]->asg->name);
	version = s->sets[standby].version ? s->sets[standby].version : "unknown";
	p->from = live;
	p->to = standby;
	p->from_version = strdup_or_null(s->sets[live].version);
	p->to_version = strdup(version);
	p->from_instances = desired_of(&s->sets[live]);
	for (size_t i = 0; i < s->sets[standby].n; i++) {
		_cleanup_strv_free_ char **ids = NULL;

		if (standby_ids(s->sets[standby].groups[i], &ids) < 0)
			return -ENOMEM;
		p->to_instances +=
		        (unsigned)strv_length(ids) + s->sets[standby].groups[i]->asg->desired;
	}
	plan_phase(p, 1, 3, "bringing the standby set back", "bringing %s %s back (%u instances)",
	           ctl_set_name(standby), version, p->to_instances);
	plan_release(p, s, live, standby, version, "rollback");
	plan_then(p);
	exit_standby(p, &s->sets[standby]);
	if (s->sets[standby].state != CTL_LIVE)
		plan_wait(p, s, standby, WAIT_LIVE, timeout_s, false, "live %s",
		          ctl_set_name(standby));
	plan_phase(p, 2, 3, "moving back to the standby set", "moving scaling back to %s",
	           ctl_set_name(standby));
	plan_move_scaling(p, s, live);
	plan_phase(p, 3, 3, "moving back to the standby set", "emptying %s", ctl_set_name(live));
	plan_clear_protection(p, &s->sets[live]);
	for (size_t i = 0; i < s->sets[live].n; i++) {
		const struct ctl_group *g = s->sets[live].groups[i];
		const char *v = asg_group_tag(g->asg, TAG_VERSION);

		if (g->asg->min || g->asg->desired)
			plan_update(p, g, 0, -1, 0);
		if (v && !streq_ptr(asg_group_tag(g->asg, TAG_ROLLED_BACK), v))
			plan_tag(p, g, TAG_ROLLED_BACK, v, false);
	}
	plan_then(p);
	plan_clear_standby_records(p, &s->sets[standby]);
	plan_clear_release(p, s);
	plan_done(p,
	          "%s runs %s again and %s is emptied; a new release starts with "
	          "'asgswap deploy %s VERSION'",
	          ctl_set_name(standby), version, ctl_set_name(live), s->image);
	*ret = TAKE_PTR(p);
	return 0;
}
