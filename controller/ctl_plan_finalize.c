/*
 * The finalize plan: terminate the standby set's instances (desired is 0 already and must
 * stay 0), wait until they are gone, resume the processes asgswap suspended there and
 * clear its records.
 */
#include <errno.h>
#include <stdlib.h>

#include "ctl_plan.h"
#include "strutil.h"
#include "banned.h"

bool plan_is_standby_set(const struct ctl_set *set)
{
	if (set->state == CTL_STANDBY)
		return true;
	for (size_t i = 0; i < set->n; i++)
		if (set->groups[i]->asg->desired || !asg_group_tag(set->groups[i]->asg, TAG_SAVED))
			return false;
	return set->n > 0 && set->state != CTL_LIVE;
}

/* What a finalize stopped while clearing its records leaves behind. */
bool plan_has_leftovers(const struct ctl_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		if (asg_group_tag(set->groups[i]->asg, TAG_SAVED) ||
		    asg_group_tag(set->groups[i]->asg, TAG_SUSPENDED) ||
		    asg_group_tag(set->groups[i]->asg, TAG_STANDBY_SINCE))
			return true;
	return false;
}

static unsigned standby_count(const struct ctl_set *set)
{
	unsigned n = 0;

	for (size_t i = 0; i < set->n; i++)
		for (size_t k = 0; k < set->groups[i]->asg->n_instances; k++)
			n += streq(set->groups[i]->asg->instances[k].lifecycle, "Standby");
	return n;
}

/* The processes asgswap suspended on g (asgswap:suspended) that are still suspended. */
static void resume_ours(struct plan *p, const struct ctl_group *g)
{
	const char *susp = asg_group_tag(g->asg, TAG_SUSPENDED);
	_cleanup_strv_free_ char **procs = NULL;
	_cleanup_free_ char *copy = NULL;
	char *q, *comma;

	if (!susp || !*susp)
		return;
	copy = strdup(susp);
	if (!copy) {
		p->error = -ENOMEM;
		return;
	}
	for (q = copy; q; q = comma ? comma + 1 : NULL) {
		comma = strchr(q, ',');
		if (comma)
			*comma = '\0';
		if (*q && asg_group_suspended(g->asg, q) && strv_extend(&procs, q) < 0)
			p->error = -ENOMEM;
	}
	if (procs)
		plan_processes(p, g, "ResumeProcesses", procs);
}

/* Records asgswap keeps on a standby set, and the processes it suspended there; the saved
 * sizes go last, as they mark the set as ours until then. */
void plan_clear_standby_records(struct plan *p, const struct ctl_set *set)
{
	static const char *const first[] = { TAG_SUSPENDED, TAG_STANDBY_SINCE, TAG_ROLLED_BACK,
		                             NULL };
	static const char *const last[] = { TAG_SAVED, NULL };

	for (size_t i = 0; i < set->n; i++)
		resume_ours(p, set->groups[i]);
	plan_then(p);
	for (size_t i = 0; i < set->n; i++)
		plan_untag_keys(p, set->groups[i], first);
	plan_then(p);
	for (size_t i = 0; i < set->n; i++)
		plan_untag_keys(p, set->groups[i], last);
	plan_then(p);
}

void plan_finalize_set(struct plan *p, const struct ctl_service *s, int set, double timeout_s,
                       unsigned number, unsigned of, const char *where)
{
	const struct ctl_set *st = &s->sets[set];

	plan_phase(p, number, of, where, "terminating the %u Standby instances of %s",
	           standby_count(st), ctl_set_name(set));
	for (size_t i = 0; i < st->n; i++) {
		const struct asg_group *a = st->groups[i]->asg;

		for (size_t k = 0; k < a->n_instances; k++)
			if (streq(a->instances[k].lifecycle, "Standby"))
				plan_terminate(p, st->groups[i], a->instances[k].id);
	}
	if (st->state != CTL_IDLE)
		plan_wait(p, s, set, WAIT_GONE, timeout_s, false, "gone %s", ctl_set_name(set));
	plan_phase(p, number ? number + 1 : 0, of, where, "clearing the records of %s",
	           ctl_set_name(set));
	/* Only judged once the instances are gone: until then desired is 0 as deploy left it. */
	if (st->state == CTL_IDLE)
		for (size_t i = 0; i < st->n; i++)
			if (st->groups[i]->asg->desired != 0)
				plan_update(p, st->groups[i], 0, -1, 0);
	plan_then(p);
	plan_clear_standby_records(p, st);
}

int plan_finalize(const struct ctl_service *s, double timeout_s, struct plan **ret, char **ret_why)
{
	_cleanup_(plan_freep) struct plan *p = plan_new("finalize", s->image);
	int set = -1;

	if (!p)
		return -ENOMEM;
	if (s->have_release)
		return set_errorf(ret_why, -ESTALE,
		                  "a %s of '%s' to %s is in flight: finish it before finalize",
		                  s->release.phase, s->image, ctl_set_name(s->release.to));
	for (int k = 0; k < _SET_MAX; k++)
		if (plan_is_standby_set(&s->sets[k]) && s->sets[!k].state == CTL_LIVE)
			set = k;
	for (int k = 0; set < 0 && k < _SET_MAX; k++)
		if (s->sets[k].state == CTL_IDLE && s->sets[!k].state == CTL_LIVE) {
			if (!plan_has_leftovers(&s->sets[k])) {
				plan_note(p, "'%s' has no standby set: nothing to finalize",
				          s->image);
				*ret = TAKE_PTR(p);
				return 0;
			}
			set = k;
		}
	if (set < 0)
		return plan_explain_mixed(
		        s,
		        set_errorf(ret_why, -ESTALE,
		                   "'%s' has no standby set to finalize (blue is %s, green is %s)",
		                   s->image, ctl_state_name(s->sets[SET_BLUE].state),
		                   ctl_state_name(s->sets[SET_GREEN].state)),
		        ret_why);
	p->from = !set;
	p->to = set;
	p->from_version = strdup_or_null(s->sets[!set].version);
	p->to_version = strdup_or_null(s->sets[set].version);
	for (size_t i = 0; i < s->sets[!set].n; i++)
		p->from_instances += s->sets[!set].groups[i]->asg->desired;
	plan_finalize_set(p, s, set, timeout_s, 1, 2, "finalizing");
	plan_done(p, "%s is the only set of '%s' now; the next deploy goes to %s",
	          ctl_set_name(!set), s->image, ctl_set_name(set));
	*ret = TAKE_PTR(p);
	return 0;
}
