/*
 * The deploy plan: launch VERSION on the idle set pinned at the live set's size, wait
 * until it is live, move scaling over, then put the old set into Standby. Computed from
 * the observed state and the release record, so that a re-run after a crash (and the
 * executor after every wait) continues where things stand.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl_plan.h"
#include "strutil.h"
#include "banned.h"

/* Refusals that apply to both sets before anything changes. */
static int preflight(const struct ctl_service *s, int target, char **ret_why)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->groups[i].asg->warm_pool)
			return set_errorf(
			        ret_why, -ESTALE,
			        "group '%s' has a warm pool: asgswap does not deploy with "
			        "warm pools",
			        s->groups[i].asg->name);
	for (size_t i = 0; i < s->sets[target].n; i++) {
		const struct ctl_group *g = s->sets[target].groups[i];

		if (asg_group_suspended(g->asg, "Launch"))
			return set_errorf(ret_why, -ESTALE,
			                  "the Launch process of '%s' is suspended: it could not "
			                  "launch",
			                  g->asg->name);
		if (!ctl_group_has_health_signal(g))
			return set_errorf(ret_why, -ESTALE,
			                  "group '%s' has neither a load balancer nor a launch "
			                  "lifecycle hook: there is no health signal to deploy on",
			                  g->asg->name);
	}
	return 0;
}

static int lb_description(const struct ctl_set *set, char **ret)
{
	_cleanup_(buf_free) struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < set->n; i++) {
		const struct ctl_group *g = set->groups[i];

		STRV_FOREACH(t, g->tg_names)
			(void)buf_printf(&b, "%sALB %s", b.len ? ", " : "", *t);
		STRV_FOREACH(l, g->asg->load_balancers)
			(void)buf_printf(&b, "%sCLB %s", b.len ? ", " : "", *l);
		if (!g->asg->load_balancers && !g->asg->target_groups)
			(void)buf_printf(&b, "%shook %s", b.len ? ", " : "", g->asg->name);
	}
	*ret = buf_steal(&b);
	return *ret ? 0 : -ENOMEM;
}

/* Instances of g that are not gone: what the live set holds, grown or not. */
static unsigned present(const struct ctl_group *g)
{
	unsigned n = 0;

	for (size_t k = 0; k < g->asg->n_instances; k++)
		n += !streq(g->asg->instances[k].lifecycle, "Terminated") &&
		     !startswith(g->asg->instances[k].lifecycle, "Terminating");
	return n;
}

static unsigned desired_of(const struct ctl_set *set)
{
	unsigned n = 0;

	for (size_t i = 0; i < set->n; i++)
		n += set->groups[i]->asg->desired;
	return n;
}

/* The records and the version of every group of the target. */
static void record_steps(struct plan *p, const struct ctl_service *s, int live, int target,
                         const char *version, const struct ctl_strategy *st)
{
	for (size_t i = 0; i < s->sets[live].n; i++) {
		const struct ctl_group *g = s->sets[live].groups[i];
		char v[64];

		if (asg_group_tag(g->asg, TAG_SAVED))
			continue;
		(void)snprintf(v, sizeof(v), "%u,%u,%u", g->asg->min, g->asg->max, g->asg->desired);
		plan_tag(p, g, TAG_SAVED, v, false);
	}
	plan_release_step(p, s, live, target, version, "launching", st, 1, 0, true);
	/* In the same calls: the version is on every group before any capacity rises. */
	for (size_t i = 0; i < s->sets[target].n; i++) {
		const struct ctl_group *g = s->sets[target].groups[i];

		plan_untag(p, g, TAG_ROLLED_BACK);
		if (!streq_ptr(asg_group_tag(g->asg, TAG_VERSION), version))
			plan_tag(p, g, TAG_VERSION, version, true);
	}
	plan_then(p);
}

static void move_steps(struct plan *p, const struct ctl_service *s, int live, int target,
                       const char *version, const struct ctl_strategy *strategy, bool predicted)
{
	unsigned n = ctl_strategy_steps(strategy);

	plan_release_step(p, s, live, target, version, "moving", strategy, n, 0, false);
	plan_then(p);
	for (size_t i = 0; i < s->sets[target].n; i++) {
		const struct ctl_group *g = s->sets[target].groups[i];
		const struct ctl_group *pr = ctl_pair((struct ctl_service *)s, g);
		const char *saved = asg_group_tag(pr->asg, TAG_SAVED);
		unsigned min, max, desired, d = predicted ? pr->asg->desired : g->asg->desired;

		if (!saved || ctl_parse_saved(saved, &min, &max, &desired) < 0) {
			min = pr->asg->min;
			max = pr->asg->max;
		}
		max = MAX(max, d);
		min = MIN(min, d);
		if (predicted || g->asg->min != min || g->asg->max != max)
			plan_update(p, g, min, max, -1);
	}
	plan_move_scaling(p, s, live);
}

static void standby_steps(struct plan *p, const struct ctl_service *s, int live, int target,
                          const struct deploy_args *a, const struct ctl_strategy *strategy,
                          bool predicted)
{
	const struct ctl_set *set = &s->sets[live];
	char *azr[] = { (char *)"AZRebalance", NULL };
	_cleanup_free_ char ***ids = calloc(set->n ? set->n : 1, sizeof(*ids));
	bool grew = false;
	char now[32];

	if (!ids) {
		p->error = -ENOMEM;
		return;
	}
	plan_release_step(p, s, live, target, a->version, "standby", strategy,
	                  ctl_strategy_steps(strategy), 0, false);
	/* The live set grew during the release (a policy, a scheduled action, an operator):
	 * the new set follows and is waited live, so that the release ends at the grown size
	 * with every old instance in Standby. */
	for (size_t i = 0; !predicted && i < set->n; i++) {
		const struct ctl_group *g = set->groups[i];
		const struct ctl_group *t = ctl_pair((struct ctl_service *)s, g);
		unsigned want = present(g);

		if (want > t->asg->desired) {
			plan_update(p, t, -1, MAX(t->asg->max, want), want);
			grew = true;
		}
	}
	if (grew) {
		struct step *w = plan_wait(p, s, target, WAIT_LIVE, a->timeout_s, false,
		                           "live %s (grown with %s)", ctl_set_name(target),
		                           ctl_set_name(live));

		if (w)
			w->where = "waiting for the new set";
	}
	/* Remember what asgswap suspends, so that finalize resumes only that. */
	for (size_t i = 0; i < set->n; i++) {
		const struct ctl_group *g = set->groups[i];

		if (!asg_group_suspended(g->asg, "AZRebalance") &&
		    !asg_group_tag(g->asg, TAG_SUSPENDED))
			plan_tag(p, g, TAG_SUSPENDED, "AZRebalance", false);
	}
	plan_then(p);
	for (size_t i = 0; i < set->n; i++)
		if (!asg_group_suspended(set->groups[i]->asg, "AZRebalance"))
			plan_processes(p, set->groups[i], "SuspendProcesses", azr);
	plan_then(p);
	plan_clear_protection(p, set);
	(void)snprintf(now, sizeof(now), "%lld", (long long)a->now);
	for (size_t i = 0; i < set->n; i++) {
		const struct ctl_group *g = set->groups[i];
		if (g->asg->min != 0)
			plan_update(p, g, 0, -1, -1);
		if (!asg_group_tag(g->asg, TAG_STANDBY_SINCE))
			plan_tag(p, g, TAG_STANDBY_SINCE, now, false);
	}
	plan_then(p);
	for (size_t i = 0; i < set->n; i++) {
		const struct asg_group *g = set->groups[i]->asg;

		for (size_t k = 0; k < g->n_instances; k++)
			if (streq(g->instances[k].lifecycle, "InService") &&
			    strv_extend(&ids[i], g->instances[k].id) < 0)
				p->error = -ENOMEM;
	}
	plan_instances(p, set, ids, "EnterStandby", "ShouldDecrementDesiredCapacity", true, false);
	for (size_t i = 0; i < set->n; i++)
		strv_free(ids[i]);
	if (predicted || set->state != CTL_STANDBY) {
		struct step *w = plan_wait(p, s, live, WAIT_STANDBY, a->timeout_s, false,
		                           "standby %s", ctl_set_name(live));

		if (w)
			w->where = "waiting for the old set to reach Standby";
	}
	/* With a bake after the switch the record stays until it ends. */
	if (!strategy->bake_after_s)
		plan_clear_release(p, s);
}

/* Phase numbers of a release of n steps: 1 records it; for each step k < n the launch of
 * its share and, with --bake, its bake; then the launch of all (step n), moving scaling,
 * Standby, and with --bake-after the bake after the switch. */
struct layout {
	unsigned n, bake, after;
};

static unsigned num_launch(const struct layout *l, unsigned k)
{
	return 2 + (k - 1) * (1 + l->bake);
}

static unsigned num_move(const struct layout *l)
{
	return num_launch(l, l->n) + 1;
}

static unsigned num_total(const struct layout *l)
{
	return num_move(l) + 1 + l->after;
}

static unsigned share_percent(unsigned n_new, unsigned n_live)
{
	return n_new + n_live ? (n_new * 100 + (n_new + n_live) / 2) / (n_new + n_live) : 0;
}

/* What `paused` and the closing line of a pause say. */
static void pause_line(struct plan *p, const struct ctl_service *s, const struct ctl_strategy *st,
                       unsigned k)
{
	plan_done(p,
	          "paused at step %u of %u (%u %%): continue with 'asgswap promote %s', undo "
	          "with 'asgswap abort %s'",
	          k, ctl_strategy_steps(st), ctl_strategy_percent(st, k), s->image, s->image);
	p->paused = true;
}

/* Step k's share pinned on every group of the target (all of it at the last step), then
 * waited live. Returns whether the rest is predicted. */
static bool launch_steps(struct plan *p, const struct ctl_service *s, int live, int target,
                         const struct deploy_args *a, const struct ctl_strategy *st,
                         const struct layout *l, unsigned k, bool transition, bool predicted,
                         const char *lbs)
{
	unsigned pct = ctl_strategy_percent(st, k), n_new = 0, n_live = 0;
	bool updated = false;

	for (size_t i = 0; i < s->sets[target].n; i++) {
		unsigned d =
		        ctl_pair((struct ctl_service *)s, s->sets[target].groups[i])->asg->desired;

		n_new += ctl_step_size(pct, d);
		n_live += d;
	}
	if (k < l->n)
		plan_phase(p, num_launch(l, k), num_total(l), "launching the new set",
		           "canary step %u of %u: %s %u of %u instances, %u %%", k, l->n,
		           ctl_set_name(target), n_new, n_new + n_live,
		           share_percent(n_new, n_live));
	else if (l->n > 1)
		plan_phase(p, num_launch(l, k), num_total(l), "launching the new set",
		           "step %u of %u: launching %s %s (%u instances)", k, l->n,
		           ctl_set_name(target), a->version, n_new);
	else
		plan_phase(p, 2, num_total(l), "launching the new set",
		           "launching %s %s (%u instances)", ctl_set_name(target), a->version,
		           n_new);
	if (transition) {
		plan_release_step(p, s, live, target, a->version, "launching", st, k, 0, false);
		plan_then(p);
	}
	for (size_t i = 0; i < s->sets[target].n; i++) {
		const struct ctl_group *g = s->sets[target].groups[i];
		unsigned d = ctl_step_size(pct, ctl_pair((struct ctl_service *)s, g)->asg->desired);

		/* Pinned: no policy on the new set yet, and nothing scales it in. */
		if (predicted || g->asg->min != d || g->asg->max != d || g->asg->desired != d) {
			plan_update(p, g, d, d, d);
			updated = true;
		}
	}
	if (predicted || s->sets[target].state != CTL_LIVE || (l->n > 1 && updated)) {
		/* The live set's growth is followed at the last step; a canary share is
		 * recomputed at the next step. */
		struct step *w = plan_wait(p, s, target, WAIT_LIVE, a->timeout_s, k == l->n,
		                           "live %s (%s)", ctl_set_name(target), lbs);

		if (w)
			w->where = "waiting for the new set";
		predicted = true;
	}
	return predicted;
}

/* The bake of step k (k == n: after the switch), from where the record says it ends; no
 * gate once it has ended. Returns whether the rest is predicted. */
static bool bake_steps(struct plan *p, const struct ctl_service *s, int live, int target,
                       const struct deploy_args *a, const struct ctl_strategy *st,
                       const struct layout *l, unsigned k, bool predicted)
{
	unsigned bake = k < l->n ? st->bake_s : st->bake_after_s;
	bool recorded = s->have_release && streq(s->release.phase, "baking") &&
	                s->release.step == k && s->release.bake_end;
	time_t end = recorded && !predicted ? s->release.bake_end : a->now + (time_t)bake;
	char label[64];

	if (k < l->n) {
		(void)snprintf(label, sizeof(label), "at step %u of %u (%u %%)", k, l->n,
		               ctl_strategy_percent(st, k));
		plan_phase(p, num_launch(l, k) + 1, num_total(l), "baking the new version",
		           "baking %s %s", a->version, label);
	} else {
		(void)snprintf(label, sizeof(label), "after the switch");
		plan_phase(p, num_total(l), num_total(l), "baking the new version",
		           "baking %s after the switch (%s in Standby)", a->version,
		           ctl_set_name(live));
	}
	plan_release_step(p, s, live, target, a->version, "baking", st, k, end, false);
	plan_then(p);
	if (predicted || end > a->now) {
		plan_gate(p, s, target, end, bake, st->alarms, a->version, label);
		predicted = true;
	}
	return predicted;
}

int plan_deploy(const struct ctl_service *s, const struct deploy_args *a, struct plan **ret,
                char **ret_why)
{
	_cleanup_(plan_freep) struct plan *p = plan_new("deploy", s->image);
	const char *phase = NULL, *version = a->version;
	const struct ctl_strategy *st = plan_strategy(s, a->strategy);
	_cleanup_free_ char *lbs = NULL;
	enum ctl_state target_state;
	bool predicted = false;
	struct layout l = { ctl_strategy_steps(st), st->bake_s > 0, st->bake_after_s > 0 };
	unsigned cur = 1, k0 = 1;
	int live = -1, target, r;

	if (!p)
		return -ENOMEM;
	if (s->release_error)
		return set_errorf(ret_why, -ESTALE, "%s: nothing was changed", s->release_error);
	if (s->have_release) {
		const char *ph = s->release.phase;
		bool known = streq(ph, "launching") || streq(ph, "moving") ||
		             streq(ph, "standby") || streq(ph, "baking") || streq(ph, "paused") ||
		             streq(ph, "failed");

		if (!known)
			return set_errorf(
			        ret_why, -ESTALE,
			        "a %s of '%s' is in flight (%s=%s>%s:%s:%s): run it again "
			        "to finish",
			        s->release.phase, s->image, TAG_RELEASE,
			        ctl_set_name(s->release.from), ctl_set_name(s->release.to),
			        s->release.version, s->release.phase);
		if (!streq(s->release.version, version))
			return set_errorf(
			        ret_why, -ESTALE,
			        "the release of version '%s' to %s is in flight: finish it "
			        "with 'asgswap deploy %s %s' or undo it with 'asgswap "
			        "rollback %s'",
			        s->release.version, ctl_set_name(s->release.to), s->image,
			        s->release.version, s->image);
		live = s->release.from;
		phase = ph;
		k0 = s->release.step;
		if (streq(ph, "failed") && !a->promote)
			return set_errorf(ret_why, -ESTALE,
			                  "the release of %s to %s failed at step %u of %u (%s): "
			                  "undo it with 'asgswap abort %s' or continue with "
			                  "'asgswap promote %s'",
			                  version, ctl_set_name(s->release.to), k0, l.n,
			                  s->release.failed ? s->release.failed
			                                    : "no reason recorded",
			                  s->image, s->image);
		if (streq(ph, "paused") && !a->promote) {
			pause_line(p, s, st, k0);
			plan_note(p, "%s", p->done);
			*ret = TAKE_PTR(p);
			return 0;
		}
		if (streq(ph, "launching"))
			cur = k0 == 1 ? 1 : num_launch(&l, k0);
		else if (streq(ph, "baking") && k0 < l.n)
			cur = num_launch(&l, k0) + 1;
		else if (streq(ph, "baking"))
			cur = num_total(&l);
		else if (streq(ph, "moving"))
			cur = num_move(&l);
		else if (streq(ph, "standby"))
			cur = num_move(&l) + 1;
		else /* paused or failed, promoted: past the bake of its step */
			cur = k0 < l.n ? num_launch(&l, k0 + 1) : num_total(&l) + 1;
	} else {
		for (int k = 0; k < _SET_MAX; k++)
			if (s->sets[k].state == CTL_LIVE)
				live = k;
		if (live < 0)
			return plan_explain_mixed(
			        s,
			        set_errorf(ret_why, -ESTALE,
			                   "'%s' has no live set (blue is %s, green is %s): deploy "
			                   "needs one",
			                   s->image, ctl_state_name(s->sets[SET_BLUE].state),
			                   ctl_state_name(s->sets[SET_GREEN].state)),
			        ret_why);
		if (streq_ptr(s->sets[live].version, version) && !a->force) {
			plan_note(p,
			          "'%s' already runs %s on %s: nothing to do (--force redeploys)",
			          s->image, version, ctl_set_name(live));
			*ret = TAKE_PTR(p);
			return 0;
		}
	}
	target = !live;
	r = preflight(s, target, ret_why);
	if (r < 0)
		return r;
	p->from = live;
	p->to = target;
	p->from_version = strdup_or_null(s->sets[live].version);
	p->to_version = strdup(version);
	p->from_instances = desired_of(&s->sets[live]);
	/* After the switch the old set's desired is 0: the new set's is the release's size. */
	p->to_instances = s->have_release && ctl_release_switched(&s->release)
	                          ? desired_of(&s->sets[target])
	                          : p->from_instances;
	target_state = s->sets[target].state;
	if (!phase && target_state == CTL_MOVING) {
		/* Instances still leaving it (a rollback or finalize just returned): waited
		 * for, then judged by what it settled to; the plan goes on as if idle. */
		struct step *w;

		plan_phase(p, 0, 0, "waiting for the target set to settle",
		           "waiting for %s to settle", ctl_set_name(target));
		w = plan_wait(p, s, target, WAIT_SETTLED, a->timeout_s, false, "settled %s",
		              ctl_set_name(target));
		(void)w;
		target_state = CTL_IDLE;
		predicted = true;
	}
	if (!phase && target_state != CTL_IDLE) {
		if (target_state != CTL_STANDBY)
			return plan_explain_mixed(
			        s,
			        set_errorf(
			                ret_why, -ESTALE,
			                "the %s set of '%s' is %s, not idle: nothing was changed",
			                ctl_set_name(target), s->image,
			                ctl_state_name(target_state)),
			        ret_why);
		if (!a->finalize_first)
			return set_errorf(ret_why, -ESTALE,
			                  "the %s set of '%s' holds Standby instances of the "
			                  "previous release: finalize it first ('asgswap finalize "
			                  "%s' or deploy --finalize-first)",
			                  ctl_set_name(target), s->image, s->image);
		plan_finalize_set(p, s, target, a->timeout_s, 0, 0,
		                  "finalizing the standby set first");
		predicted = true;
	} else if (!phase && !predicted && plan_has_leftovers(&s->sets[target])) {
		/* A finalize (or --finalize-first) stopped while clearing its records. */
		plan_finalize_set(p, s, target, a->timeout_s, 0, 0,
		                  "finalizing the standby set first");
	}
	if (lb_description(&s->sets[target], &lbs) < 0)
		return -ENOMEM;
	p->n_steps = l.n > 1 ? l.n : 0;
	p->step = p->n_steps ? 1 : 0;
	if (ctl_strategy_format(st, &p->strategy) < 0)
		return -ENOMEM;
	plan_phase(p, 1, num_total(&l), "launching the new set",
	           "recording the release of %s (%s -> %s)", version, ctl_set_name(live),
	           ctl_set_name(target));
	if (cur <= 1)
		record_steps(p, s, live, target, version, st);
	for (unsigned k = 1; k <= l.n; k++) {
		p->step = p->n_steps ? k : 0;
		if (cur <= num_launch(&l, k))
			predicted = launch_steps(
			        p, s, live, target, a, st, &l, k,
			        k > 1 && (predicted || k != k0 || !streq_ptr(phase, "launching")),
			        predicted, lbs);
		if (k == l.n)
			break;
		if (l.bake && cur <= num_launch(&l, k) + 1)
			predicted = bake_steps(p, s, live, target, a, st, &l, k, predicted);
		if (st->pause && cur <= num_launch(&l, k) + l.bake) {
			/* The bake ended (or there is none): a person or a later job decides.
			 * After a wait in this plan the dry run shows it; the real run plans
			 * again there. */
			plan_release_step(p, s, live, target, version, "paused", st, k, 0, false);
			pause_line(p, s, st, k);
			*ret = TAKE_PTR(p);
			return 0;
		}
	}
	plan_phase(p, num_move(&l), num_total(&l), "moving scaling policies",
	           "moving scaling to %s", ctl_set_name(target));
	if (cur <= num_move(&l))
		move_steps(p, s, live, target, version, st, predicted);
	plan_phase(p, num_move(&l) + 1, num_total(&l), "putting the old set into Standby",
	           "%s to Standby", ctl_set_name(live));
	if (cur <= num_move(&l) + 1) {
		standby_steps(p, s, live, target, a, st, predicted);
		predicted = true;
	}
	if (l.after && cur <= num_total(&l)) {
		(void)bake_steps(p, s, live, target, a, st, &l, l.n, predicted);
		plan_clear_release(p, s);
	} else if (cur > num_total(&l)) {
		/* A failed bake after the switch, promoted: the release is done. */
		plan_clear_release(p, s);
	}
	plan_done(p,
	          "%s runs %s on %s; %s is in Standby (billed) until finalize: roll back with "
	          "'asgswap rollback %s', finalize with 'asgswap finalize %s'",
	          s->image, version, ctl_set_name(target), ctl_set_name(live), s->image, s->image);
	*ret = TAKE_PTR(p);
	return 0;
}
