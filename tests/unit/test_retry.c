#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "retry.h"
#include "banned.h"

static void test_classify(void **state)
{
	(void)state;
	assert_int_equal(retry_classify(0, 400, "Throttling"), RETRY_THROTTLE);
	assert_int_equal(retry_classify(0, 400, "RequestLimitExceeded"), RETRY_THROTTLE);
	assert_int_equal(retry_classify(0, 503, "SlowDown"), RETRY_THROTTLE);
	assert_int_equal(retry_classify(0, 400, "ValidationError"), RETRY_NO);
	assert_int_equal(retry_classify(0, 403, "SignatureDoesNotMatch"), RETRY_NO);
	assert_int_equal(retry_classify(0, 500, "InternalFailure"), RETRY_TRANSIENT);
	assert_int_equal(retry_classify(0, 502, NULL), RETRY_TRANSIENT);
	assert_int_equal(retry_classify(0, 503, NULL), RETRY_TRANSIENT);
	assert_int_equal(retry_classify(0, 504, NULL), RETRY_TRANSIENT);
	assert_int_equal(retry_classify(0, 501, NULL), RETRY_NO);
	assert_int_equal(retry_classify(0, 400, "RequestTimeout"), RETRY_TRANSIENT);
	assert_int_equal(retry_classify(0, 400, "PriorRequestNotComplete"), RETRY_TRANSIENT);
	assert_int_equal(retry_classify(-ECONNRESET, 0, NULL), RETRY_TRANSIENT);
	assert_int_equal(retry_classify(-ECONNREFUSED, 0, NULL), RETRY_TRANSIENT);
	assert_int_equal(retry_classify(-ETIMEDOUT, 0, NULL), RETRY_TIMEOUT);
	assert_int_equal(retry_classify(-E2BIG, 0, NULL), RETRY_NO);
	assert_int_equal(retry_classify(0, 400, "ScalingActivityInProgress"), RETRY_SCALING);
	assert_int_equal(retry_classify(0, 500, "ResourceContention"), RETRY_CONTENTION);
}

static void test_quota(void **state)
{
	struct retry_quota q;
	unsigned cost = 0, n = 0;

	(void)state;
	retry_quota_init(&q);
	assert_int_equal(q.tokens, 500);
	/* 500 tokens pay for 100 retries at 5, then no more. */
	while (retry_quota_acquire(&q, RETRY_THROTTLE, &cost))
		n++;
	assert_int_equal(n, 100);
	assert_int_equal(cost, 5);
	assert_int_equal(q.tokens, 0);
	/* A success after a retry refunds what that retry cost; one without, a single token. */
	retry_quota_release(&q, 5);
	assert_int_equal(q.tokens, 5);
	retry_quota_release(&q, 0);
	assert_int_equal(q.tokens, 6);
	/* A timeout costs 10 and is refused with 6 left. */
	assert_false(retry_quota_acquire(&q, RETRY_TIMEOUT, &cost));
	assert_true(retry_quota_acquire(&q, RETRY_TRANSIENT, &cost));
	assert_int_equal(q.tokens, 1);
	/* Never above the maximum. */
	retry_quota_init(&q);
	retry_quota_release(&q, 10);
	assert_int_equal(q.tokens, 500);
	assert_true(retry_quota_acquire(&q, RETRY_TIMEOUT, &cost));
	assert_int_equal(cost, 10);
}

static void test_backoff(void **state)
{
	(void)state;
	/* Standard: rand * 2^(attempt-1) seconds, capped at 20 s. */
	assert_int_equal(retry_backoff_ms(RETRY_THROTTLE, 1, 0.0), 0);
	assert_int_equal(retry_backoff_ms(RETRY_THROTTLE, 1, 0.5), 500);
	assert_int_equal(retry_backoff_ms(RETRY_TRANSIENT, 2, 0.5), 1000);
	assert_int_equal(retry_backoff_ms(RETRY_TRANSIENT, 3, 0.999), 3996);
	assert_int_equal(retry_backoff_ms(RETRY_THROTTLE, 6, 0.9), 20000);
	assert_int_equal(retry_backoff_ms(RETRY_THROTTLE, 1000, 0.9), 20000);
	/* ScalingActivityInProgress: 2 s doubling, ±50 %, at most 30 s. */
	assert_int_equal(retry_backoff_ms(RETRY_SCALING, 1, 0.0), 1000);
	assert_int_equal(retry_backoff_ms(RETRY_SCALING, 1, 0.5), 2000);
	assert_int_equal(retry_backoff_ms(RETRY_SCALING, 2, 0.5), 4000);
	assert_int_equal(retry_backoff_ms(RETRY_SCALING, 9, 0.5), 30000);
	/* ResourceContention: at least half a second. */
	assert_int_equal(retry_backoff_ms(RETRY_CONTENTION, 1, 0.0), 500);
	assert_int_equal(retry_backoff_ms(RETRY_CONTENTION, 1, 0.5), 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_quota),
		cmocka_unit_test(test_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
