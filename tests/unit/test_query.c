/* XML parsing and the Query protocol's encoding and error shapes, without a network. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "query.h"
#include "strutil.h"
#include "xml.h"
#include "banned.h"

static const char groups[] =
        "<DescribeAutoScalingGroupsResponse "
        "xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\">"
        "<DescribeAutoScalingGroupsResult><AutoScalingGroups>"
        "<member><AutoScalingGroupName>web-blue</AutoScalingGroupName><MinSize>2</MinSize></member>"
        "<member><AutoScalingGroupName>web-green</AutoScalingGroupName></member>"
        "</AutoScalingGroups><NextToken>abc</NextToken></DescribeAutoScalingGroupsResult>"
        "<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>"
        "</DescribeAutoScalingGroupsResponse>";

static void test_parse_and_walk(void **state)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	_cleanup_free_ char *name = NULL, *token = NULL;
	xmlNode *root, *list;
	unsigned n = 0;

	(void)state;
	assert_int_equal(xml_parse(groups, strlen(groups), &doc), 0);
	root = xmlDocGetRootElement(doc);
	list = xml_path(root, "DescribeAutoScalingGroupsResult/AutoScalingGroups");
	assert_non_null(list);
	XML_FOREACH_CHILD(m, list, "member")
		n++;
	assert_int_equal(n, 2);
	assert_int_equal(xml_child_text(xml_child(list, "member"), "AutoScalingGroupName", &name),
	                 0);
	assert_string_equal(name, "web-blue");
	assert_int_equal(xml_child_text(xml_child(list, "member"), "Nope", &token), -ENOENT);
	token = xml_text(xml_find(root, "NextToken"));
	assert_string_equal(token, "abc");
	assert_null(xml_find(root, "Missing"));
	assert_null(xml_path(root, "DescribeAutoScalingGroupsResult/Missing/X"));
}

static void test_hostile_documents_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"not xml",
		"<a><b></a>",
		"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
		"<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
		"<lolz>&lol2;</lolz>",
		"<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>",
		"<!DOCTYPE r SYSTEM \"http://127.0.0.1:1/evil.dtd\"><r/>",
		"<r>&undefined;</r>",
	};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		xmlDoc *doc = NULL;

		assert_int_equal(xml_parse(bad[i], strlen(bad[i]), &doc), -EBADMSG);
		assert_null(doc);
	}
}

static void test_deep_nesting_refused(void **state)
{
	struct buf b;
	xmlDoc *doc = NULL;

	(void)state;
	buf_init(&b, 0);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(buf_puts(&b, "<a>"), 0);
	/* libxml2 stops at its depth limit (256 without XML_PARSE_HUGE). */
	assert_int_equal(xml_parse(b.data, b.len, &doc), -EBADMSG);
	buf_free(&b);
}

static void test_encoding(void **state)
{
	_cleanup_query_ struct query *qp = NULL;
	_cleanup_strv_free_ char **ids = NULL;
	struct query q, e;

	(void)state;
	assert_int_equal(query_init(&q, AWS_SVC_AUTOSCALING, "EnterStandby"), 0);
	qp = &q;
	assert_int_equal(strv_extend(&ids, "i-1"), 0);
	assert_int_equal(strv_extend(&ids, "i-2"), 0);
	query_add(&q, "AutoScalingGroupName", "web blue&x=y");
	query_add_list(&q, "InstanceIds", ids);
	query_add_bool(&q, "ShouldDecrementDesiredCapacity", true);
	query_add_uint(&q, "MaxRecords", 100);
	assert_int_equal(q.error, 0);
	assert_string_equal(q.body.data, "Action=EnterStandby&Version=2011-01-01"
	                                 "&AutoScalingGroupName=web+blue%26x%3Dy"
	                                 "&InstanceIds.member.1=i-1&InstanceIds.member.2=i-2"
	                                 "&ShouldDecrementDesiredCapacity=true&MaxRecords=100");

	assert_int_equal(query_init(&e, AWS_SVC_EC2, "DescribeInstances"), 0);
	query_add_list(&e, "InstanceId", ids);
	query_addf(&e, "instance-state-name", "Filter.%d.Name", 1);
	assert_string_equal(e.body.data, "Action=DescribeInstances&Version=2016-11-15"
	                                 "&InstanceId.1=i-1&InstanceId.2=i-2"
	                                 "&Filter.1.Name=instance-state-name");
	query_done(&e);
}

static void test_body_ceiling(void **state)
{
	struct query q;
	_cleanup_free_ char *big = malloc(1 << 20);

	(void)state;
	assert_non_null(big);
	memset(big, 'x', (1 << 20) - 1);
	big[(1 << 20) - 1] = '\0';
	assert_int_equal(query_init(&q, AWS_SVC_AUTOSCALING, "DescribeTags"), 0);
	query_add(&q, "NextToken", big);
	assert_int_equal(q.error, -E2BIG);
	query_add(&q, "Later", "ignored");
	assert_int_equal(q.error, -E2BIG);
	query_done(&q);
}

static void parse(const char *body, long status, struct aws_error *err)
{
	struct http_response r = { .status = status };

	buf_init(&r.body, 0);
	assert_int_equal(buf_puts(&r.body, body), 0);
	query_parse_error(&r, err);
	buf_free(&r.body);
}

static void test_error_shapes(void **state)
{
	struct aws_error err = { 0 };

	(void)state;
	parse("<ErrorResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\"><Error>"
	      "<Type>Sender</Type><Code>ValidationError</Code><Message>bad size</Message></Error>"
	      "<RequestId>req-1</RequestId></ErrorResponse>",
	      400, &err);
	assert_string_equal(err.code, "ValidationError");
	assert_string_equal(err.message, "bad size");
	assert_string_equal(err.request_id, "req-1");
	aws_error_clear(&err);

	parse("<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code>"
	      "<Message>gone</Message></Error></Errors><RequestID>ec2-req</RequestID></Response>",
	      400, &err);
	assert_string_equal(err.code, "InvalidInstanceID.NotFound");
	assert_string_equal(err.message, "gone");
	assert_string_equal(err.request_id, "ec2-req");
	aws_error_clear(&err);

	parse("<html>Bad Gateway</html>", 502, &err);
	assert_null(err.code);
	assert_string_equal(err.message, "HTTP 502 with a body that is not an AWS error");
	aws_error_clear(&err);

	parse("\x01\x02 garbage", 500, &err);
	assert_null(err.code);
	assert_non_null(err.message);
	aws_error_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_walk),
		cmocka_unit_test(test_hostile_documents_refused),
		cmocka_unit_test(test_deep_nesting_refused),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_body_ceiling),
		cmocka_unit_test(test_error_shapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
