/*
 * The AWS SDKs' "standard" retry mode (botocore retries/standard.py and quota.py): which
 * failures are retried, the jittered exponential backoff, and the retry quota; plus the
 * Auto Scaling errors the SDKs leave alone (ScalingActivityInProgress, ResourceContention),
 * which get pauses of their own.
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

#endif
