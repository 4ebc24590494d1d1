/* Plans as values, built step by step (ctl_output.c renders them). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_plan.h"
#include "strutil.h"
#include "banned.h"

struct plan *plan_new(const char *command, const char *image)
{
	struct plan *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->from = p->to = -1;
	p->command = strdup(command);
	p->image = strdup(image);
	if (!p->command || !p->image)
		return plan_free(p);
	return p;
}

static void step_done(struct step *st)
{
	free(st->text);
	strv_free(st->groups);
	strv_free(st->params);
	strv_free(st->instances);
	strv_free(st->alarms);
	free(st->label);
}

struct plan *plan_free(struct plan *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_phases; i++) {
		for (size_t k = 0; k < p->phases[i].n; k++)
			step_done(&p->phases[i].steps[k]);
		free(p->phases[i].steps);
		free(p->phases[i].title);
	}
	free(p->phases);
	free(p->command);
	free(p->image);
	free(p->from_version);
	free(p->to_version);
	free(p->strategy);
	free(p->note);
	free(p->done);
	strv_free(p->recorded);
	free(p);
	return NULL;
}

static void fail(struct plan *p, int r)
{
	if (p->error == 0)
		p->error = r;
}

void plan_phase(struct plan *p, unsigned number, unsigned of, const char *where, const char *fmt,
                ...)
{
	struct phase *v = realloc(p->phases, (p->n_phases + 1) * sizeof(*v));
	va_list ap;

	if (!v)
		return fail(p, -ENOMEM);
	p->phases = v;
	v += p->n_phases++;
	*v = (struct phase){ .number = number, .of = of, .where = where, .step = p->step };
	va_start(ap, fmt);
	v->title = strdup_vprintf(fmt, ap);
	va_end(ap);
	if (!v->title)
		fail(p, -ENOMEM);
}

void plan_then(struct plan *p)
{
	struct phase *ph = p->n_phases ? &p->phases[p->n_phases - 1] : NULL;

	if (ph && ph->n && ph->steps[ph->n - 1].round >= ph->round)
		ph->round = ph->steps[ph->n - 1].round + 1;
}

_printf_(3, 0) static void set_text(struct plan *p, char **where, const char *fmt, va_list ap)
{
	free(*where);
	*where = strdup_vprintf(fmt, ap);
	if (!*where)
		fail(p, -ENOMEM);
}

void plan_note(struct plan *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_text(p, &p->note, fmt, ap);
	va_end(ap);
}

void plan_done(struct plan *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_text(p, &p->done, fmt, ap);
	va_end(ap);
}

size_t plan_steps(const struct plan *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_phases; i++)
		n += p->phases[i].n;
	return n;
}

bool plan_mutates(const struct plan *p)
{
	for (size_t i = 0; i < p->n_phases; i++)
		for (size_t k = 0; k < p->phases[i].n; k++)
			if (p->phases[i].steps[k].kind != STEP_WAIT)
				return true;
	return false;
}

static struct step *add_step(struct plan *p, enum step_kind kind, unsigned round)
{
	struct phase *ph;
	struct step *v;

	if (p->n_phases == 0 || p->error)
		return NULL;
	ph = &p->phases[p->n_phases - 1];
	v = realloc(ph->steps, (ph->n + 1) * sizeof(*v));
	if (!v) {
		fail(p, -ENOMEM);
		return NULL;
	}
	ph->steps = v;
	v += ph->n++;
	*v = (struct step){ .kind = kind, .round = round, .set = -1 };
	return v;
}

_printf_(4, 0) static struct step *vadd(struct plan *p, enum step_kind kind, const char *group,
                                        const char *fmt, va_list ap)
{
	struct step *st = add_step(p, kind, p->n_phases ? p->phases[p->n_phases - 1].round : 0);

	if (!st)
		return NULL;
	st->text = strdup_vprintf(fmt, ap);
	if (!st->text || (group && strv_extend(&st->groups, group) < 0))
		fail(p, -ENOMEM);
	return p->error ? NULL : st;
}

struct step *plan_call(struct plan *p, enum aws_service service, const char *action,
                       const char *group, const char *fmt, ...)
{
	struct step *st;
	va_list ap;

	va_start(ap, fmt);
	st = vadd(p, STEP_CALL, group, fmt, ap);
	va_end(ap);
	if (st) {
		st->service = service;
		st->action = action;
	}
	return st;
}

void plan_param(struct plan *p, struct step *st, const char *key, const char *value)
{
	if (!st)
		return;
	if (strv_extend(&st->params, key) < 0 || strv_extend(&st->params, value) < 0)
		fail(p, -ENOMEM);
}

void plan_paramf(struct plan *p, struct step *st, const char *value, const char *keyfmt, ...)
{
	_cleanup_free_ char *key = NULL;
	va_list ap;

	if (!st)
		return;
	va_start(ap, keyfmt);
	key = strdup_vprintf(keyfmt, ap);
	va_end(ap);
	if (!key)
		return fail(p, -ENOMEM);
	plan_param(p, st, key, value);
}

void plan_update(struct plan *p, const struct ctl_group *g, long min, long max, long desired)
{
	char a[48] = "", b[48] = "", c[48] = "";
	struct step *st;

	if (min >= 0)
		(void)snprintf(a, sizeof(a), " MinSize=%ld", min);
	if (max >= 0)
		(void)snprintf(b, sizeof(b), " MaxSize=%ld", max);
	if (desired >= 0)
		(void)snprintf(c, sizeof(c), " DesiredCapacity=%ld", desired);
	st = plan_call(p, AWS_SVC_AUTOSCALING, "UpdateAutoScalingGroup", g->asg->name,
	               "UpdateAutoScalingGroup %s%s%s%s", g->asg->name, a, b, c);
	plan_param(p, st, "AutoScalingGroupName", g->asg->name);
	if (min >= 0)
		plan_param(p, st, "MinSize", a + strlen(" MinSize="));
	if (max >= 0)
		plan_param(p, st, "MaxSize", b + strlen(" MaxSize="));
	if (desired >= 0)
		plan_param(p, st, "DesiredCapacity", c + strlen(" DesiredCapacity="));
}

/* The call of action in the current round that has room for one more tag, or a new one. */
static struct step *tag_call(struct plan *p, const char *action, const char *group, const char *fmt,
                             ...) _printf_(4, 5);
static struct step *tag_call(struct plan *p, const char *action, const char *group, const char *fmt,
                             ...)
{
	struct phase *ph = p->n_phases ? &p->phases[p->n_phases - 1] : NULL;
	_cleanup_free_ char *item = NULL;
	struct step *st = NULL;
	va_list ap;

	va_start(ap, fmt);
	item = strdup_vprintf(fmt, ap);
	va_end(ap);
	if (!item || !ph)
		return fail(p, -ENOMEM), NULL;
	for (size_t k = 0; k < ph->n; k++) {
		struct step *c = &ph->steps[k];

		if (c->kind == STEP_CALL && c->round == ph->round && streq(c->action, action) &&
		    c->items < PLAN_TAGS_PER_CALL)
			st = c;
	}
	if (!st)
		return plan_call(p, AWS_SVC_AUTOSCALING, action, group, "%s %s %s", action, group,
		                 item);
	{
		bool same = streq(st->groups[strv_length(st->groups) - 1], group);
		char *t = NULL;

		if (asprintf(&t, "%s%s%s%s%s", st->text, same ? " " : "; ", same ? "" : group,
		             same ? "" : " ", item) < 0)
			return fail(p, -ENOMEM), NULL;
		free(st->text);
		st->text = t;
		if (!same && strv_extend(&st->groups, group) < 0)
			fail(p, -ENOMEM);
	}
	return st;
}

void plan_tag(struct plan *p, const struct ctl_group *g, const char *key, const char *value,
              bool propagate)
{
	struct step *st = tag_call(p, "CreateOrUpdateTags", g->asg->name, "%s=%s%s", key, value,
	                           propagate ? " PropagateAtLaunch=true" : "");
	unsigned i;

	if (!st)
		return;
	i = ++st->items;
	plan_paramf(p, st, g->asg->name, "Tags.member.%u.ResourceId", i);
	plan_paramf(p, st, "auto-scaling-group", "Tags.member.%u.ResourceType", i);
	plan_paramf(p, st, key, "Tags.member.%u.Key", i);
	plan_paramf(p, st, value, "Tags.member.%u.Value", i);
	plan_paramf(p, st, propagate ? "true" : "false", "Tags.member.%u.PropagateAtLaunch", i);
}

void plan_untag(struct plan *p, const struct ctl_group *g, const char *key)
{
	struct step *st;
	unsigned i;

	if (!asg_group_tag(g->asg, key))
		return;
	st = tag_call(p, "DeleteTags", g->asg->name, "%s", key);
	if (!st)
		return;
	i = ++st->items;
	plan_paramf(p, st, g->asg->name, "Tags.member.%u.ResourceId", i);
	plan_paramf(p, st, "auto-scaling-group", "Tags.member.%u.ResourceType", i);
	plan_paramf(p, st, key, "Tags.member.%u.Key", i);
}

void plan_untag_keys(struct plan *p, const struct ctl_group *g, const char *const *keys)
{
	for (; *keys; keys++)
		plan_untag(p, g, *keys);
}

void plan_instances(struct plan *p, const struct ctl_set *set, char **const *ids,
                    const char *action, const char *flag_key, bool flag, bool destructive)
{
	struct phase *ph = p->n_phases ? &p->phases[p->n_phases - 1] : NULL;
	unsigned base = ph ? ph->round : 0, last = base;

	for (size_t i = 0; i < set->n; i++) {
		const char *name = set->groups[i]->asg->name;
		size_t n = strv_length(ids[i]);

		for (size_t start = 0; start < n; start += ASG_MAX_INSTANCE_IDS) {
			size_t m = MIN(n - start, (size_t)ASG_MAX_INSTANCE_IDS);
			unsigned round = base + (unsigned)(start / ASG_MAX_INSTANCE_IDS);
			struct step *st = add_step(p, STEP_CALL, round);

			if (!st)
				return;
			last = MAX(last, round);
			st->service = AWS_SVC_AUTOSCALING;
			st->action = action;
			st->destructive = destructive;
			if (asprintf(&st->text, "%s %s%s%s%s%s (%zu instances)", action, name,
			             flag_key ? " " : "", flag_key ? flag_key : "",
			             flag_key ? "=" : "", flag_key ? (flag ? "true" : "false") : "",
			             m) < 0) {
				st->text = NULL;
				return fail(p, -ENOMEM);
			}
			if (strv_extend(&st->groups, name) < 0)
				return fail(p, -ENOMEM);
			plan_param(p, st, "AutoScalingGroupName", name);
			for (size_t k = 0; k < m; k++) {
				plan_paramf(p, st, ids[i][start + k], "InstanceIds.member.%zu",
				            k + 1);
				if (strv_extend(&st->instances, ids[i][start + k]) < 0)
					fail(p, -ENOMEM);
			}
			if (flag_key)
				plan_param(p, st, flag_key, flag ? "true" : "false");
		}
	}
	if (ph && last > base)
		ph->round = last;
}

void plan_processes(struct plan *p, const struct ctl_group *g, const char *action,
                    char *const *processes)
{
	_cleanup_(buf_free) struct buf b;
	struct step *st;
	size_t i = 0;

	buf_init(&b, 0);
	STRV_FOREACH(pr, processes)
		(void)buf_printf(&b, "%s%s", b.len ? "," : "", *pr);
	if (!b.data)
		return fail(p, -ENOMEM);
	st = plan_call(p, AWS_SVC_AUTOSCALING, action, g->asg->name, "%s %s %s", action,
	               g->asg->name, b.data);
	plan_param(p, st, "AutoScalingGroupName", g->asg->name);
	STRV_FOREACH(pr, processes)
		plan_paramf(p, st, *pr, "ScalingProcesses.member.%zu", ++i);
}

void plan_terminate(struct plan *p, const struct ctl_group *g, const char *id)
{
	/* Desired is 0 already and must stay 0: no decrement (docs/AWS-NOTES.md). */
	struct step *st = plan_call(
	        p, AWS_SVC_AUTOSCALING, "TerminateInstanceInAutoScalingGroup", g->asg->name,
	        "TerminateInstanceInAutoScalingGroup %s %s ShouldDecrementDesiredCapacity=false",
	        g->asg->name, id);

	if (!st)
		return;
	st->destructive = true;
	st->terminates = 1;
	plan_param(p, st, "InstanceId", id);
	plan_param(p, st, "ShouldDecrementDesiredCapacity", "false");
	if (strv_extend(&st->instances, id) < 0)
		fail(p, -ENOMEM);
}

static const struct ctl_group *canonical(const struct ctl_service *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->groups[i].asg == s->canonical)
			return &s->groups[i];
	return NULL;
}

/* The value this plan wrote last for key on the canonical group, or NULL. */
static const char *written(const struct plan *p, const char *key)
{
	const char *v = NULL;

	for (size_t i = 0; p->recorded && p->recorded[i] && p->recorded[i + 1]; i += 2)
		if (streq(p->recorded[i], key))
			v = p->recorded[i + 1];
	return v;
}

/* key=value on the canonical group unless it says that already, as observed or as written
 * by a step before in this plan. */
static bool record(struct plan *p, const struct ctl_service *s, const char *key, const char *value)
{
	const char *cur = written(p, key);

	if (!cur)
		cur = asg_group_tag(s->canonical, key);
	if (cur && streq(cur, value))
		return false;
	plan_tag(p, canonical(s), key, value, false);
	if (strv_extend(&p->recorded, key) < 0 || strv_extend(&p->recorded, value) < 0)
		fail(p, -ENOMEM);
	return true;
}

void plan_release(struct plan *p, const struct ctl_service *s, int from, int to,
                  const char *version, const char *phase)
{
	_cleanup_free_ char *v = NULL;

	if (asprintf(&v, "%s>%s:%s:%s", ctl_set_name(from), ctl_set_name(to), version, phase) < 0)
		return fail(p, -ENOMEM);
	if (record(p, s, TAG_RELEASE, v))
		p->sets_release = true;
}

void plan_record(struct plan *p, const struct ctl_service *s, const char *key, const char *value)
{
	(void)record(p, s, key, value);
}

void plan_release_step(struct plan *p, const struct ctl_service *s, int from, int to,
                       const char *version, const char *phase, const struct ctl_strategy *st,
                       unsigned k, time_t bake_end, bool strategy)
{
	_cleanup_free_ char *step = NULL;

	plan_release(p, s, from, to, version, phase);
	/* One step of 100 and nothing else: the record of the previous versions. */
	if (ctl_strategy_is_default(st))
		return;
	if (strategy) {
		_cleanup_free_ char *v = NULL;
		_cleanup_strv_free_ char **alarms = NULL;
		int r = ctl_strategy_format(st, &v);

		if (r >= 0)
			r = ctl_alarms_format(st->alarms, &alarms);
		if (r < 0)
			return fail(p, r);
		plan_record(p, s, TAG_STRATEGY, v);
		for (unsigned i = 0; alarms && alarms[i]; i++) {
			char key[32];

			plan_record(p, s, ctl_alarms_tag_key(i, key), alarms[i]);
		}
	}
	if ((bake_end
	             ? asprintf(&step, "%u/%u:%lld", k, ctl_strategy_steps(st), (long long)bake_end)
	             : asprintf(&step, "%u/%u", k, ctl_strategy_steps(st))) < 0)
		return fail(p, -ENOMEM);
	plan_record(p, s, TAG_STEP, step);
}

/* key deleted from g: observed there, or written by a step of this plan before (not
 * observed yet, but there by then). */
static void clear_record(struct plan *p, const struct ctl_group *g, const char *key, bool written)
{
	struct step *st;

	if (asg_group_tag(g->asg, key)) {
		plan_untag(p, g, key);
		return;
	}
	if (!written)
		return;
	st = tag_call(p, "DeleteTags", g->asg->name, "%s", key);
	if (!st)
		return;
	st->items++;
	plan_paramf(p, st, g->asg->name, "Tags.member.%u.ResourceId", st->items);
	plan_paramf(p, st, "auto-scaling-group", "Tags.member.%u.ResourceType", st->items);
	plan_paramf(p, st, key, "Tags.member.%u.Key", st->items);
}

void plan_clear_release(struct plan *p, const struct ctl_service *s)
{
	const struct ctl_group *g = canonical(s);
	const char *keys[] = { TAG_STRATEGY, TAG_STEP, TAG_FAILED };

	clear_record(p, g, TAG_RELEASE, p->sets_release);
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		clear_record(p, g, keys[i], written(p, keys[i]) != NULL);
	for (unsigned i = 0; i < CTL_ALARM_TAGS; i++) {
		char buf[32];
		const char *key = ctl_alarms_tag_key(i, buf);

		clear_record(p, g, key, written(p, key) != NULL);
	}
}

struct step *plan_gate(struct plan *p, const struct ctl_service *s, int set, time_t until,
                       unsigned bake_s, char *const *alarms, const char *version, const char *label)
{
	struct step *st;
	_cleanup_(buf_free) struct buf b;

	buf_init(&b, 0);
	(void)buf_printf(&b, "bake %s %s for %u s: health of %s", version, label, bake_s,
	                 ctl_set_name(set));
	if (alarms) {
		(void)buf_puts(&b, ", alarms");
		STRV_FOREACH(a, alarms)
			(void)buf_printf(&b, " %s", *a);
	}
	st = add_step(p, STEP_GATE, p->phases[p->n_phases - 1].round);
	if (!st)
		return NULL;
	st->text = buf_steal(&b);
	st->set = set;
	st->until = until;
	st->bake_s = bake_s;
	st->version = version;
	st->label = strdup(label);
	st->where = "baking the new version";
	if (!st->text || !st->label)
		fail(p, -ENOMEM);
	for (size_t i = 0; i < s->sets[set].n; i++)
		if (strv_extend(&st->groups, s->sets[set].groups[i]->asg->name) < 0)
			fail(p, -ENOMEM);
	STRV_FOREACH(a, alarms)
		if (strv_extend(&st->alarms, *a) < 0)
			fail(p, -ENOMEM);
	plan_then(p);
	return st;
}

const struct ctl_strategy *plan_strategy(const struct ctl_service *s,
                                         const struct ctl_strategy *given)
{
	static const struct ctl_strategy none;

	if (s->have_release)
		return &s->release.strategy;
	return given ? given : &none;
}

struct step *plan_wait(struct plan *p, const struct ctl_service *s, int set, enum ctl_wait_for what,
                       double timeout_s, bool resync, const char *fmt, ...)
{
	struct step *st;
	va_list ap;

	plan_then(p);
	va_start(ap, fmt);
	st = vadd(p, STEP_WAIT, NULL, fmt, ap);
	va_end(ap);
	plan_then(p);
	if (!st)
		return NULL;
	st->set = set;
	st->what = what;
	st->timeout_s = timeout_s;
	st->resync = resync;
	for (size_t i = 0; i < s->sets[set].n; i++) {
		const struct asg_group *a = s->sets[set].groups[i]->asg;

		if (strv_extend(&st->groups, a->name) < 0)
			fail(p, -ENOMEM);
		for (size_t k = 0; k < a->n_instances; k++)
			if (!streq(a->instances[k].lifecycle, "Terminated") &&
			    strv_extend(&st->instances, a->instances[k].id) < 0)
				fail(p, -ENOMEM);
	}
	return p->error ? NULL : st;
}

void plan_move_scaling(struct plan *p, const struct ctl_service *s, int from_set)
{
	const struct ctl_set *set = &s->sets[from_set];
	struct step *st;

	plan_then(p);
	st = plan_call(p, AWS_SVC_AUTOSCALING, "MoveScaling", NULL,
	               "move scaling policies, scheduled actions and alarms from %s to %s "
	               "(created on %s before they are deleted from %s)",
	               ctl_set_name(from_set), ctl_set_name(!from_set), ctl_set_name(!from_set),
	               ctl_set_name(from_set));
	plan_then(p);
	if (!st)
		return;
	st->kind = STEP_MOVE_SCALING;
	st->action = NULL;
	st->set = from_set;
	for (size_t i = 0; i < set->n; i++)
		if (strv_extend(&st->groups, set->groups[i]->asg->name) < 0 ||
		    strv_extend(&st->groups,
		                ctl_pair((struct ctl_service *)s, set->groups[i])->asg->name) < 0)
			fail(p, -ENOMEM);
}

void plan_clear_protection(struct plan *p, const struct ctl_set *set)
{
	_cleanup_free_ char ***ids = calloc(set->n ? set->n : 1, sizeof(*ids));

	if (!ids)
		return fail(p, -ENOMEM);
	for (size_t i = 0; i < set->n; i++) {
		const struct asg_group *a = set->groups[i]->asg;

		for (size_t k = 0; k < a->n_instances; k++)
			if (a->instances[k].protected_from_scale_in &&
			    strv_extend(&ids[i], a->instances[k].id) < 0)
				fail(p, -ENOMEM);
	}
	plan_instances(p, set, ids, "SetInstanceProtection", "ProtectedFromScaleIn", false, false);
	plan_then(p);
	for (size_t i = 0; i < set->n; i++)
		strv_free(ids[i]);
}

int plan_explain_mixed(const struct ctl_service *s, int r, char **ret_why)
{
	for (int k = 0; r < 0 && ret_why && *ret_why && k < _SET_MAX; k++) {
		_cleanup_free_ char *why = NULL;
		char *both = NULL;

		if (s->sets[k].state != CTL_MIXED || ctl_explain_set(s, k, &why) < 0 || !why)
			continue;
		if (asprintf(&both, "%s; %s", *ret_why, why) < 0)
			return r;
		free(*ret_why);
		*ret_why = both;
	}
	return r;
}
