/* The executor: runs plans (calls side by side by round, waits with a deadline, the lock,
 * interruption by SIGINT/SIGTERM), or prints them under --dry-run. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_events.h"
#include "ctl_plan.h"
#include "log.h"
#include "strutil.h"
#include "timeutil.h"
#include "banned.h"

volatile int ctl_interrupted;
unsigned ctl_throttled;

#define POLL_MAX_S 10.0

/* Observations made by waits, and how many there were when the lock was taken: the lock
 * is checked against an observation only when it is newer than the lock. */
static unsigned observations, observations_at_lock;

/* Set when a stop is being handled (the lock released, the message printed): the calls
 * of that clean-up go out; another signal aborts them too. */
static volatile sig_atomic_t cleaning_up;

static void on_signal(int sig)
{
	ctl_interrupted = sig;
	cleaning_up = 0;
}

void ctl_signals_setup(void)
{
	/* No SA_RESTART: a signal cuts a poll's sleep short. */
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	log_set_before_write(ctl_progress_clear);
}

bool ctl_stop_requested(void)
{
	return ctl_interrupted != 0;
}

bool ctl_abort_calls(void)
{
	return ctl_interrupted != 0 && !cleaning_up;
}

void ctl_stop_handled(void)
{
	cleaning_up = 1;
}

double ctl_now(void)
{
	return (double)now_usec() / 1e6;
}

void ctl_outcome(struct ctl_context *ctx, const char *fmt, ...)
{
	va_list ap;

	free(ctx->outcome);
	va_start(ap, fmt);
	ctx->outcome = strdup_vprintf(fmt, ap);
	va_end(ap);
}

const char *ctl_outcome_of(const struct ctl_context *ctx, int exit_code)
{
	if (ctx->outcome)
		return ctx->outcome;
	switch (exit_code) {
	case CTL_EXIT_OK:
		return streq_ptr(ctx->command, "rollback") ? "rolled back" : "done";
	case CTL_EXIT_UNDONE:
		return "undone";
	case CTL_EXIT_STOPPED:
		return ctl_stop_requested() ? "interrupted" : "failed: timed out";
	default:
		return "failed";
	}
}

int ctl_step(struct ctl_context *ctx, const char *fmt, ...)
{
	va_list ap;

	/* A batch is sent as a unit: the check comes at the next step after it. */
	if (ctl_stop_requested() && !ctx->batch)
		return -EINTR;
	if (!ctx->o->verbose)
		return 0;
	(void)fputs("    ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	(void)fflush(stdout);
	return 0;
}

static bool reached(const struct ctl_set *set, enum ctl_wait_for what)
{
	switch (what) {
	case WAIT_LIVE:
		return set->state == CTL_LIVE;
	case WAIT_STANDBY:
		return set->state == CTL_STANDBY;
	case WAIT_GONE:
		return set->state == CTL_IDLE;
	case WAIT_SETTLED:
		return set->state != CTL_MOVING;
	}
	return false;
}

static bool in_service(const struct ctl_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		for (size_t k = 0; k < set->groups[i]->asg->n_instances; k++)
			if (streq(set->groups[i]->asg->instances[k].lifecycle, "InService"))
				return true;
	return false;
}

static int send_call(struct ctl_context *ctx, const struct step *st);

/* The new set kept at its pair's desired while the live set grows: a plan of its own, so
 * that its calls go out as every plan's do. */
static int resync(struct ctl_context *ctx, struct ctl_service *s, int set)
{
	_cleanup_(plan_freep) struct plan *p = plan_new("resync", s->image);
	int r = 0;

	if (!p)
		return -ENOMEM;
	plan_phase(p, 0, 0, "keeping the new set at the live set's size", "re-syncing %s",
	           ctl_set_name(set));
	for (size_t i = 0; i < s->sets[set].n; i++) {
		struct ctl_group *g = s->sets[set].groups[i];
		unsigned d = ctl_pair(s, g)->asg->desired;

		if (d && (g->asg->min != d || g->asg->max != d || g->asg->desired != d))
			plan_update(p, g, d, d, d);
	}
	if (p->error)
		return p->error;
	for (size_t k = 0; r == 0 && k < p->phases[0].n; k++)
		r = send_call(ctx, &p->phases[0].steps[k]);
	return r;
}

/* An AWS failure of an observation: the wait tries again at its next poll. */
static bool transient(int r)
{
	return r < 0 && r != -ENOMEM && r != -EINTR && r != -ESTALE && r != -ENOENT &&
	       r != -EINVAL && r != -EBUSY;
}

int ctl_wait(struct ctl_context *ctx, struct ctl_service *s, int set, enum ctl_wait_for what,
             double timeout_s, bool resync_pair)
{
	_cleanup_free_ char *last = NULL;
	double start = ctl_now(), poll = ctx->o->poll_s, last_at = 0;
	int r = 0, level = log_get_max_level();

	for (;;) {
		struct ctl_service fresh;
		bool last_try;
		unsigned throttled = ctl_throttled;

		if (ctl_stop_requested()) {
			r = -EINTR;
			break;
		}
		last_try = ctl_now() - start >= timeout_s;
		/* Before the deadline a failed observation is "not yet": the call's own error
		 * line is for --verbose, the warning below says what happens. */
		if (!last_try && level < LOG_DEBUG)
			log_set_max_level(LOG_CRIT);
		r = ctl_observe(ctx, s->image, true, &fresh);
		log_set_max_level(level);
		if (transient(r) && !last_try) {
			log_warning("observing '%s' failed: trying again at the next poll, until "
			            "the wait's deadline (%.0f s left)",
			            s->image, timeout_s - (ctl_now() - start));
			ctl_throttled++;
		} else if (r < 0) {
			break;
		} else {
			ctl_service_done(s);
			*s = fresh;
			observations++;
			r = ctl_lock_check(ctx, s);
			if (r < 0)
				break;
			ctl_progress(ctx, &s->sets[set], set, what, ctl_now() - start,
			             timeout_s - (ctl_now() - start), &last, &last_at);
			if (reached(&s->sets[set], what)) {
				r = 0;
				break;
			}
			/* The live set grew before all of it entered Standby: the plan,
			 * recomputed, puts the new instances into Standby too. */
			if (what == WAIT_STANDBY && in_service(&s->sets[set])) {
				r = 0;
				break;
			}
			if (resync_pair) {
				r = resync(ctx, s, set);
				if (r < 0)
					break;
			}
		}
		if (ctl_now() - start >= timeout_s) {
			r = -ETIMEDOUT;
			break;
		}
		/* Throttled while observing: poll less often; else come back to --poll, so the
		 * switch follows the last healthy instance within about one interval. */
		if (ctl_throttled != throttled)
			poll = MIN(poll * 2, POLL_MAX_S);
		else
			poll = MAX(poll / 2, ctx->o->poll_s);
		if (poll > ctx->o->poll_s)
			log_debug("throttled: polling every %.1f s", poll);
		sleep_s(MIN(poll, timeout_s - (ctl_now() - start) + 0.01));
	}
	ctl_progress_clear();
	if (r == -ETIMEDOUT && last)
		log_error("timed out after %.0f s waiting for %s to be %s; still waiting for: %s",
		          ctl_now() - start, ctl_set_name(set), ctl_wait_word(what), last);
	return r;
}

/* "ACTION 'GROUP' REST" from a step's "ACTION GROUP REST", for error messages. */
static char *call_what(const struct step *st)
{
	const char *g = st->groups ? st->groups[0] : NULL, *rest = NULL;
	char *w = NULL;

	if (g) {
		rest = startswith(st->text, st->action);
		rest = rest && *rest == ' ' ? startswith(rest + 1, g) : NULL;
	}
	if (asprintf(&w, "%s%s%s%s%s", st->action, g ? " '" : "", g ? g : "", g ? "'" : "",
	             rest ? rest : "") < 0)
		return NULL;
	return w;
}

static int send_call(struct ctl_context *ctx, const struct step *st)
{
	_cleanup_free_ char *what = call_what(st);
	struct query q = { 0 };
	int r;

	if (!what)
		return -ENOMEM;
	r = ctl_step(ctx, "%s", st->text);
	if (r < 0)
		return r;
	r = query_init(&q, st->service, st->action);
	for (size_t i = 0; r == 0 && st->params && st->params[i] && st->params[i + 1]; i += 2)
		query_add(&q, st->params[i], st->params[i + 1]);
	if (r < 0) {
		query_done(&q);
		return r;
	}
	return ctl_send(ctx, &q, NULL, NULL, "%s", what);
}

/* The lock before every mutating round: taken before the first, checked against the
 * latest observation after (a lock table is asked every time: a check costs one write). */
static int lock(struct ctl_context *ctx, struct ctl_service *s)
{
	if (!ctx->lock_nonce) {
		observations_at_lock = observations;
		return ctl_lock_take(ctx, s);
	}
	return observations > observations_at_lock || ctx->o->lock_table ? ctl_lock_check(ctx, s)
	                                                                 : 0;
}

/* One round of a phase; 1 when it was a wait that ended (the plan is then recomputed). */
static int run_round(struct ctl_context *ctx, struct ctl_service *s, const struct phase *ph,
                     unsigned round, const char **ret_where, int *ret_wait)
{
	bool calls = false;
	int r = 0;

	if (ctl_stop_requested())
		return -EINTR;
	for (size_t k = 0; k < ph->n; k++) {
		const struct step *st = &ph->steps[k];

		if (st->round != round)
			continue;
		if (st->where)
			*ret_where = st->where;
		if (st->kind == STEP_WAIT) {
			/* A wait of a release in flight is part of it, as a re-run that only
			 * waits shows: it holds the lock too. */
			r = s->have_release ? lock(ctx, s) : 0;
			if (r == 0)
				r = ctl_step(ctx, "wait %s", st->text);
			if (r == 0)
				r = ctl_wait(ctx, s, st->set, st->what, st->timeout_s, st->resync);
			if (r == -ETIMEDOUT)
				*ret_wait = (int)st->what;
			return r < 0 ? r : 1;
		}
		if (st->kind == STEP_GATE) {
			r = lock(ctx, s);
			if (r == 0)
				r = ctl_step(ctx, "%s", st->text);
			if (r == 0)
				r = ctl_gate(ctx, s, st);
			return r < 0 ? r : 1;
		}
		if (st->kind == STEP_MOVE_SCALING) {
			r = lock(ctx, s);
			return r < 0 ? r : ctl_move_scaling(ctx, s, st->set);
		}
		calls = true;
	}
	if (!calls)
		return 0;
	r = lock(ctx, s);
	if (r < 0)
		return r;
	ctl_batch_begin(ctx);
	for (size_t k = 0; r == 0 && k < ph->n; k++)
		if (ph->steps[k].round == round && ph->steps[k].kind == STEP_CALL)
			r = send_call(ctx, &ph->steps[k]);
	return ctl_batch_end_after(ctx, r);
}

int ctl_exec(struct ctl_context *ctx, struct ctl_service *s, plan_fn planner, const void *args,
             const char **ret_where, int *ret_wait)
{
	double start = ctx->started > 0 ? ctx->started : ctl_now();
	_cleanup_free_ char *shown = NULL;

	*ret_where = "planning";
	*ret_wait = -1;
	for (;;) {
		_cleanup_(plan_freep) struct plan *p = NULL;
		_cleanup_free_ char *why = NULL;
		bool replan = false;
		int r = planner(s, args, &p, &why);

		if (r < 0) {
			if (why)
				log_error("%s", why);
			return r;
		}
		if (p->error)
			return p->error;
		if (ctx->o->dry_run)
			return ctl_print_plan(ctx, p);
		if (plan_steps(p) == 0 && p->note)
			log_info("%s", p->note);
		for (size_t i = 0; !replan && i < p->n_phases; i++) {
			const struct phase *ph = &p->phases[i];
			unsigned last = 0;

			if (ph->n == 0)
				continue;
			*ret_where = ph->where;
			/* A phase goes on after a wait: its line is not repeated. */
			if (!ctx->o->quiet && !streq_ptr(shown, ph->title)) {
				if (ph->number)
					printf("[%u/%u] %s\n", ph->number, ph->of, ph->title);
				else
					printf("%s\n", ph->title);
				(void)fflush(stdout);
			}
			if (!streq_ptr(shown, ph->title)) {
				ctl_events_phase(ctx, p, ph);
				ctl_history_phase(ctx, p, ph->title);
			}
			free(shown);
			shown = strdup(ph->title);
			if (!shown)
				return -ENOMEM;
			for (size_t k = 0; k < ph->n; k++)
				last = MAX(last, ph->steps[k].round);
			for (unsigned round = 0; !replan && round <= last; round++) {
				r = run_round(ctx, s, ph, round, ret_where, ret_wait);
				if (r < 0)
					return r;
				replan = r > 0;
			}
		}
		if (replan)
			continue;
		if (p->paused)
			ctl_outcome(ctx, "paused");
		if (!ctx->o->quiet && p->done && p->paused)
			printf("%s\n", p->done);
		else if (!ctx->o->quiet && p->done)
			printf("done in %.0f s; %s\n", ctl_now() - start, p->done);
		(void)fflush(stdout);
		return 0;
	}
}
