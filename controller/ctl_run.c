/* Running a plan: step lines, interruption by SIGINT/SIGTERM, and waits with a deadline. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "strutil.h"
#include "timeutil.h"
#include "banned.h"

volatile int ctl_interrupted;
unsigned ctl_throttled;

#define POLL_MAX_S 10.0

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

int ctl_step(struct ctl_context *ctx, const char *fmt, ...)
{
	va_list ap;

	/* A batch is sent as a unit: the check comes at the next step after it. */
	if (ctl_stop_requested() && !ctx->batch)
		return -EINTR;
	if (ctx->o->quiet && !ctx->o->dry_run)
		return 0;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	(void)fflush(stdout);
	return 0;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	/* Interrupted by a signal: return at once, the caller checks ctl_interrupted. */
	(void)nanosleep(&ts, NULL);
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

static void progress(struct ctl_context *ctx, const struct ctl_set *set, int k,
                     enum ctl_wait_for what, double elapsed, char **last)
{
	unsigned have = 0, want = 0;
	_cleanup_free_ char *line = NULL;
	bool tty = isatty(STDERR_FILENO);

	for (size_t i = 0; i < set->n; i++) {
		const struct asg_group *a = set->groups[i]->asg;

		if (what == WAIT_LIVE) {
			have += set->groups[i]->serving;
			want += a->desired;
			continue;
		}
		for (size_t j = 0; j < a->n_instances; j++) {
			const char *l = a->instances[j].lifecycle;

			if (streq(l, "Terminated"))
				continue;
			want++;
			if (what == WAIT_STANDBY && streq(l, "Standby"))
				have++;
		}
	}
	if (what == WAIT_GONE || what == WAIT_SETTLED) {
		if (asprintf(&line, "%s: %u instances left", ctl_set_name(k), want) < 0)
			return;
	} else if (asprintf(&line, "%s: %u/%u %s", ctl_set_name(k), have, want,
	                    what == WAIT_LIVE ? "healthy" : "standby") < 0)
		return;
	if (ctx->o->quiet)
		goto keep;
	if (tty) {
		(void)fprintf(stderr, "\r\033[K%s, %.0f s", line, elapsed);
		(void)fflush(stderr);
	} else if (!*last || !streq(*last, line)) {
		(void)fprintf(stderr, "%s, %.0f s\n", line, elapsed);
	}
keep:
	free(*last);
	*last = TAKE_PTR(line);
}

static int resync(struct ctl_context *ctx, struct ctl_service *s, int set)
{
	for (size_t i = 0; i < s->sets[set].n; i++) {
		struct ctl_group *g = s->sets[set].groups[i];
		struct ctl_group *p = ctl_pair(s, g);
		unsigned d = p->asg->desired;
		int r;

		if (d == 0 || (g->asg->min == d && g->asg->max == d && g->asg->desired == d))
			continue;
		r = ctl_update(ctx, g, d, d, d);
		if (r < 0)
			return r;
	}
	return 0;
}

/* During a wait a failed observation (throttled past its retries, a 5xx) is "not yet": its
 * error shows only with --verbose and the next poll tries again, until the wait's deadline,
 * when the observation is made out loud and its failure ends the wait. */
static int observe_in_wait(struct ctl_context *ctx, const char *image, bool last,
                           struct ctl_service *ret)
{
	int level = log_get_max_level(), r;

	if (!last && level < LOG_DEBUG)
		log_set_max_level(LOG_CRIT);
	r = ctl_observe(ctx, image, true, ret);
	log_set_max_level(level);
	if (r < 0 && !last && r != -EINTR && r != -ENOMEM && r != -ENOENT && r != -ESTALE &&
	    r != -EINVAL) {
		log_debug("observing '%s' failed (%s): trying again at the next poll", image,
		          strerror(-r));
		return -EAGAIN;
	}
	return r;
}

int ctl_wait(struct ctl_context *ctx, struct ctl_service *s, int set, enum ctl_wait_for what,
             double timeout_s, bool resync_pair)
{
	_cleanup_free_ char *last = NULL;
	double start = ctl_now(), poll = ctx->o->poll_s;
	bool tty = isatty(STDERR_FILENO);
	int r = 0;

	if (ctx->o->dry_run)
		return 0;
	for (;;) {
		struct ctl_service fresh;
		unsigned throttled = ctl_throttled;

		if (ctl_stop_requested()) {
			r = -EINTR;
			break;
		}
		r = observe_in_wait(ctx, s->image, ctl_now() - start >= timeout_s, &fresh);
		if (r == -EAGAIN) {
			poll = MIN(poll * 2, POLL_MAX_S);
			sleep_s(MIN(poll, timeout_s - (ctl_now() - start) + 0.01));
			continue;
		}
		if (r < 0)
			break;
		ctl_service_done(s);
		*s = fresh;
		r = ctl_lock_check(ctx, s);
		if (r < 0)
			break;
		progress(ctx, &s->sets[set], set, what, ctl_now() - start, &last);
		if (reached(&s->sets[set], what)) {
			r = 0;
			break;
		}
		if (resync_pair) {
			r = resync(ctx, s, set);
			if (r < 0)
				break;
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
	if (tty && !ctx->o->quiet)
		(void)fputc('\n', stderr);
	return r;
}
