/*
 * asgswap rollback IMAGE: bring the Standby set back (ExitStandby, saved sizes), move
 * scaling back to it, and empty the set that replaced it. asgswap finalize IMAGE: terminate
 * the Standby set for good.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ec2.h"
#include "log.h"
#include "strutil.h"
#include "banned.h"

#define ROLLBACK_TIMEOUT_S 900.0
#define FINALIZE_TIMEOUT_S 900.0

static int standby_ids(const struct ctl_group *g, char ***ret)
{
	for (size_t k = 0; k < g->asg->n_instances; k++)
		if (streq(g->asg->instances[k].lifecycle, "Standby") &&
		    strv_extend(ret, g->asg->instances[k].id) < 0)
			return -ENOMEM;
	return 0;
}

/* The processes asgswap suspended on g (asgswap:suspended), resumed (queued when a batch
 * is open). */
static int resume_ours(struct ctl_context *ctx, const struct ctl_group *g)
{
	const char *susp = asg_group_tag(g->asg, TAG_SUSPENDED);
	_cleanup_strv_free_ char **procs = NULL;
	_cleanup_free_ char *copy = NULL;
	struct query q = { 0 };
	char *p, *comma;
	int r;

	if (!susp || !*susp)
		return 0;
	copy = strdup(susp);
	if (!copy)
		return -ENOMEM;
	for (p = copy; p; p = comma ? comma + 1 : NULL) {
		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (*p && asg_group_suspended(g->asg, p) && strv_extend(&procs, p) < 0)
			return -ENOMEM;
	}
	if (!procs)
		return 0;
	r = ctl_step(ctx, "ResumeProcesses %s %s", g->asg->name, susp);
	if (r < 0 || ctx->o->dry_run)
		return r;
	r = asg_query_resume_processes(&q, g->asg->name, procs);
	if (r < 0) {
		query_done(&q);
		return r;
	}
	return ctl_send(ctx, &q, NULL, NULL, "ResumeProcesses '%s'", g->asg->name);
}

/* Records asgswap keeps on a standby set, and the processes it suspended there; the
 * saved sizes go last, as they mark the set as ours until then. */
static int clear_standby_records(struct ctl_context *ctx, const struct ctl_set *set)
{
	static const char *const first[] = { TAG_SUSPENDED, TAG_STANDBY_SINCE, TAG_ROLLED_BACK,
		                             NULL };
	static const char *const last[] = { TAG_SAVED, NULL };
	const char *const *rounds[] = { first, last };
	int r = 0;

	ctl_batch_begin(ctx);
	for (size_t i = 0; r == 0 && i < set->n; i++)
		r = resume_ours(ctx, set->groups[i]);
	r = ctl_batch_end_after(ctx, r);
	for (size_t k = 0; r == 0 && k < ELEMENTSOF(rounds); k++) {
		ctl_batch_begin(ctx);
		for (size_t i = 0; r == 0 && i < set->n; i++)
			r = ctl_untag_keys(ctx, set->groups[i], rounds[k]);
		r = ctl_batch_end_after(ctx, r);
	}
	return r;
}

/* Whether a set is what a deploy left in Standby: desired 0 and its records still there. */
static bool is_standby_set(const struct ctl_set *set)
{
	if (set->state == CTL_STANDBY)
		return true;
	for (size_t i = 0; i < set->n; i++)
		if (set->groups[i]->asg->desired || !asg_group_tag(set->groups[i]->asg, TAG_SAVED))
			return false;
	return set->n > 0 && set->state != CTL_LIVE;
}

/* How many terminations go out side by side. */
#define TERMINATE_BATCH 50

int ctl_finalize_set(struct ctl_context *ctx, struct ctl_service *s, int set)
{
	double timeout = ctx->o->timeout_s > 0 ? ctx->o->timeout_s : FINALIZE_TIMEOUT_S;
	size_t queued = 0;
	int r = 0;

	ctl_batch_begin(ctx);
	for (size_t i = 0; r == 0 && i < s->sets[set].n; i++) {
		const struct ctl_group *g = s->sets[set].groups[i];
		_cleanup_strv_free_ char **ids = NULL;

		r = standby_ids(g, &ids);
		STRV_FOREACH(id, ids) {
			if (r == 0)
				r = ctl_terminate(ctx, g, *id);
			if (r == 0 && ++queued % TERMINATE_BATCH == 0) {
				r = ctl_batch_end(ctx);
				ctl_batch_begin(ctx);
			}
		}
	}
	r = ctl_batch_end_after(ctx, r);
	if (r < 0)
		return r;
	ctl_step(ctx, "wait gone %s", ctl_set_name(set));
	r = ctl_wait(ctx, s, set, WAIT_GONE, timeout, false);
	if (r < 0)
		return r;
	ctl_batch_begin(ctx);
	for (size_t i = 0; r == 0 && i < s->sets[set].n; i++) {
		const struct ctl_group *g = s->sets[set].groups[i];

		if (g->asg->desired != 0) {
			log_warning("desired capacity of '%s' is %u after terminating its Standby "
			            "instances: setting it back to 0",
			            g->asg->name, g->asg->desired);
			r = ctl_update(ctx, g, 0, -1, 0);
		}
	}
	r = ctl_batch_end_after(ctx, r);
	return r < 0 ? r : clear_standby_records(ctx, &s->sets[set]);
}

int ctl_finalize(struct ctl_context *ctx)
{
	_cleanup_(ctl_service_done) struct ctl_service s = { 0 };
	int set = -1, r;

	r = ctl_observe(ctx, ctx->o->args[0], true, &s);
	if (r < 0)
		return ctl_exit_code(r);
	if (s.have_release) {
		log_error("a %s of '%s' to %s is in flight: finish it before finalize",
		          s.release.phase, s.image, ctl_set_name(s.release.to));
		return CTL_EXIT_STATE;
	}
	for (int k = 0; k < _SET_MAX; k++)
		if (is_standby_set(&s.sets[k]) && s.sets[!k].state == CTL_LIVE)
			set = k;
	for (int k = 0; set < 0 && k < _SET_MAX; k++)
		if (s.sets[k].state == CTL_IDLE && s.sets[!k].state == CTL_LIVE) {
			bool leftovers = false;

			/* A finalize stopped while clearing its records left some behind. */
			for (size_t i = 0; i < s.sets[k].n; i++)
				if (asg_group_tag(s.sets[k].groups[i]->asg, TAG_SAVED) ||
				    asg_group_tag(s.sets[k].groups[i]->asg, TAG_SUSPENDED) ||
				    asg_group_tag(s.sets[k].groups[i]->asg, TAG_STANDBY_SINCE))
					leftovers = true;
			if (!leftovers) {
				log_info("'%s' has no standby set: nothing to finalize", s.image);
				return 0;
			}
			set = k;
		}
	if (set < 0) {
		log_error("'%s' has no standby set to finalize (blue is %s, green is %s)", s.image,
		          ctl_state_name(s.sets[SET_BLUE].state),
		          ctl_state_name(s.sets[SET_GREEN].state));
		return CTL_EXIT_STATE;
	}
	r = ctl_lock_take(ctx, &s);
	if (r < 0)
		return ctl_exit_code(r);
	r = ctl_finalize_set(ctx, &s, set);
	if (r < 0)
		return ctl_stopped(ctx, &s, r, "finalizing");
	ctl_lock_release(ctx, &s);
	return 0;
}

/* Rollback refuses Standby instances that EC2 no longer runs: they read healthy in Auto
 * Scaling but would never serve again. */
static int standby_instances_running(struct ctl_context *ctx, struct ctl_service *s, int set)
{
	_cleanup_(lb_targets_done) struct lb_targets states = { 0 };
	_cleanup_strv_free_ char **ids = NULL;
	struct aws_error err = { 0 };
	int r;

	for (size_t i = 0; i < s->sets[set].n; i++) {
		r = standby_ids(s->sets[set].groups[i], &ids);
		if (r < 0)
			return r;
	}
	if (!ids)
		return 0;
	r = ec2_describe_instance_states(ctx->aws, ids, &states, &err);
	if (r < 0)
		return ctl_aws_failed(r, &err, "DescribeInstances");
	STRV_FOREACH(id, ids) {
		const char *st = lb_targets_state(&states, *id);

		if (!st || !streq(st, "running")) {
			log_error(
			        "Standby instance %s of the %s set is %s in EC2: cannot roll back "
			        "to it",
			        *id, ctl_set_name(set), st ? st : "unknown");
			return -ESTALE;
		}
	}
	return 0;
}

static int query_exit_standby(struct query *q, const char *group, char *const *ids, size_t n,
                              bool unused)
{
	(void)unused;
	return asg_query_exit_standby(q, group, ids, n);
}

/* The groups side by side: MaxSize raised where ExitStandby needs room, ExitStandby (each
 * group's batches of 20 one after another), then the saved sizes restored. */
static int exit_standby(struct ctl_context *ctx, struct ctl_service *s, int set)
{
	const struct ctl_set *st = &s->sets[set];
	_cleanup_free_ char ***ids = calloc(st->n ? st->n : 1, sizeof(*ids));
	_cleanup_free_ unsigned(*sizes)[3] = calloc(st->n ? st->n : 1, sizeof(*sizes));
	bool any = false;
	int r = 0;

	if (!ids || !sizes)
		return -ENOMEM;
	ctl_batch_begin(ctx);
	for (size_t i = 0; r == 0 && i < st->n; i++) {
		const struct ctl_group *g = st->groups[i];
		const char *saved = asg_group_tag(g->asg, TAG_SAVED);
		unsigned *min = &sizes[i][0], *max = &sizes[i][1], *desired = &sizes[i][2], n;

		r = standby_ids(g, &ids[i]);
		if (r < 0)
			break;
		n = (unsigned)strv_length(ids[i]);
		if (!saved || ctl_parse_saved(saved, min, max, desired) < 0) {
			*min = g->asg->min;
			*max = MAX(g->asg->max, g->asg->desired + n);
			*desired = g->asg->desired + n;
		}
		/* ExitStandby raises desired by one per instance: make room first. */
		if (g->asg->max < g->asg->desired + n)
			r = ctl_update(ctx, g, -1, MAX(*max, g->asg->desired + n), -1);
	}
	r = ctl_batch_end_after(ctx, r);
	for (size_t i = 0; r == 0 && i < st->n; i++) {
		if (!ids[i])
			continue;
		any = true;
		r = ctl_step(ctx, "ExitStandby %s (%zu instances)", st->groups[i]->asg->name,
		             strv_length(ids[i]));
	}
	if (r == 0 && any)
		r = ctl_instance_calls(ctx, st, ids, "ExitStandby", query_exit_standby, false);
	if (r == 0) {
		ctl_batch_begin(ctx);
		for (size_t i = 0; r == 0 && i < st->n; i++)
			r = ctl_update(ctx, st->groups[i], sizes[i][0], sizes[i][1], sizes[i][2]);
		r = ctl_batch_end_after(ctx, r);
	}
	for (size_t i = 0; i < st->n; i++)
		strv_free(ids[i]);
	return r;
}

/* The set that a rollback leaves: protection cleared, min 0 / desired 0, marked. */
static int empty_set(struct ctl_context *ctx, struct ctl_service *s, int set)
{
	int r = ctl_clear_protection(ctx, &s->sets[set]);

	if (r < 0)
		return r;
	ctl_batch_begin(ctx);
	for (size_t i = 0; r == 0 && i < s->sets[set].n; i++) {
		const struct ctl_group *g = s->sets[set].groups[i];
		const char *v = asg_group_tag(g->asg, TAG_VERSION);

		if (g->asg->min || g->asg->desired)
			r = ctl_update(ctx, g, 0, -1, 0);
		if (r == 0 && v)
			r = ctl_tag(ctx, g, TAG_ROLLED_BACK, v, false);
	}
	return ctl_batch_end_after(ctx, r);
}

int ctl_rollback(struct ctl_context *ctx)
{
	_cleanup_(ctl_service_done) struct ctl_service s = { 0 };
	double timeout = ctx->o->timeout_s > 0 ? ctx->o->timeout_s : ROLLBACK_TIMEOUT_S;
	int standby = -1, live, r;
	_cleanup_free_ char *version = NULL;

	r = ctl_observe(ctx, ctx->o->args[0], true, &s);
	if (r < 0)
		return ctl_exit_code(r);
	if (s.have_release &&
	    (streq(s.release.phase, "launching") || streq(s.release.phase, "moving"))) {
		/* The old set never left service: abort the release. */
		int from = s.release.from, to = s.release.to;

		r = ctl_lock_take(ctx, &s);
		if (r < 0)
			return ctl_exit_code(r);
		r = ctl_move_scaling(ctx, &s, to);
		if (r == 0)
			r = ctl_abort_launch(ctx, &s, from, to);
		if (r < 0)
			return ctl_stopped(ctx, &s, r, "aborting the release");
		ctl_lock_release(ctx, &s);
		if (!ctx->o->dry_run)
			log_info("aborted the release of '%s' to %s; %s stays live",
			         s.release.version, ctl_set_name(to), ctl_set_name(from));
		return 0;
	}
	if (s.have_release && streq(s.release.phase, "rollback")) {
		standby = s.release.to;
	} else if (s.have_release && streq(s.release.phase, "standby")) {
		standby = s.release.from;
	} else if (s.have_release) {
		log_error("a %s of '%s' is in flight: finish it first", s.release.phase, s.image);
		return CTL_EXIT_STATE;
	} else {
		for (int k = 0; k < _SET_MAX; k++)
			if (s.sets[k].state == CTL_STANDBY)
				standby = k;
	}
	for (int k = 0; standby < 0 && k < _SET_MAX; k++)
		if (s.sets[k].state == CTL_LIVE && s.sets[!k].n &&
		    asg_group_tag(s.sets[!k].groups[0]->asg, TAG_ROLLED_BACK) &&
		    s.sets[!k].groups[0]->asg->desired == 0) {
			/* What a finished rollback leaves: a re-run after a crash is done. */
			log_info("'%s' was rolled back to %s already", s.image, ctl_set_name(k));
			return 0;
		}
	if (standby < 0) {
		log_error("'%s' has no standby set to roll back to (blue is %s, green is %s)%s",
		          s.image, ctl_state_name(s.sets[SET_BLUE].state),
		          ctl_state_name(s.sets[SET_GREEN].state),
		          s.sets[SET_BLUE].state == CTL_IDLE || s.sets[SET_GREEN].state == CTL_IDLE
		                  ? ": was it finalized?"
		                  : "");
		return CTL_EXIT_STATE;
	}
	live = !standby;
	for (size_t i = 0; i < s.sets[standby].n; i++)
		if (asg_group_suspended(s.sets[standby].groups[i]->asg, "Launch")) {
			log_error("the Launch process of '%s' is suspended: ExitStandby would fail",
			          s.sets[standby].groups[i]->asg->name);
			return CTL_EXIT_STATE;
		}
	r = standby_instances_running(ctx, &s, standby);
	if (r < 0)
		return ctl_exit_code(r);
	r = ctl_lock_take(ctx, &s);
	if (r < 0)
		return ctl_exit_code(r);
	/* A copy: every wait replaces the observed service. */
	version = strdup(s.sets[standby].version ? s.sets[standby].version : "unknown");
	if (!version)
		return CTL_EXIT_AWS;
	r = ctl_set_release(ctx, &s, live, standby, version, "rollback");
	if (r == 0)
		r = exit_standby(ctx, &s, standby);
	if (r < 0)
		return ctl_stopped(ctx, &s, r, "bringing the standby set back");
	ctl_step(ctx, "wait live %s", ctl_set_name(standby));
	r = ctl_wait(ctx, &s, standby, WAIT_LIVE, timeout, false);
	if (r < 0)
		return ctl_stopped(ctx, &s, r, "waiting for the standby set");
	r = ctl_move_scaling(ctx, &s, live);
	if (r == 0)
		r = empty_set(ctx, &s, live);
	if (r == 0)
		r = clear_standby_records(ctx, &s.sets[standby]);
	if (r == 0)
		r = ctl_clear_release(ctx, &s);
	if (r < 0)
		return ctl_stopped(ctx, &s, r, "moving back to the standby set");
	ctl_lock_release(ctx, &s);
	if (!ctx->o->dry_run)
		log_info("rolled back '%s' to %s on %s", s.image, version, ctl_set_name(standby));
	return 0;
}
