/*
 * The AWS SDKs' "standard" retry mode (botocore retries/standard.py and quota.py): which
 * failures are retried, the jittered exponential backoff, and the retry quota; plus the
 * Auto Scaling errors the SDKs leave alone (ScalingActivityInProgress, ResourceContention),
 * which get pauses of their own. And the adaptive mode's client-side rate limiter
 * (botocore retries/adaptive.py, bucket.py, throttling.py): after the first throttling
 * answer every attempt takes a token from a bucket whose fill rate CUBIC sets from the
 * measured send rate. Times are seconds on a monotonic clock, passed in so the tests can
 * drive them.
 */
#ifndef ASGSWAP_RETRY_H
#define ASGSWAP_RETRY_H

#include <stdbool.h>

enum retry_kind {
	RETRY_NO,
	RETRY_TRANSIENT, /* 500/502/503/504, connection errors, RequestTimeout... */
	RETRY_TIMEOUT,   /* the request timed out: costs more quota */
	RETRY_THROTTLE,  /* throttling codes */
	RETRY_SCALING,   /* ScalingActivityInProgress: another activity must finish first */
	RETRY_CONTENTION /* ResourceContention: concurrent updates of one group */
};

#define RETRY_QUOTA_MAX       500
#define RETRY_COST            5
#define RETRY_COST_TIMEOUT    10
#define RETRY_NO_RETRY_REFUND 1
#define RETRY_MAX_BACKOFF_MS  20000

struct retry_quota {
	unsigned tokens;
};

/* transport_error: http_request()'s result (0 when a response arrived). */
enum retry_kind retry_classify(int transport_error, long status, const char *code);
bool retry_is_throttle_code(const char *code);

void retry_quota_init(struct retry_quota *q);
/* Takes the cost of a retry of this kind; false when the quota is spent. */
bool retry_quota_acquire(struct retry_quota *q, enum retry_kind kind, unsigned *ret_cost);
/* After a success: refunds what the last retry cost, or RETRY_NO_RETRY_REFUND when none. */
void retry_quota_release(struct retry_quota *q, unsigned last_cost);

/* Milliseconds to wait after failed attempt number `attempt` (1-based); r in [0, 1). */
long retry_backoff_ms(enum retry_kind kind, unsigned attempt, double r);

/* botocore's constants */
#define RETRY_CUBIC_SCALE     0.4
#define RETRY_CUBIC_BETA      0.7
#define RETRY_BUCKET_MIN_RATE 0.5 /* tokens a second */
#define RETRY_RATE_SMOOTHING  0.8
#define RETRY_RATE_BUCKET_S   0.5
#define RETRY_RATE_ADJUST_MAX 2.0 /* the fill rate stays under this times the send rate */

struct retry_limiter {
	bool enabled; /* from the first throttling answer on */
	/* token bucket */
	double fill_rate, max_capacity, capacity, last_refill;
	bool refilled;
	/* CUBIC */
	double w_max, k, last_fail;
	/* measured send rate */
	double measured, last_bucket;
	unsigned count;
};

void retry_limiter_init(struct retry_limiter *l, double now);
/* Takes a token before an attempt: 0 when it may go now, else the seconds to wait before
 * asking again (nothing taken). Always 0 before the first throttling answer. */
double retry_limiter_acquire(struct retry_limiter *l, double now);
/* After each answer (or transport failure): throttled or not. */
void retry_limiter_update(struct retry_limiter *l, double now, bool throttled);
/* The fill rate (tokens a second) and the measured send rate, for the tests and traces. */
double retry_limiter_fill_rate(const struct retry_limiter *l);
double retry_limiter_measured_rate(const struct retry_limiter *l);

#endif
