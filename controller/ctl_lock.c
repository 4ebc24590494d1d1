/*
 * The advisory lock of a service: `asgswap:lock` = NONCE:EXPIRY:HOLDER on the canonical
 * group (HOLDER: `user@host pid command`, so that a refusal and status can say who holds
 * it). Tags have no compare-and-swap, so the lock is re-read at every observation and a
 * run that finds another nonce there stops.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "strutil.h"
#include "banned.h"

#define LOCK_TTL_DEFAULT 300

time_t ctl_lock_ttl(void)
{
	/* For the tests: a short lock lets a re-run after a crash take it over. */
	const char *e = getenv("ASGSWAP_LOCK_TTL");
	unsigned v;

	if (e && safe_atou(e, &v) == 0 && v > 0)
		return (time_t)v;
	return LOCK_TTL_DEFAULT;
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
static char *lock_holder(struct ctl_context *ctx)
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
		_cleanup_free_ char *v = NULL, *holder = lock_holder(ctx);
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

int ctl_lock_take(struct ctl_context *ctx, struct ctl_service *s)
{
	const char *cur = asg_group_tag(s->canonical, TAG_LOCK);
	_cleanup_(ctl_lock_info_done) struct ctl_lock_info l = { 0 };
	unsigned char raw[8];
	char hex[2 * sizeof(raw) + 1];

	if (ctx->o->dry_run)
		return 0;
	if (cur && ctl_lock_parse(cur, &l) == 0 && l.expiry > ctl_aws_now(ctx) &&
	    !streq_ptr(l.nonce, ctx->lock_nonce)) {
		char until[32] = "?";
		struct tm tm;

		if (gmtime_r(&l.expiry, &tm))
			(void)strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S UTC", &tm);
		log_error("'%s' is locked by %s until %s, %lld s from now (%s on '%s'); "
		          "'asgswap unlock %s' clears a stale lock",
		          s->image, l.holder ? l.holder : "another asgswap run", until,
		          (long long)(l.expiry - ctl_aws_now(ctx)), TAG_LOCK, s->canonical->name,
		          s->image);
		return -EBUSY;
	}
	if (!ctx->lock_nonce) {
		if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
			return -EIO;
		hex_encode(hex, raw, sizeof(raw));
		ctx->lock_nonce = strdup(hex);
		if (!ctx->lock_nonce)
			return -ENOMEM;
	}
	return write_lock(ctx, s);
}

int ctl_lock_check(struct ctl_context *ctx, struct ctl_service *s)
{
	_cleanup_(ctl_lock_info_done) struct ctl_lock_info l = { 0 };

	if (!ctx->lock_nonce || ctx->o->dry_run)
		return 0;
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
	if (asg_delete_tags(ctx->aws, s->canonical->name, keys, &err) < 0)
		(void)ctl_aws_failed(-EREMOTEIO, &err, "releasing the lock on '%s'", s->image);
	free(ctx->lock_nonce);
	ctx->lock_nonce = NULL;
}

int ctl_unlock(struct ctl_context *ctx)
{
	_cleanup_(ctl_service_done) struct ctl_service s = { 0 };
	int r;

	r = ctl_observe(ctx, ctx->o->args[0], false, &s);
	if (r < 0)
		return ctl_exit_code(r);
	if (!asg_group_tag(s.canonical, TAG_LOCK)) {
		log_info("'%s' is not locked", s.image);
		return 0;
	}
	r = ctl_untag(ctx, canonical(&s), TAG_LOCK);
	return r < 0 ? CTL_EXIT_AWS : 0;
}

/* A command that stops before its end: says why and where, releases the lock (unless another
 * run holds it) and gives the exit code. */
int ctl_stopped(struct ctl_context *ctx, struct ctl_service *s, int r, const char *where)
{
	ctl_stop_handled();
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
	return ctl_exit_code(r);
}
