/*
 * The advisory lock of a service: `asgswap:lock` = NONCE:EXPIRY:HOLDER on the canonical
 * group (HOLDER: `user@host pid command`, so that a refusal and status can say who holds
 * it). Tags have no compare-and-swap, so it is taken as Fischer's timed mutual exclusion:
 * read, write our nonce, wait a settle time longer than a write takes to be read back,
 * re-read, and go on only if our nonce is still there. Of runs that race, the last writer
 * wins and the others stop having sent nothing but their own lock write. Afterwards the
 * lock is re-read at every observation and a run that finds another nonce there stops.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "strutil.h"
#include "timeutil.h"
#include "banned.h"

#define LOCK_TTL_DEFAULT 300
/* Well above the time a tag write takes to show in DescribeAutoScalingGroups. */
#define LOCK_SETTLE_DEFAULT 2.0
/* How often a take whose write came back too late for the settle time starts over: a
 * throttled API makes a slow pass likely, 10 slow passes in a row are not. */
#define LOCK_TAKE_PASSES 10

time_t ctl_lock_ttl(void)
{
	/* For the tests: a short lock lets a re-run after a crash take it over. */
	const char *e = getenv("ASGSWAP_LOCK_TTL");
	unsigned v;

	if (e && safe_atou(e, &v) == 0 && v > 0)
		return (time_t)v;
	return LOCK_TTL_DEFAULT;
}

double ctl_lock_settle(void)
{
	/* For the tests: a short settle time keeps every deploy from waiting 2 s. */
	const char *e = getenv("ASGSWAP_LOCK_SETTLE");
	char *end;
	double v;

	if (!e)
		return LOCK_SETTLE_DEFAULT;
	errno = 0;
	v = strtod(e, &end);
	if (errno || end == e || *end || !isfinite(v) || v < 0 || v > 60)
		return LOCK_SETTLE_DEFAULT;
	return v;
}

void ctl_lock_info_done(struct ctl_lock_info *l)
{
	free(l->nonce);
	free(l->holder);
	*l = (struct ctl_lock_info){ 0 };
}

/* NONCE:EXPIRY[:HOLDER]; a lock written without a holder reads with holder NULL. */
int ctl_lock_parse(const char *value, struct ctl_lock_info *ret)
{
	const char *c1 = value ? strchr(value, ':') : NULL, *c2;
	_cleanup_free_ char *digits = NULL;
	uint64_t e;

	if (!c1 || c1 == value)
		return -EINVAL;
	c2 = strchr(c1 + 1, ':');
	digits = c2 ? strndup(c1 + 1, (size_t)(c2 - c1 - 1)) : strdup(c1 + 1);
	if (!digits)
		return -ENOMEM;
	if (safe_atou64(digits, &e) < 0 || e > INT64_MAX)
		return -EINVAL;
	*ret = (struct ctl_lock_info){
		.nonce = strndup(value, (size_t)(c1 - value)),
		.expiry = (time_t)e,
		.holder = c2 && c2[1] ? strdup(c2 + 1) : NULL,
	};
	if (!ret->nonce || (c2 && c2[1] && !ret->holder)) {
		ctl_lock_info_done(ret);
		return -ENOMEM;
	}
	return 0;
}

/* user@host pid command, with anything but [A-Za-z0-9@._-] and spaces made '_' and a
 * ceiling on its length, so that the tag stays a valid, readable value. */
char *ctl_lock_holder(struct ctl_context *ctx)
{
	const char *user = getenv("USER");
	char host[65] = "", *v = NULL;

	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
		host[0] = '?', host[1] = '\0';
	if (asprintf(&v, "%.32s@%.64s %ld %.16s", user && *user ? user : "?", host, (long)getpid(),
	             ctx->command ? ctx->command : "?") < 0)
		return NULL;
	for (char *p = v; *p; p++)
		if (!(isalnum((unsigned char)*p) || strchr("@._- ", *p)))
			*p = '_';
	return v;
}

static struct ctl_group *canonical(struct ctl_service *s)
{
	return ctl_group_by_name(s, s->canonical->name);
}

time_t ctl_aws_now(struct ctl_context *ctx)
{
	time_t skew = 0;

	(void)aws_client_clock_skew(ctx->aws, &skew);
	return time(NULL) + skew;
}

static int write_lock(struct ctl_context *ctx, struct ctl_service *s)
{
	for (int pass = 0; pass < 2; pass++) {
		_cleanup_free_ char *v = NULL, *holder = ctl_lock_holder(ctx);
		struct aws_error err = { 0 };
		time_t now = ctl_aws_now(ctx), expiry = now + ctl_lock_ttl();
		int r;

		if (!holder ||
		    asprintf(&v, "%s:%lld:%s", ctx->lock_nonce, (long long)expiry, holder) < 0)
			return -ENOMEM;
		log_debug("lock %s on '%s' (AWS's clock %+lld s from ours)", v, s->canonical->name,
		          (long long)(now - time(NULL)));
		r = asg_set_tag(ctx->aws, s->canonical->name, TAG_LOCK, v, false, &err);
		if (r < 0)
			return ctl_aws_failed(r, &err, "CreateOrUpdateTags '%s' %s",
			                      s->canonical->name, TAG_LOCK);
		ctx->lock_expiry = expiry;
		/* The answer's Date moved our idea of AWS's time by more than a few seconds (no
		 * answer had told it before): write the expiry again. */
		if (llabs((long long)(ctl_aws_now(ctx) - now)) <= 5)
			break;
	}
	return 0;
}

/* "2026-12-06 21:35:04 UTC" */
void ctl_format_when(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		(void)snprintf(buf, size, "%lld", (long long)t);
}

/* "42 s", "4 min 10 s", "3 h 5 min", "2 d 4 h" */
void ctl_format_span(long long s, char *buf, size_t size)
{
	if (s < 0)
		s = -s;
	if (s < 60)
		(void)snprintf(buf, size, "%lld s", s);
	else if (s < 3600)
		(void)snprintf(buf, size, "%lld min %lld s", s / 60, s % 60);
	else if (s < 86400)
		(void)snprintf(buf, size, "%lld h %lld min", s / 3600, s % 3600 / 60);
	else
		(void)snprintf(buf, size, "%lld d %lld h", s / 86400, s % 86400 / 3600);
}

/* "user@host 123 deploy until 2026-12-06 21:35:04 UTC (AWS's clock, in 4 min 10 s)" */
void ctl_lock_describe(struct ctl_context *ctx, const struct ctl_lock_info *l, char *buf,
                       size_t size)
{
	char when[64], span[32];
	long long left = (long long)(l->expiry - ctl_aws_now(ctx));
	/* Whatever wrote the lock, its holder prints as one line. */
	_cleanup_free_ char *holder = l->holder ? ctl_printable(l->holder) : NULL;

	ctl_format_when(l->expiry, when, sizeof(when));
	ctl_format_span(left, span, sizeof(span));
	(void)snprintf(buf, size, "%s until %s (AWS's clock, %s%s%s)",
	               holder ? holder : "another asgswap run", when, left < 0 ? "" : "in ", span,
	               left < 0 ? " ago" : "");
}

static bool held_by_other(struct ctl_context *ctx, const struct ctl_lock_info *l)
{
	return l->expiry > ctl_aws_now(ctx) && !streq_ptr(l->nonce, ctx->lock_nonce);
}

/* The lock as it is now on the canonical group (NULL value: none), read with one call. */
static int read_lock(struct ctl_context *ctx, struct ctl_service *s, char **ret)
{
	_cleanup_(asg_groups_done) struct asg_groups groups = { 0 };
	struct aws_error err = { 0 };
	int r;

	r = asg_describe_groups_by_tag(ctx->aws, TAG_IMAGE, s->image, &groups, &err);
	if (r < 0)
		return ctl_aws_failed(
		        r, &err, "DescribeAutoScalingGroups (reading the lock of '%s')", s->image);
	*ret = NULL;
	for (size_t i = 0; i < groups.n; i++)
		if (streq(groups.v[i].name, s->canonical->name)) {
			const char *v = asg_group_tag(&groups.v[i], TAG_LOCK);

			if (v && !(*ret = strdup(v)))
				return -ENOMEM;
			return 0;
		}
	log_error("'%s' disappeared while taking the lock of '%s'", s->canonical->name, s->image);
	return -ENOENT;
}

int ctl_lock_refuse(struct ctl_context *ctx, struct ctl_service *s, const struct ctl_lock_info *l)
{
	char what[512];

	ctl_lock_describe(ctx, l, what, sizeof(what));
	log_error("'%s' is locked by %s; nothing was changed ('asgswap unlock %s' clears a "
	          "stale lock)",
	          s->image, what, s->image);
	return -EBUSY;
}

/* Waits out the settle time; false when a signal cut it short. */
static bool settle(double seconds)
{
	double end = ctl_now() + seconds;

	for (double left; (left = end - ctl_now()) > 0;) {
		struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };

		if (nanosleep(&ts, NULL) < 0 && ctl_stop_requested())
			return false;
	}
	return true;
}

int ctl_lock_new_nonce(struct ctl_context *ctx)
{
	unsigned char raw[8];
	char hex[2 * sizeof(raw) + 1];

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return -EIO;
	hex_encode(hex, raw, sizeof(raw));
	free(ctx->lock_nonce);
	ctx->lock_nonce = strdup(hex);
	return ctx->lock_nonce ? 0 : -ENOMEM;
}

int ctl_lock_take(struct ctl_context *ctx, struct ctl_service *s)
{
	_cleanup_(ctl_lock_info_done) struct ctl_lock_info l = { 0 };
	double wait_s = ctl_lock_settle();
	bool wrote = false;
	int r;

	if (ctx->o->dry_run)
		return 0;
	if (ctx->o->lock_table)
		return ctl_lock_table_take(ctx, s);
	if (ctx->lock_nonce) /* already ours: a renewal */
		return write_lock(ctx, s);
	/* The observation already shows a lock held: refuse without a call. */
	if (ctl_lock_parse(asg_group_tag(s->canonical, TAG_LOCK), &l) == 0 &&
	    held_by_other(ctx, &l))
		return ctl_lock_refuse(ctx, s, &l);
	ctl_lock_info_done(&l);

	r = ctl_lock_new_nonce(ctx);
	if (r < 0)
		return r;

	for (unsigned pass = 1;; pass++) {
		_cleanup_free_ char *cur = NULL, *after = NULL;
		double t0, took;

		/* Exclusion needs the write to land within the settle time of the read that
		 * found the lock free, so the read is made here, just before the write, and
		 * neither waits for the client-side rate limiter. */
		aws_client_set_rate_limited(ctx->aws, false);
		r = read_lock(ctx, s, &cur);
		/* The answer is no older than its attempt: earlier failed attempts of the read
		 * do not count against the settle time. */
		t0 = ctl_now() -
		     (double)(now_msec() - aws_client_last_attempt_ms(ctx->aws)) / 1000.0;
		if (r < 0) {
			aws_client_set_rate_limited(ctx->aws, true);
			goto fail;
		}
		if (cur && ctl_lock_parse(cur, &l) == 0 && held_by_other(ctx, &l)) {
			r = ctl_lock_refuse(ctx, s, &l);
			goto fail;
		}
		ctl_lock_info_done(&l);
		wrote = true; /* or may have: a lost answer */
		r = write_lock(ctx, s);
		aws_client_set_rate_limited(ctx->aws, true);
		if (r < 0)
			goto fail;
		took = ctl_now() - t0;
		if (took >= wait_s) {
			/* Another run may have read the lock free and write after our settle. */
			if (pass >= LOCK_TAKE_PASSES) {
				log_error("could not take the lock of '%s': reading and writing it "
				          "took %.1f s, more than the settle time of %.1f s",
				          s->image, took, wait_s);
				r = -EBUSY;
				goto fail;
			}
			log_debug("the lock write took %.1f s (settle time %.1f s): again", took,
			          wait_s);
			continue;
		}
		log_debug("lock written; settling %.1f s before reading it back", wait_s);
		if (!settle(wait_s)) {
			r = -EINTR;
			goto fail;
		}
		r = read_lock(ctx, s, &after);
		if (r < 0)
			goto fail;
		if (after && ctl_lock_parse(after, &l) == 0 && streq(l.nonce, ctx->lock_nonce))
			return 0;
		log_error("'%s' was locked at the same moment by %s; it goes on, this run stops "
		          "having changed nothing",
		          s->image, l.holder ? l.holder : "another asgswap run");
		r = -EBUSY;
		goto fail;
	}
fail:
	/* Stopped after our write (a signal, an AWS error): clear it if it is still ours. */
	if (wrote && r != -EBUSY) {
		_cleanup_free_ char *now = NULL;
		_cleanup_(ctl_lock_info_done) struct ctl_lock_info mine = { 0 };

		ctl_stop_handled();
		if (r == -EINTR)
			log_error("interrupted while taking the lock of '%s': nothing was changed",
			          s->image);
		if (read_lock(ctx, s, &now) == 0 && now && ctl_lock_parse(now, &mine) == 0 &&
		    streq(mine.nonce, ctx->lock_nonce))
			ctl_lock_release(ctx, s);
	}
	free(ctx->lock_nonce);
	ctx->lock_nonce = NULL;
	return r;
}

int ctl_lock_check(struct ctl_context *ctx, struct ctl_service *s)
{
	_cleanup_(ctl_lock_info_done) struct ctl_lock_info l = { 0 };

	if (!ctx->lock_nonce || ctx->o->dry_run)
		return 0;
	if (ctx->o->lock_table)
		return ctl_lock_table_check(ctx, s);
	if (ctl_lock_parse(asg_group_tag(s->canonical, TAG_LOCK), &l) < 0 ||
	    !streq(l.nonce, ctx->lock_nonce)) {
		log_error("the lock on '%s' was taken over by %s; stopping", s->image,
		          l.holder ? l.holder : "another run");
		free(ctx->lock_nonce);
		ctx->lock_nonce = NULL;
		return -EBUSY;
	}
	if (ctx->lock_expiry - ctl_aws_now(ctx) < ctl_lock_ttl() / 2)
		return write_lock(ctx, s);
	return 0;
}

void ctl_lock_release(struct ctl_context *ctx, struct ctl_service *s)
{
	char *keys[] = { (char *)TAG_LOCK, NULL };
	struct aws_error err = { 0 };

	if (!ctx->lock_nonce || ctx->o->dry_run || !s->canonical)
		return;
	if (ctx->o->lock_table) {
		ctl_lock_table_release(ctx, s);
		return;
	}
	if (asg_delete_tags(ctx->aws, s->canonical->name, keys, &err) < 0)
		(void)ctl_aws_failed(-EREMOTEIO, &err, "releasing the lock on '%s'", s->image);
	free(ctx->lock_nonce);
	ctx->lock_nonce = NULL;
}

int ctl_unlock(struct ctl_context *ctx)
{
	_cleanup_(ctl_service_done) struct ctl_service s = { 0 };
	_cleanup_(ctl_lock_info_done) struct ctl_lock_info l = { 0 };
	const char *cur = NULL;
	char what[512];
	int r, found;

	r = ctl_observe(ctx, ctx->o->args[0], false, &s);
	if (r < 0)
		return ctl_exit_code(r);
	if (ctx->o->lock_table) {
		found = ctl_lock_table_read(ctx, s.image, &l, NULL);
		if (found < 0)
			return ctl_exit_code(found);
	} else {
		cur = asg_group_tag(s.canonical, TAG_LOCK);
		found = cur ? 1 : 0;
	}
	if (!found) {
		log_info("'%s' is not locked", s.image);
		return 0;
	}
	if (cur && ctl_lock_parse(cur, &l) < 0) {
		/* Not ours to judge: whatever wrote it, the tag is the lock's key. */
		(void)snprintf(what, sizeof(what), "an unreadable lock '%.64s'", cur);
	} else {
		char span[32];
		/* Its age, from the expiry less the TTL it was (re)written with, if it is ours. */
		long long age = (long long)(ctl_aws_now(ctx) - (l.expiry - ctl_lock_ttl()));

		if (l.expiry > ctl_aws_now(ctx) && !ctx->o->force) {
			ctl_lock_describe(ctx, &l, what, sizeof(what));
			log_error("'%s' is locked by %s: that run may still be going; --force "
			          "removes the lock anyway",
			          s.image, what);
			return CTL_EXIT_STATE;
		}
		ctl_format_span(age, span, sizeof(span));
		_cleanup_free_ char *holder = l.holder ? ctl_printable(l.holder) : NULL;

		(void)snprintf(what, sizeof(what), "the lock of %s, written %s%s ago",
		               holder ? holder : "an asgswap run that did not name itself",
		               age < 0 ? "-" : "", span);
		if (l.expiry > ctl_aws_now(ctx)) {
			size_t n = strlen(what);
			char left[32];

			ctl_format_span((long long)(l.expiry - ctl_aws_now(ctx)), left,
			                sizeof(left));
			(void)snprintf(what + n, sizeof(what) - n, " (unexpired, %s left)", left);
		}
	}
	if (ctx->o->lock_table) {
		if (ctx->o->dry_run) {
			printf("DeleteItem %s: the lock item of '%s'\n", ctx->o->lock_table,
			       s.image);
			return 0;
		}
		r = ctl_lock_table_remove(ctx, s.image, l.nonce);
		if (r == -EEXIST) {
			log_error(
			        "the lock of '%s' changed while it was being removed: another run "
			        "took it; nothing was removed",
			        s.image);
			return CTL_EXIT_STATE;
		}
	} else {
		r = ctl_untag(ctx, canonical(&s), TAG_LOCK);
	}
	if (r < 0)
		return CTL_EXIT_AWS;
	if (!ctx->o->dry_run)
		log_info("'%s': removed %s", s.image, what);
	return 0;
}

/* A command that stops before its end: says why and where, releases the lock (unless another
 * run holds it) and gives the exit code. */
int ctl_stopped(struct ctl_context *ctx, struct ctl_service *s, int r, const char *where)
{
	ctl_stop_handled();
	if (r == -EINTR)
		ctl_outcome(ctx, "interrupted: %s", where);
	else if (r == -ETIMEDOUT)
		ctl_outcome(ctx, "failed: timed out %s", where);
	else if (r == -EBUSY)
		ctl_outcome(ctx, "failed: the lock was taken over %s", where);
	else
		ctl_outcome(ctx, "failed: %s", where);
	if (r == -EINTR)
		log_error(
		        "interrupted %s; 'asgswap status %s' shows where it stopped, and the same "
		        "command continues from there",
		        where, s->image);
	else if (r == -ETIMEDOUT)
		log_error("timed out %s; 'asgswap status %s' shows where it stopped", where,
		          s->image);
	if (r != -EBUSY)
		ctl_lock_release(ctx, s);
	else
		ctl_history_end(ctx);
	return ctl_exit_code(r);
}
