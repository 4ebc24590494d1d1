#include <errno.h>
#include <math.h>

#include "retry.h"
#include "strutil.h"
#include "banned.h"

bool retry_is_throttle_code(const char *code)
{
	static const char *const throttling[] = {
		"Throttling",
		"ThrottlingException",
		"ThrottledException",
		"RequestThrottledException",
		"TooManyRequestsException",
		"ProvisionedThroughputExceededException",
		"TransactionInProgressException",
		"RequestLimitExceeded",
		"BandwidthLimitExceeded",
		"LimitExceededException",
		"RequestThrottled",
		"SlowDown",
		"EC2ThrottledException",
	};

	if (!code)
		return false;
	for (size_t i = 0; i < ELEMENTSOF(throttling); i++)
		if (streq(code, throttling[i]))
			return true;
	return false;
}

enum retry_kind retry_classify(int transport_error, long status, const char *code)
{
	if (transport_error == -ETIMEDOUT)
		return RETRY_TIMEOUT;
	if (transport_error == -ECONNREFUSED || transport_error == -ECONNRESET ||
	    transport_error == -EHOSTUNREACH || transport_error == -EPROTO)
		return RETRY_TRANSIENT;
	if (transport_error < 0)
		return RETRY_NO; /* over the size cap, bad URL, out of memory: retrying won't help
		                  */
	if (code && streq(code, "ScalingActivityInProgress"))
		return RETRY_SCALING;
	if (code && streq(code, "ResourceContention"))
		return RETRY_CONTENTION;
	if (retry_is_throttle_code(code))
		return RETRY_THROTTLE;
	if (code && (streq(code, "RequestTimeout") || streq(code, "RequestTimeoutException") ||
	             streq(code, "PriorRequestNotComplete")))
		return RETRY_TRANSIENT;
	if (status == 500 || status == 502 || status == 503 || status == 504)
		return RETRY_TRANSIENT;
	return RETRY_NO;
}

void retry_quota_init(struct retry_quota *q)
{
	q->tokens = RETRY_QUOTA_MAX;
}

bool retry_quota_acquire(struct retry_quota *q, enum retry_kind kind, unsigned *ret_cost)
{
	unsigned cost = kind == RETRY_TIMEOUT ? RETRY_COST_TIMEOUT : RETRY_COST;

	if (q->tokens < cost)
		return false;
	q->tokens -= cost;
	*ret_cost = cost;
	return true;
}

void retry_quota_release(struct retry_quota *q, unsigned last_cost)
{
	q->tokens += last_cost ? last_cost : RETRY_NO_RETRY_REFUND;
	if (q->tokens > RETRY_QUOTA_MAX)
		q->tokens = RETRY_QUOTA_MAX;
}

long retry_backoff_ms(enum retry_kind kind, unsigned attempt, double r)
{
	double base_ms, cap_ms;
	unsigned e = attempt ? attempt - 1 : 0;

	switch (kind) {
	case RETRY_SCALING:
		/* An activity takes tens of seconds: wait 2, 4, 8 s... (±50%), at most 30 s. */
		base_ms = 2000.0 * ldexp(1.0, (int)MIN(e, 8u));
		cap_ms = 30000.0;
		return (long)fmin(base_ms * (0.5 + r), cap_ms);
	case RETRY_CONTENTION:
		/* Another update of the same group: at least half a second, then as standard. */
		return 500 +
		       (long)fmin(r * 1000.0 * ldexp(1.0, (int)MIN(e, 16u)), RETRY_MAX_BACKOFF_MS);
	default:
		base_ms = 1000.0 * ldexp(1.0, (int)MIN(e, 16u));
		return (long)fmin(r * base_ms, RETRY_MAX_BACKOFF_MS);
	}
}

static void bucket_refill(struct retry_limiter *l, double now)
{
	if (!l->refilled) {
		l->refilled = true;
		l->last_refill = now;
		return;
	}
	if (now > l->last_refill)
		l->capacity =
		        fmin(l->max_capacity, l->capacity + (now - l->last_refill) * l->fill_rate);
	l->last_refill = now;
}

static void bucket_set_rate(struct retry_limiter *l, double now, double rate)
{
	bucket_refill(l, now);
	l->fill_rate = fmax(rate, RETRY_BUCKET_MIN_RATE);
	l->max_capacity = rate >= 1.0 ? rate : 1.0;
	l->capacity = fmin(l->capacity, l->max_capacity);
}

static double cubic_zero_point(const struct retry_limiter *l)
{
	return cbrt(l->w_max * (1.0 - RETRY_CUBIC_BETA) / RETRY_CUBIC_SCALE);
}

void retry_limiter_init(struct retry_limiter *l, double now)
{
	*l = (struct retry_limiter){ 0 };
	/* botocore starts the bucket at 1 a second and CUBIC at 0 */
	bucket_set_rate(l, now, 1.0);
	l->w_max = 0.0;
	l->k = cubic_zero_point(l);
	l->last_fail = now;
	l->last_bucket = floor(now);
}

double retry_limiter_acquire(struct retry_limiter *l, double now)
{
	if (!l->enabled)
		return 0.0;
	bucket_refill(l, now);
	if (l->capacity >= 1.0) {
		l->capacity -= 1.0;
		return 0.0;
	}
	return (1.0 - l->capacity) / l->fill_rate;
}

/* The send rate, smoothed over half-second buckets. */
static double rate_record(struct retry_limiter *l, double now)
{
	double bucket = floor(now / RETRY_RATE_BUCKET_S) * RETRY_RATE_BUCKET_S;

	l->count++;
	if (bucket > l->last_bucket) {
		double current = l->count / (bucket - l->last_bucket);

		l->measured =
		        current * RETRY_RATE_SMOOTHING + l->measured * (1.0 - RETRY_RATE_SMOOTHING);
		l->count = 0;
		l->last_bucket = bucket;
	}
	return l->measured;
}

void retry_limiter_update(struct retry_limiter *l, double now, bool throttled)
{
	double measured = rate_record(l, now), rate;

	if (!throttled) {
		double dt = now - l->last_fail;

		rate = RETRY_CUBIC_SCALE * pow(dt - l->k, 3.0) + l->w_max;
	} else {
		double current = l->enabled ? fmin(measured, l->fill_rate) : measured;

		l->w_max = current;
		l->k = cubic_zero_point(l);
		l->last_fail = now;
		rate = current * RETRY_CUBIC_BETA;
		l->enabled = true;
	}
	bucket_set_rate(l, now, fmin(rate, RETRY_RATE_ADJUST_MAX * measured));
}

double retry_limiter_fill_rate(const struct retry_limiter *l)
{
	return l->fill_rate;
}

double retry_limiter_measured_rate(const struct retry_limiter *l)
{
	return l->measured;
}
