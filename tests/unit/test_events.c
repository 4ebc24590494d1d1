#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "events.h"
#include "jsonutil.h"
#include "strutil.h"
#include "banned.h"

static void test_bus_names(void **state)
{
	static const char *const good[] = {
		"default",
		"releases",
		"a.b-c_D9",
		"arn:aws:events:us-east-1:123456789012:event-bus/default",
		"arn:aws-cn:events:cn-north-1:123456789012:event-bus/x",
		"arn:aws-us-gov:events:us-gov-west-1:123456789012:event-bus/a.b",
	};
	static const char *const bad[] = {
		"",
		"a b",
		"bus!",
		"bus\n",
		"a/b",
		"arn:aws:events:us-east-1:12345678901:event-bus/x",
		"arn:aws:events:us-east-1:1234567890123:event-bus/x",
		"arn:aws:events:us-east-1:123456789012:event-bus/",
		"arn:aws:events:us-east-1:123456789012:rule/x",
		"arn:aws:sqs:us-east-1:123456789012:event-bus/x",
		"arn:aws:events:useast1:123456789012:event-bus/x",
		"arn:aws:events:us-east-:123456789012:event-bus/x",
		"arn:aws:events::123456789012:event-bus/x",
		"arn:aws:events:us-east-1:123456789012:event-bus/a b",
		"arn:aws:events:us-east-1:123456789012:event-bus/a/b",
	};
	char name[258];

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(good); i++)
		assert_true(events_bus_valid(good[i]));
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		if (events_bus_valid(bad[i]))
			fail_msg("accepted '%s'", bad[i]);
	assert_false(events_bus_valid(NULL));
	memset(name, 'x', 256);
	name[256] = '\0';
	assert_true(events_bus_valid(name));
	name[256] = 'x';
	name[257] = '\0';
	assert_false(events_bus_valid(name));
}

static void test_request(void **state)
{
	struct events_entry e[EVENTS_MAX_ENTRIES + 1] = {
		{ "asgswap", "asgswap release", "{\"a\":1}", NULL },
		{ "asgswap", "asgswap release", "{}",
		  "arn:aws:events:eu-west-1:123456789012:event-bus/b" },
	};
	_cleanup_free_ char *text = NULL, *big = NULL;
	cJSON *j = NULL;

	(void)state;
	assert_int_equal(events_request(e, 2, &j), 0);
	text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	assert_string_equal(text, "{\"Entries\":[{\"Source\":\"asgswap\",\"DetailType\":\"asgswap "
	                          "release\",\"Detail\":\"{\\\"a\\\":1}\",\"EventBusName\":"
	                          "\"default\"},{\"Source\":\"asgswap\",\"DetailType\":\"asgswap "
	                          "release\",\"Detail\":\"{}\",\"EventBusName\":\"arn:aws:events:"
	                          "eu-west-1:123456789012:event-bus/b\"}]}");
	j = NULL;
	assert_int_equal(events_request(e, 0, &j), -EINVAL);
	for (size_t i = 0; i < ELEMENTSOF(e); i++)
		e[i] = e[0];
	assert_int_equal(events_request(e, EVENTS_MAX_ENTRIES, &j), 0);
	cJSON_Delete(j);
	j = NULL;
	assert_int_equal(events_request(e, EVENTS_MAX_ENTRIES + 1, &j), -EINVAL);
	e[0].bus = "no bus";
	assert_int_equal(events_request(e, 1, &j), -EINVAL);
	e[0].bus = NULL;
	e[0].detail = NULL;
	assert_int_equal(events_request(e, 1, &j), -EINVAL);
	/* An entry passing 256 KiB is refused before it is sent. */
	big = malloc(EVENTS_ENTRY_MAX + 1);
	assert_non_null(big);
	memset(big, ' ', EVENTS_ENTRY_MAX);
	big[EVENTS_ENTRY_MAX] = '\0';
	e[0].detail = big;
	assert_int_equal(events_request(e, 1, &j), -EINVAL);
	assert_null(j);
}

static int check(const char *answer, size_t n, struct aws_error *err)
{
	_cleanup_json_ cJSON *j = cJSON_Parse(answer);

	aws_error_clear(err);
	return events_check_response(j, n, err);
}

static void test_response(void **state)
{
	struct aws_error err = { 0 };

	(void)state;
	assert_int_equal(
	        check("{\"FailedEntryCount\":0,\"Entries\":[{\"EventId\":\"1\"}]}", 1, &err), 0);
	assert_int_equal(check("{\"FailedEntryCount\":1,\"Entries\":[{\"EventId\":\"1\"},"
	                       "{\"ErrorCode\":\"InternalFailure\",\"ErrorMessage\":\"try "
	                       "again\"}]}",
	                       2, &err),
	                 -EREMOTEIO);
	assert_string_equal(err.code, "InternalFailure");
	assert_string_equal(err.message, "entry 2 of 2: try again");
	/* A failure without a code, or with unreadable text, is still a failure. */
	assert_int_equal(check("{\"FailedEntryCount\":1,\"Entries\":[]}", 1, &err), -EREMOTEIO);
	assert_null(err.code);
	assert_string_equal(err.message, "1 of 1 entries failed, without a code");
	assert_int_equal(check("{\"FailedEntryCount\":1,\"Entries\":[{\"ErrorCode\":\"a\\u001bb\","
	                       "\"ErrorMessage\":7}]}",
	                       1, &err),
	                 -EREMOTEIO);
	assert_string_equal(err.code, "an unreadable code");
	assert_string_equal(err.message, "entry 1 of 1: no message");
	/* An answer that does not say how many failed is not an answer. */
	static const char *const bad[] = {
		"{}",
		"{\"FailedEntryCount\":\"0\"}",
		"{\"FailedEntryCount\":-1}",
		"{\"FailedEntryCount\":2}",
		"{\"FailedEntryCount\":0.5}",
		"{\"FailedEntryCount\":1e300}",
		"[]",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		assert_int_equal(check(bad[i], 1, &err), -EBADMSG);
		assert_string_equal(
		        err.message,
		        "PutEvents: the answer has no FailedEntryCount between 0 and 1");
	}
	aws_error_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bus_names),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_response),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
