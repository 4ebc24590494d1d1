#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

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

#define assert_near(a, b) assert_true(fabs((a) - (b)) < 1e-9)

/* Ten answers in the first half second of the clock: a send rate of 20 a second, smoothed
 * to 16. */
static void twenty_a_second(struct retry_limiter *l)
{
	for (int i = 1; i <= 10; i++)
		retry_limiter_update(l, i / 20.0, false);
}

static void test_limiter_off_until_throttled(void **state)
{
	struct retry_limiter l;

	(void)state;
	retry_limiter_init(&l, 0.0);
	twenty_a_second(&l);
	/* No throttling answer yet: nothing waits, however many go at once. */
	for (int i = 0; i < 1000; i++)
		assert_near(retry_limiter_acquire(&l, 0.5), 0.0);
	assert_near(retry_limiter_measured_rate(&l), 16.0);
}

static void test_limiter_throttle_cuts_rate(void **state)
{
	struct retry_limiter l;
	double wait;

	(void)state;
	retry_limiter_init(&l, 0.0);
	twenty_a_second(&l);
	/* The first throttling answer: the fill rate becomes beta times the measured rate. */
	retry_limiter_update(&l, 0.55, true);
	assert_near(retry_limiter_fill_rate(&l), 16.0 * RETRY_CUBIC_BETA);
	/* The bucket filled at 1 a second until the first answer, then at the floor of 0.5:
	 * 0.05 + 0.45 * 0.5 + 0.05 * 0.5 = 0.3 tokens. A token is missing 0.7. */
	wait = retry_limiter_acquire(&l, 0.55);
	assert_near(wait, 0.7 / 11.2);
	assert_true(retry_limiter_acquire(&l, 0.55 + wait / 2) > 0.0);
	assert_near(retry_limiter_acquire(&l, 0.55 + wait + 1e-9), 0.0);
	/* The next one waits a whole token's time. */
	assert_near(retry_limiter_acquire(&l, 0.55 + wait + 1e-9), 1.0 / 11.2 - 1e-9);
	/* Idle for long, the bucket holds at most the fill rate's worth: a burst of 11. */
	for (int i = 0; i < 11; i++)
		assert_near(retry_limiter_acquire(&l, 100.0), 0.0);
	assert_near(retry_limiter_acquire(&l, 100.0), 0.8 / 11.2);
}

static void test_limiter_cubic_recovery(void **state)
{
	struct retry_limiter l;
	double k = cbrt(16.0 * (1 - RETRY_CUBIC_BETA) / RETRY_CUBIC_SCALE);

	(void)state;
	retry_limiter_init(&l, 0.0);
	twenty_a_second(&l);
	retry_limiter_update(&l, 0.55, true);
	/* Successes grow the rate along the cubic back towards the rate of the throttle. */
	retry_limiter_update(&l, 0.6, false);
	assert_near(retry_limiter_fill_rate(&l), RETRY_CUBIC_SCALE * pow(0.05 - k, 3) + 16.0);
	assert_true(retry_limiter_fill_rate(&l) > 11.2);
	assert_true(retry_limiter_fill_rate(&l) < 16.0);
	/* At the zero point the cubic is back at 16, but the fill rate stays under twice the
	 * measured rate: 3 answers in the last 2 s give 1.5 a second, smoothed to 4.4. */
	retry_limiter_update(&l, 0.55 + k, false);
	assert_near(retry_limiter_measured_rate(&l), 0.8 * 1.5 + 0.2 * 16.0);
	assert_near(retry_limiter_fill_rate(&l), 2 * 4.4);
}

static void test_limiter_floor(void **state)
{
	struct retry_limiter l;

	(void)state;
	retry_limiter_init(&l, 0.0);
	/* Throttled before any rate was measured: the fill rate is the floor of 0.5 a second,
	 * and the 0.1 token gathered at 1 a second leaves 1.8 s to wait. */
	retry_limiter_update(&l, 0.1, true);
	assert_near(retry_limiter_fill_rate(&l), RETRY_BUCKET_MIN_RATE);
	assert_near(retry_limiter_acquire(&l, 0.1), 0.9 / 0.5);
	/* More throttling never goes below the floor. */
	for (int i = 0; i < 50; i++)
		retry_limiter_update(&l, 0.2 + i * 0.3, true);
	assert_near(retry_limiter_fill_rate(&l), RETRY_BUCKET_MIN_RATE);
	/* A full bucket (one token); a clock that steps back then fills nothing: the next
	 * token is 2 s away. */
	assert_near(retry_limiter_acquire(&l, 20.0), 0.0);
	assert_near(retry_limiter_acquire(&l, 0.0), 1.0 / RETRY_BUCKET_MIN_RATE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_quota),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_limiter_off_until_throttled),
		cmocka_unit_test(test_limiter_throttle_cuts_rate),
		cmocka_unit_test(test_limiter_cubic_recovery),
		cmocka_unit_test(test_limiter_floor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
