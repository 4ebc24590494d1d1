#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dynamodb.h"
#include "jsonutil.h"
#include "strutil.h"
#include "sts.h"
#include "xml.h"
#include "banned.h"

/* The request printed unformatted, compared whole, then freed. */
static void assert_json(cJSON *j, const char *want)
{
	_cleanup_free_ char *text = cJSON_PrintUnformatted(j);

	assert_non_null(text);
	assert_string_equal(text, want);
	cJSON_Delete(j);
}

static struct ddb_item *parse_item(const char *text, int want_r, const char *want_msg)
{
	_cleanup_json_ cJSON *j = cJSON_Parse(text);
	struct ddb_item *it = NULL;
	struct aws_error err = { 0 };

	assert_non_null(j);
	assert_int_equal(ddb_item_from_json(j, &it, &err), want_r);
	if (want_msg)
		assert_string_equal(err.message, want_msg);
	aws_error_clear(&err);
	return it;
}

static void test_numbers(void **state)
{
	static const char *const good[] = { "0",  "-1",   "12.5",    ".5",
		                            "5.", "1e10", "-2.5E-3", "1700000000" };
	static const char *const bad[] = { "",   "-",  ".",  "e5",   "1e",   "1e+", "12abc",
		                           " 1", "1 ", "+1", "0x10", "1..2", "NaN", "Infinity" };

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(good); i++)
		assert_true(ddb_number_is_valid(good[i]));
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_false(ddb_number_is_valid(bad[i]));
	assert_false(ddb_number_is_valid(NULL));
	assert_true(ddb_number_is_valid(
	        "1234567890123456789012345678901234567890123456789012345678901234"));
	assert_false(ddb_number_is_valid(
	        "12345678901234567890123456789012345678901234567890123456789012345"));
}

static void test_build_item(void **state)
{
	_cleanup_(ddb_item_freep) struct ddb_item *it = ddb_item_new();
	struct ddb_value *phases;
	struct ddb_item *m;
	cJSON *j = NULL;
	int64_t v;

	(void)state;
	assert_non_null(it);
	assert_int_equal(ddb_item_add_s(it, "pk", "web"), 0);
	assert_int_equal(ddb_item_add_i64(it, "sk", INT64_MIN), 0);
	assert_int_equal(ddb_item_add_n(it, "n", "12abc"), -EINVAL);
	assert_int_equal(ddb_item_add_s(it, "pk", "again"), -EEXIST);
	assert_int_equal(ddb_item_add_s(it, "", "x"), -EINVAL);
	assert_int_equal(ddb_item_add_s(it, "a\nb", "x"), -EINVAL);
	assert_int_equal(ddb_item_add_l(it, "phases", &phases), 0);
	assert_int_equal(ddb_list_append_m(phases, &m), 0);
	assert_int_equal(ddb_item_add_s(m, "name", "pin"), 0);
	assert_int_equal(ddb_item_add_n(m, "at", "1.5"), 0);
	assert_int_equal(ddb_list_append_m(phases, &m), 0);
	assert_int_equal(ddb_item_to_json(it, &j), 0);
	assert_json(j,
	            "{\"pk\":{\"S\":\"web\"},\"sk\":{\"N\":\"-9223372036854775808\"},"
	            "\"phases\":{\"L\":[{\"M\":{\"name\":{\"S\":\"pin\"},\"at\":{\"N\":\"1.5\"}}},"
	            "{\"M\":{}}]}}");
	assert_string_equal(ddb_item_get_s(it, "pk"), "web");
	assert_null(ddb_item_get_s(it, "sk"));
	assert_null(ddb_item_get_s(it, "nope"));
	assert_int_equal(ddb_item_get_i64(it, "sk", &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(ddb_item_get_i64(it, "pk", &v), -ENOENT);
	assert_int_equal(ddb_item_get(it, "phases")->type, DDB_L);
	/* a list is appended to only as a list */
	assert_int_equal(ddb_list_append_m((struct ddb_value *)ddb_item_get(it, "pk"), &m),
	                 -EINVAL);
}

static void test_too_many_attributes(void **state)
{
	_cleanup_(ddb_item_freep) struct ddb_item *it = ddb_item_new();
	char name[16];

	(void)state;
	for (int i = 0; i < DDB_MAX_ATTRS; i++) {
		(void)snprintf(name, sizeof(name), "a%d", i);
		assert_int_equal(ddb_item_add_s(it, name, "x"), 0);
	}
	assert_int_equal(ddb_item_add_s(it, "one-more", "x"), -E2BIG);
}

static void test_put_request(void **state)
{
	_cleanup_(ddb_item_freep) struct ddb_item *it = ddb_item_new(), *values = ddb_item_new();
	static const char *const names[] = { "#e", "expires", NULL };
	struct aws_error err = { 0 };
	cJSON *j = NULL;

	(void)state;
	assert_int_equal(ddb_item_add_s(it, "pk", "lock#web"), 0);
	assert_int_equal(ddb_item_add_n(it, "expires", "300"), 0);
	assert_int_equal(ddb_item_add_n(values, ":now", "200"), 0);
	const struct ddb_expr cond = { "attribute_not_exists(pk) OR #e < :now", names, values };
	assert_int_equal(ddb_put_request("locks", it, &cond, &j, &err), 0);
	assert_json(
	        j,
	        "{\"TableName\":\"locks\",\"Item\":{\"pk\":{\"S\":\"lock#web\"},"
	        "\"expires\":{\"N\":\"300\"}},\"ConditionExpression\":"
	        "\"attribute_not_exists(pk) OR #e < :now\",\"ExpressionAttributeNames\":"
	        "{\"#e\":\"expires\"},\"ExpressionAttributeValues\":{\":now\":{\"N\":\"200\"}}}");
	j = NULL;
	/* unconditional */
	assert_int_equal(ddb_put_request("locks", it, NULL, &j, &err), 0);
	assert_json(j, "{\"TableName\":\"locks\",\"Item\":{\"pk\":{\"S\":\"lock#web\"},"
	               "\"expires\":{\"N\":\"300\"}}}");
	/* bad table names are refused before anything is built */
	j = NULL;
	assert_int_equal(ddb_put_request("ab", it, NULL, &j, &err), -EINVAL);
	assert_string_equal(err.message, "'ab' is not a DynamoDB table name");
	assert_int_equal(ddb_put_request("a/b/c", it, NULL, &j, &err), -EINVAL);
	assert_int_equal(ddb_put_request(NULL, it, NULL, &j, &err), -EINVAL);
	assert_null(j);
	aws_error_clear(&err);
}

static void test_update_request_merges_names_and_values(void **state)
{
	_cleanup_(ddb_item_freep) struct ddb_item *key = ddb_item_new(), *uv = ddb_item_new(),
	                                          *cv = ddb_item_new();
	static const char *const un[] = { "#e", "expires", NULL };
	static const char *const cn[] = { "#h", "holder", NULL };
	struct aws_error err = { 0 };
	cJSON *j = NULL;

	(void)state;
	assert_int_equal(ddb_item_add_s(key, "pk", "lock#web"), 0);
	assert_int_equal(ddb_item_add_n(uv, ":e", "500"), 0);
	assert_int_equal(ddb_item_add_s(cv, ":me", "a"), 0);
	const struct ddb_expr update = { "SET #e = :e", un, uv };
	const struct ddb_expr cond = { "#h = :me", cn, cv };
	assert_int_equal(ddb_update_request("locks", key, &update, &cond, &j, &err), 0);
	assert_json(j, "{\"TableName\":\"locks\",\"Key\":{\"pk\":{\"S\":\"lock#web\"}},"
	               "\"UpdateExpression\":\"SET #e = :e\",\"ExpressionAttributeNames\":"
	               "{\"#e\":\"expires\",\"#h\":\"holder\"},\"ExpressionAttributeValues\":"
	               "{\":e\":{\"N\":\"500\"},\":me\":{\"S\":\"a\"}},\"ConditionExpression\":"
	               "\"#h = :me\"}");
	/* the same value key on both sides is ambiguous */
	const struct ddb_expr twice = { "#e = :e", un, uv };
	j = NULL;
	assert_int_equal(ddb_update_request("locks", key, &update, &twice, &j, &err), -EINVAL);
	assert_string_equal(err.message, "ConditionExpression: name '#e' given twice");
	assert_null(j);
	assert_int_equal(ddb_update_request("locks", key, NULL, &cond, &j, &err), -EINVAL);
	/* names start with '#', values with ':' */
	static const char *const badn[] = { "e", "expires", NULL };
	const struct ddb_expr bad_name = { "e = :me", badn, cv };
	assert_int_equal(ddb_delete_request("locks", key, &bad_name, &j, &err), -EINVAL);
	_cleanup_(ddb_item_freep) struct ddb_item *badv = ddb_item_new();
	assert_int_equal(ddb_item_add_s(badv, "me", "a"), 0);
	const struct ddb_expr bad_value = { "holder = me", NULL, badv };
	assert_int_equal(ddb_delete_request("locks", key, &bad_value, &j, &err), -EINVAL);
	assert_string_equal(err.message, "ConditionExpression: value 'me' does not start with ':'");
	assert_null(j);
	aws_error_clear(&err);
}

static void test_query_request(void **state)
{
	_cleanup_(ddb_item_freep) struct ddb_item *v = ddb_item_new(), *start = ddb_item_new();
	struct aws_error err = { 0 };
	cJSON *j = NULL;

	(void)state;
	assert_int_equal(ddb_item_add_s(v, ":pk", "web"), 0);
	assert_int_equal(ddb_item_add_s(start, "pk", "web"), 0);
	assert_int_equal(ddb_item_add_n(start, "sk", "17"), 0);
	struct ddb_query q = { .table = "history", .key = { "pk = :pk", NULL, v } };
	assert_int_equal(ddb_query_request(&q, NULL, 0, &j, &err), 0);
	assert_json(j, "{\"TableName\":\"history\",\"KeyConditionExpression\":\"pk = :pk\","
	               "\"ExpressionAttributeValues\":{\":pk\":{\"S\":\"web\"}},"
	               "\"ScanIndexForward\":false}");
	j = NULL;
	q.forward = true;
	assert_int_equal(ddb_query_request(&q, start, 25, &j, &err), 0);
	assert_json(j, "{\"TableName\":\"history\",\"KeyConditionExpression\":\"pk = :pk\","
	               "\"ExpressionAttributeValues\":{\":pk\":{\"S\":\"web\"}},"
	               "\"ScanIndexForward\":true,\"Limit\":25,\"ExclusiveStartKey\":"
	               "{\"pk\":{\"S\":\"web\"},\"sk\":{\"N\":\"17\"}}}");
	j = NULL;
	q.key.expression = NULL;
	assert_int_equal(ddb_query_request(&q, NULL, 0, &j, &err), -EINVAL);
	assert_null(j);
	aws_error_clear(&err);
}

static void test_create_table_request(void **state)
{
	struct aws_error err = { 0 };
	cJSON *j = NULL;

	(void)state;
	assert_int_equal(ddb_create_table_request("asgswap", "pk", "sk", &j, &err), 0);
	assert_json(j, "{\"TableName\":\"asgswap\",\"AttributeDefinitions\":[{\"AttributeName\":"
	               "\"pk\",\"AttributeType\":\"S\"},{\"AttributeName\":\"sk\","
	               "\"AttributeType\":\"N\"}],\"KeySchema\":[{\"AttributeName\":\"pk\","
	               "\"KeyType\":\"HASH\"},{\"AttributeName\":\"sk\",\"KeyType\":\"RANGE\"}],"
	               "\"BillingMode\":\"PAY_PER_REQUEST\"}");
	j = NULL;
	assert_int_equal(ddb_create_table_request("asgswap", "pk", NULL, &j, &err), 0);
	assert_json(j, "{\"TableName\":\"asgswap\",\"AttributeDefinitions\":[{\"AttributeName\":"
	               "\"pk\",\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"pk\","
	               "\"KeyType\":\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}");
	j = NULL;
	assert_int_equal(ddb_create_table_request("asgswap", "", NULL, &j, &err), -EINVAL);
	assert_null(j);
	aws_error_clear(&err);
}

static void test_parse_item(void **state)
{
	struct ddb_item *it;
	cJSON *j = NULL;

	(void)state;
	it = parse_item("{\"pk\":{\"S\":\"web\"},\"sk\":{\"N\":\"3\"},\"phases\":{\"L\":[{\"M\":"
	                "{\"name\":{\"S\":\"pin\"}}}]}}",
	                0, NULL);
	assert_int_equal(it->n, 3);
	assert_string_equal(ddb_item_get_s(it, "pk"), "web");
	assert_int_equal(ddb_item_get(it, "phases")->n, 1);
	assert_string_equal(ddb_item_get_s(ddb_item_get(it, "phases")->l[0].m, "name"), "pin");
	/* and back, unchanged */
	assert_int_equal(ddb_item_to_json(it, &j), 0);
	assert_json(j, "{\"pk\":{\"S\":\"web\"},\"sk\":{\"N\":\"3\"},\"phases\":{\"L\":[{\"M\":"
	               "{\"name\":{\"S\":\"pin\"}}}]}}");
	ddb_item_free(it);
	ddb_item_free(parse_item("{}", 0, NULL));

	assert_null(parse_item("{\"b\":{\"BOOL\":true}}", -EBADMSG,
	                       "attribute 'b' is of a type other than S, N, L or M"));
	assert_null(parse_item("{\"n\":{\"N\":\"1x\"}}", -EBADMSG,
	                       "attribute 'n' has no valid N value"));
	assert_null(
	        parse_item("{\"s\":{\"S\":null}}", -EBADMSG, "attribute 's' has no valid S value"));
	assert_null(parse_item("{\"s\":{}}", -EBADMSG,
	                       "attribute 's' is not one typed DynamoDB value"));
	assert_null(parse_item("{\"s\":\"plain\"}", -EBADMSG,
	                       "attribute 's' is not one typed DynamoDB value"));
	assert_null(parse_item("{\"s\":{\"S\":\"a\"},\"s\":{\"S\":\"b\"}}", -EBADMSG,
	                       "attribute 's' appears twice"));
	assert_null(parse_item("{\"\":{\"S\":\"a\"}}", -EBADMSG,
	                       "an attribute name that is empty, too long or not printable"));
	assert_null(parse_item("{\"l\":{\"L\":{}}}", -EBADMSG,
	                       "attribute 'l' is not a list within the limits"));
	assert_null(parse_item("[]", -EBADMSG, "an item that is not a JSON object"));
	/* item > M > M > M > M is depth 4: the next level is refused */
	ddb_item_free(parse_item(
	        "{\"a\":{\"M\":{\"b\":{\"M\":{\"c\":{\"M\":{\"d\":{\"M\":{}}}}}}}}}", 0, NULL));
	assert_null(parse_item("{\"a\":{\"M\":{\"b\":{\"M\":{\"c\":{\"M\":{\"d\":{\"M\":{\"e\":{"
	                       "\"M\":{}}}}}}}}}}}",
	                       -EBADMSG, "attribute 'e' nests deeper than 4"));
	assert_null(parse_item("{\"a\":{\"L\":[{\"L\":[{\"L\":[{\"L\":[{\"L\":[]}]}]}]}]}}",
	                       -EBADMSG, "attribute 'a' is not a list within the limits"));
}

static void test_query_page(void **state)
{
	_cleanup_ddb_items_ struct ddb_items items = { 0 };
	struct ddb_item *last = NULL;
	struct aws_error err = { 0 };
	cJSON *j;

	(void)state;
	j = cJSON_Parse("{\"Items\":[{\"sk\":{\"N\":\"2\"}},{\"sk\":{\"N\":\"1\"}}],\"Count\":2,"
	                "\"LastEvaluatedKey\":{\"pk\":{\"S\":\"web\"},\"sk\":{\"N\":\"1\"}}}");
	assert_int_equal(ddb_query_page_from_json(j, &items, 10, &last, &err), 0);
	cJSON_Delete(j);
	assert_int_equal(items.n, 2);
	assert_non_null(last);
	assert_string_equal(ddb_item_get_s(last, "pk"), "web");
	last = ddb_item_free(last);
	j = cJSON_Parse("{\"Items\":[{\"sk\":{\"N\":\"0\"}}]}");
	assert_int_equal(ddb_query_page_from_json(j, &items, 10, &last, &err), 0);
	assert_int_equal(items.n, 3);
	assert_null(last);
	/* past the ceiling of what was asked for */
	assert_int_equal(ddb_query_page_from_json(j, &items, 3, &last, &err), -E2BIG);
	cJSON_Delete(j);
	assert_int_equal(items.n, 3);
	j = cJSON_Parse("{\"Count\":0}");
	assert_int_equal(ddb_query_page_from_json(j, &items, 10, &last, &err), -EBADMSG);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"Items\":[],\"LastEvaluatedKey\":{}}");
	assert_int_equal(ddb_query_page_from_json(j, &items, 10, &last, &err), -EBADMSG);
	assert_string_equal(err.message, "Query: an empty LastEvaluatedKey");
	cJSON_Delete(j);
	j = cJSON_Parse("{\"Items\":[{\"sk\":{\"N\":\"5\"}},{\"x\":{\"NULL\":true}}]}");
	assert_int_equal(ddb_query_page_from_json(j, &items, 10, &last, &err), -EBADMSG);
	cJSON_Delete(j);
	assert_int_equal(items.n, 4); /* what was read stays owned by items */
	assert_null(last);
	aws_error_clear(&err);
}

static void test_table_status(void **state)
{
	struct aws_error err = { 0 };
	enum ddb_table_status s;
	cJSON *j;

	(void)state;
	j = cJSON_Parse("{\"Table\":{\"TableName\":\"t\",\"TableStatus\":\"ACTIVE\"}}");
	assert_int_equal(ddb_table_status_from_json(j, &s, &err), 0);
	assert_int_equal(s, DDB_TABLE_ACTIVE);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"Table\":{\"TableStatus\":\"CREATING\"}}");
	assert_int_equal(ddb_table_status_from_json(j, &s, &err), 0);
	assert_int_equal(s, DDB_TABLE_CREATING);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"Table\":{\"TableStatus\":\"active\"}}");
	assert_int_equal(ddb_table_status_from_json(j, &s, &err), -EBADMSG);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"TableStatus\":\"ACTIVE\"}");
	assert_int_equal(ddb_table_status_from_json(j, &s, &err), -EBADMSG);
	cJSON_Delete(j);
	assert_string_equal(ddb_table_status_name(DDB_TABLE_ARCHIVED), "ARCHIVED");
	assert_null(ddb_table_status_name((enum ddb_table_status)99));
	aws_error_clear(&err);
}

static void test_table_info(void **state)
{
	struct ddb_table_info t = { 0 };
	struct aws_error err = { 0 };
	cJSON *j;

	(void)state;
	j = cJSON_Parse(
	        "{\"Table\":{\"TableStatus\":\"ACTIVE\",\"KeySchema\":["
	        "{\"AttributeName\":\"sk\",\"KeyType\":\"RANGE\"},"
	        "{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}],"
	        "\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"},"
	        "{\"AttributeName\":\"sk\",\"AttributeType\":\"N\"}]}}");
	assert_int_equal(ddb_table_info_from_json(j, &t, &err), 0);
	assert_int_equal(t.status, DDB_TABLE_ACTIVE);
	assert_string_equal(t.keys[0].name, "pk");
	assert_string_equal(t.keys[0].type, "S");
	assert_string_equal(t.keys[1].name, "sk");
	assert_string_equal(t.keys[1].type, "N");
	ddb_table_info_done(&t);
	cJSON_Delete(j);
	/* A partition key only. */
	j = cJSON_Parse("{\"Table\":{\"TableStatus\":\"CREATING\",\"KeySchema\":["
	                "{\"AttributeName\":\"LockID\",\"KeyType\":\"HASH\"}],"
	                "\"AttributeDefinitions\":[{\"AttributeName\":\"LockID\","
	                "\"AttributeType\":\"S\"}]}}");
	assert_int_equal(ddb_table_info_from_json(j, &t, &err), 0);
	assert_string_equal(t.keys[0].name, "LockID");
	assert_null(t.keys[1].name);
	ddb_table_info_done(&t);
	cJSON_Delete(j);
	/* Refused: a key without its definition, two partition keys, another KeyType, none. */
	static const char *const bad[] = {
		"{\"Table\":{\"TableStatus\":\"ACTIVE\",\"KeySchema\":[{\"AttributeName\":\"pk\","
		"\"KeyType\":\"HASH\"}]}}",
		"{\"Table\":{\"TableStatus\":\"ACTIVE\",\"KeySchema\":[{\"AttributeName\":\"pk\","
		"\"KeyType\":\"HASH\"},{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}],"
		"\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}]}}",
		"{\"Table\":{\"TableStatus\":\"ACTIVE\",\"KeySchema\":[{\"AttributeName\":\"pk\","
		"\"KeyType\":\"SORT\"}],\"AttributeDefinitions\":[{\"AttributeName\":\"pk\","
		"\"AttributeType\":\"S\"}]}}",
		"{\"Table\":{\"TableStatus\":\"ACTIVE\",\"KeySchema\":[]}}",
		"{\"Table\":{\"TableStatus\":\"ACTIVE\",\"KeySchema\":[{\"AttributeName\":\"pk\","
		"\"KeyType\":\"HASH\"}],\"AttributeDefinitions\":[{\"AttributeName\":\"pk\","
		"\"AttributeType\":\"BOOL\"}]}}",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		j = cJSON_Parse(bad[i]);
		assert_int_equal(ddb_table_info_from_json(j, &t, &err), -EBADMSG);
		assert_null(t.keys[0].name);
		cJSON_Delete(j);
	}
	aws_error_clear(&err);
}

static void test_ttl_description(void **state)
{
	struct aws_error err = { 0 };
	char *attr = NULL;
	bool on = false;
	cJSON *j;

	(void)state;
	j = cJSON_Parse("{\"TimeToLiveDescription\":{\"TimeToLiveStatus\":\"ENABLED\","
	                "\"AttributeName\":\"expires\"}}");
	assert_int_equal(ddb_ttl_from_json(j, &on, &attr, &err), 0);
	assert_true(on);
	assert_string_equal(attr, "expires");
	free(attr);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"TimeToLiveDescription\":{\"TimeToLiveStatus\":\"DISABLED\"}}");
	assert_int_equal(ddb_ttl_from_json(j, &on, &attr, &err), 0);
	assert_false(on);
	assert_null(attr);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"TimeToLiveDescription\":{\"TimeToLiveStatus\":\"ENABLING\","
	                "\"AttributeName\":\"ttl\"}}");
	assert_int_equal(ddb_ttl_from_json(j, &on, &attr, &err), 0);
	assert_true(on);
	free(attr);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"TimeToLiveDescription\":{}}");
	assert_int_equal(ddb_ttl_from_json(j, &on, &attr, &err), -EBADMSG);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"TimeToLiveDescription\":{\"TimeToLiveStatus\":\"ENABLED\","
	                "\"AttributeName\":\"a\\u0001b\"}}");
	assert_int_equal(ddb_ttl_from_json(j, &on, &attr, &err), -EBADMSG);
	cJSON_Delete(j);
	aws_error_clear(&err);
}

static void test_table_names(void **state)
{
	char long_name[257];

	(void)state;
	assert_true(ddb_table_name_is_valid("asgswap-locks"));
	assert_true(ddb_table_name_is_valid("a.b_C-9"));
	assert_false(ddb_table_name_is_valid("ab"));
	assert_false(ddb_table_name_is_valid("a b c"));
	assert_false(ddb_table_name_is_valid("table/x"));
	assert_false(ddb_table_name_is_valid(""));
	assert_false(ddb_table_name_is_valid(NULL));
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[255] = '\0';
	assert_true(ddb_table_name_is_valid(long_name));
	long_name[255] = 'x';
	long_name[256] = '\0';
	assert_false(ddb_table_name_is_valid(long_name));
}

static void test_caller_arn(void **state)
{
	static const char ok[] =
	        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
	        "<GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/ci/run-7</"
	        "Arn>"
	        "<UserId>AROA:run-7</UserId><Account>123456789012</Account>"
	        "</GetCallerIdentityResult></GetCallerIdentityResponse>";
	static const char *const bad[] = {
		"<GetCallerIdentityResponse><GetCallerIdentityResult><UserId>x</UserId>"
		"</GetCallerIdentityResult></GetCallerIdentityResponse>",
		"<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>user/x</Arn>"
		"</GetCallerIdentityResult></GetCallerIdentityResponse>",
		"<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::1:user/a "
		"b</Arn>"
		"</GetCallerIdentityResult></GetCallerIdentityResponse>",
		"<Other><Arn>arn:aws:iam::1:user/a</Arn></Other>",
	};
	struct aws_error err = { 0 };
	xmlDoc *doc = NULL;
	char *arn = NULL;

	(void)state;
	assert_int_equal(xml_parse(ok, strlen(ok), &doc), 0);
	assert_int_equal(sts_caller_arn_from_xml(doc, &arn, &err), 0);
	assert_string_equal(arn, "arn:aws:sts::123456789012:assumed-role/ci/run-7");
	free(arn);
	xmlFreeDoc(doc);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		arn = NULL;
		assert_int_equal(xml_parse(bad[i], strlen(bad[i]), &doc), 0);
		assert_int_equal(sts_caller_arn_from_xml(doc, &arn, &err), -EBADMSG);
		assert_null(arn);
		xmlFreeDoc(doc);
	}
	aws_error_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_build_item),
		cmocka_unit_test(test_too_many_attributes),
		cmocka_unit_test(test_put_request),
		cmocka_unit_test(test_update_request_merges_names_and_values),
		cmocka_unit_test(test_query_request),
		cmocka_unit_test(test_create_table_request),
		cmocka_unit_test(test_parse_item),
		cmocka_unit_test(test_query_page),
		cmocka_unit_test(test_table_status),
		cmocka_unit_test(test_table_info),
		cmocka_unit_test(test_ttl_description),
		cmocka_unit_test(test_table_names),
		cmocka_unit_test(test_caller_arn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
