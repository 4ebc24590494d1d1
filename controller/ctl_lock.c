/*
 * The advisory lock of a service: `asgswap:lock` = NONCE:EXPIRY on the canonical group.
 * Tags have no compare-and-swap, so the lock is re-read at every observation and a run
 * that finds another nonce there stops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

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

static int parse_lock(const char *s, char **ret_nonce, time_t *ret_expiry)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	uint64_t e;

	if (!colon || safe_atou64(colon + 1, &e) < 0)
		return -EINVAL;
	*ret_nonce = strndup(s, (size_t)(colon - s));
	if (!*ret_nonce)
		return -ENOMEM;
	*ret_expiry = (time_t)e;
	return 0;
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
		_cleanup_free_ char *v = NULL;
		struct aws_error err = { 0 };
		time_t now = ctl_aws_now(ctx), expiry = now + ctl_lock_ttl();
		int r;

		if (asprintf(&v, "%s:%lld", ctx->lock_nonce, (long long)expiry) < 0)
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
	_cleanup_free_ char *nonce = NULL;
	unsigned char raw[8];
	char hex[2 * sizeof(raw) + 1];
	time_t expiry;

	if (ctx->o->dry_run)
		return 0;
	if (cur && parse_lock(cur, &nonce, &expiry) == 0 && expiry > ctl_aws_now(ctx) &&
	    !streq_ptr(nonce, ctx->lock_nonce)) {
		log_error("'%s' is locked by another asgswap run until %lld (%s=%s on '%s'); "
		          "'asgswap unlock %s' clears a stale lock",
		          s->image, (long long)expiry, TAG_LOCK, cur, s->canonical->name, s->image);
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
	_cleanup_free_ char *nonce = NULL;
	time_t expiry;

	if (!ctx->lock_nonce || ctx->o->dry_run)
		return 0;
	if (parse_lock(asg_group_tag(s->canonical, TAG_LOCK), &nonce, &expiry) < 0 ||
	    !streq(nonce, ctx->lock_nonce)) {
		log_error("the lock on '%s' was taken over by another run; stopping", s->image);
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
