/* The controller's parsers and generators without a network: a DescribeAutoScalingGroups
 * member into struct asg_group, and Describe elements back into Query parameters. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "autoscaling.h"
#include "elb.h"
#include "query.h"
#include "strutil.h"
#include "xml.h"
#include "banned.h"

static const char group_xml[] =
        "<member><AutoScalingGroupName>web-blue</AutoScalingGroupName>"
        "<AutoScalingGroupARN>arn:g</AutoScalingGroupARN>"
        "<MinSize>1</MinSize><MaxSize>4</MaxSize><DesiredCapacity>2</DesiredCapacity>"
        "<Instances><member><InstanceId>i-1</InstanceId><LifecycleState>InService"
        "</LifecycleState><HealthStatus>Healthy</HealthStatus><AvailabilityZone>us-east-1a"
        "</AvailabilityZone><ProtectedFromScaleIn>true</ProtectedFromScaleIn></member>"
        "<member><InstanceId>i-2</InstanceId><LifecycleState>Standby</LifecycleState>"
        "<HealthStatus>Unhealthy</HealthStatus></member></Instances>"
        "<LoadBalancerNames><member>web-clb</member></LoadBalancerNames>"
        "<TargetGroupARNs><member>arn:tg1</member><member>arn:tg2</member></TargetGroupARNs>"
        "<SuspendedProcesses><member><ProcessName>AZRebalance</ProcessName>"
        "<SuspensionReason>User</SuspensionReason></member></SuspendedProcesses>"
        "<Tags><member><Key>docker:image:name</Key><Value>web</Value>"
        "<PropagateAtLaunch>true</PropagateAtLaunch></member>"
        "<member><Key>asgswap:saved</Key><Value>1,4,2</Value></member></Tags>"
        "</member>";

static xmlNode *root_of(const char *s, xmlDoc **doc)
{
	assert_int_equal(xml_parse(s, strlen(s), doc), 0);
	return xmlDocGetRootElement(*doc);
}

/* The reason a load balancer gives is kept when it is a short code, and dropped when it is
 * not one (it is repeated in messages). */
static void test_lb_reasons(void **state)
{
	static const char tg[] =
	        "<DescribeTargetHealthResponse><DescribeTargetHealthResult>"
	        "<TargetHealthDescriptions>"
	        "<member><Target><Id>i-1</Id></Target><TargetHealth><State>unhealthy</State>"
	        "<Reason>Target.FailedHealthChecks</Reason></TargetHealth></member>"
	        "<member><Target><Id>i-2</Id></Target><TargetHealth><State>initial</State>"
	        "<Reason>bad reason; rm -rf</Reason></TargetHealth></member>"
	        "<member><Target><Id>i-3</Id></Target><TargetHealth><State>healthy</State>"
	        "</TargetHealth></member>"
	        "</TargetHealthDescriptions></DescribeTargetHealthResult>"
	        "</DescribeTargetHealthResponse>";
	static const char clb[] =
	        "<DescribeInstanceHealthResponse><DescribeInstanceHealthResult><InstanceStates>"
	        "<member><InstanceId>i-4</InstanceId><State>OutOfService</State>"
	        "<ReasonCode>Instance</ReasonCode></member>"
	        "<member><InstanceId>i-5</InstanceId><State>InService</State>"
	        "<ReasonCode>N/A</ReasonCode></member>"
	        "</InstanceStates></DescribeInstanceHealthResult></DescribeInstanceHealthResponse>";
	struct lb_targets t = { 0 }, c = { 0 };
	xmlDoc *doc = NULL, *doc2 = NULL;

	(void)state;
	(void)root_of(tg, &doc);
	assert_int_equal(elbv2_target_health_parse(doc, &t), 0);
	assert_string_equal(lb_targets_state(&t, "i-1"), "unhealthy");
	assert_string_equal(lb_targets_reason(&t, "i-1"), "Target.FailedHealthChecks");
	assert_null(lb_targets_reason(&t, "i-2"));
	assert_null(lb_targets_reason(&t, "i-3"));
	assert_null(lb_targets_reason(&t, "i-9"));
	(void)root_of(clb, &doc2);
	assert_int_equal(elb_instance_health_parse(doc2, &c), 0);
	assert_string_equal(lb_targets_reason(&c, "i-4"), "Instance");
	assert_null(lb_targets_reason(&c, "i-5"));
	lb_targets_done(&t);
	lb_targets_done(&c);
	xmlFreeDoc(doc);
	xmlFreeDoc(doc2);
}

static void test_group_parse(void **state)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	struct asg_group g;

	(void)state;
	assert_int_equal(asg_group_parse(root_of(group_xml, &doc), &g), 0);
	assert_string_equal(g.name, "web-blue");
	assert_int_equal(g.min, 1);
	assert_int_equal(g.max, 4);
	assert_int_equal(g.desired, 2);
	assert_int_equal(g.n_instances, 2);
	assert_string_equal(g.instances[0].id, "i-1");
	assert_true(g.instances[0].protected_from_scale_in);
	assert_string_equal(g.instances[1].lifecycle, "Standby");
	assert_string_equal(g.instances[1].health, "Unhealthy");
	assert_false(g.instances[1].protected_from_scale_in);
	assert_int_equal(strv_length(g.load_balancers), 1);
	assert_int_equal(strv_length(g.target_groups), 2);
	assert_string_equal(g.target_groups[1], "arn:tg2");
	assert_true(asg_group_suspended(&g, "AZRebalance"));
	assert_false(asg_group_suspended(&g, "Launch"));
	assert_false(g.warm_pool);
	assert_string_equal(asg_group_tag(&g, "asgswap:saved"), "1,4,2");
	assert_null(asg_group_tag(&g, "nope"));
	asg_group_done(&g);
}

static void test_group_parse_refuses_bad_members(void **state)
{
	static const char *const bad[] = {
		"<member><MinSize>1</MinSize></member>",
		"<member><AutoScalingGroupName>g</AutoScalingGroupName><MinSize>-1</MinSize>"
		"<MaxSize>1</MaxSize><DesiredCapacity>1</DesiredCapacity></member>",
		"<member><AutoScalingGroupName>g</AutoScalingGroupName><MinSize>1</MinSize>"
		"<MaxSize>99999999999999999999</MaxSize><DesiredCapacity>1</DesiredCapacity></"
		"member>",
		"<member><AutoScalingGroupName>g</AutoScalingGroupName><MinSize>0</MinSize>"
		"<MaxSize>1</MaxSize><DesiredCapacity>0</DesiredCapacity><Instances><member>"
		"<LifecycleState>InService</LifecycleState></member></Instances></member>",
	};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
		struct asg_group g = { 0 };

		assert_int_equal(asg_group_parse(root_of(bad[i], &doc), &g), -EBADMSG);
		assert_null(g.name);
	}
}

static void test_group_parse_warm_pool(void **state)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	struct asg_group g;

	(void)state;
	assert_int_equal(asg_group_parse(root_of("<member><AutoScalingGroupName>g"
	                                         "</AutoScalingGroupName><MinSize>0</MinSize>"
	                                         "<MaxSize>1</MaxSize><DesiredCapacity>0"
	                                         "</DesiredCapacity><WarmPoolConfiguration>"
	                                         "<MinSize>0</MinSize><PoolState>Stopped"
	                                         "</PoolState></WarmPoolConfiguration></member>",
	                                         &doc),
	                                 &g),
	                 0);
	assert_true(g.warm_pool);
	asg_group_done(&g);
}

static const char *upper_value(void *userdata, const char *key, const char *name, const char *value)
{
	(void)key;
	if (streq(name, "Value") && streq(value, "web-blue"))
		return "web-green";
	if (streq(value, (const char *)userdata))
		return NULL;
	return value;
}

static void test_query_from_xml(void **state)
{
	static const char alarm[] =
	        "<member><AlarmName>cpu high</AlarmName><AlarmArn>arn:x</AlarmArn>"
	        "<StateValue>OK</StateValue><AlarmActions><member>arn:p1</member>"
	        "<member>arn:drop</member></AlarmActions><OKActions/>"
	        "<Dimensions><member><Name>AutoScalingGroupName</Name><Value>web-blue</Value>"
	        "</member></Dimensions><Metrics><member><Id>m1</Id><MetricStat><Metric>"
	        "<Dimensions><member><Name>AutoScalingGroupName</Name><Value>web-blue</Value>"
	        "</member></Dimensions></Metric><Period>60</Period></MetricStat></member>"
	        "</Metrics><Threshold>70.0</Threshold></member>";
	static const char *const skip[] = { "AlarmArn", "StateValue", NULL };
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	struct query q = { 0 };
	_cleanup_query_ struct query *qp = &q;

	(void)state;
	assert_int_equal(query_init(&q, AWS_SVC_CLOUDWATCH, "PutMetricAlarm"), 0);
	assert_int_equal(query_add_from_xml(&q, NULL, root_of(alarm, &doc), skip, upper_value,
	                                    (void *)"arn:drop"),
	                 0);
	assert_string_equal(
	        q.body.data,
	        "Action=PutMetricAlarm&Version=2010-08-01&AlarmName=cpu+high&"
	        "AlarmActions.member.1=arn%3Ap1&"
	        "Dimensions.member.1.Name=AutoScalingGroupName&"
	        "Dimensions.member.1.Value=web-green&Metrics.member.1.Id=m1&"
	        "Metrics.member.1.MetricStat.Metric.Dimensions.member.1.Name="
	        "AutoScalingGroupName&"
	        "Metrics.member.1.MetricStat.Metric.Dimensions.member.1.Value=web-green&"
	        "Metrics.member.1.MetricStat.Period=60&Threshold=70.0");
}

static void test_query_from_xml_prefix_and_depth(void **state)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL, *deep_doc = NULL;
	_cleanup_(buf_free) struct buf deep;
	struct query q = { 0 }, q2 = { 0 };
	_cleanup_query_ struct query *qp = &q, *qp2 = &q2;

	(void)state;
	assert_int_equal(query_init(&q, AWS_SVC_AUTOSCALING, "X"), 0);
	assert_int_equal(query_add_from_xml(&q, "Cfg",
	                                    root_of("<a><B>1</B><C><D>2</D></C></a>", &doc), NULL,
	                                    NULL, NULL),
	                 0);
	assert_string_equal(q.body.data, "Action=X&Version=2011-01-01&Cfg.B=1&Cfg.C.D=2");

	buf_init(&deep, 0);
	for (int i = 0; i < 40; i++)
		assert_int_equal(buf_puts(&deep, "<a>"), 0);
	assert_int_equal(buf_puts(&deep, "x"), 0);
	for (int i = 0; i < 40; i++)
		assert_int_equal(buf_puts(&deep, "</a>"), 0);
	assert_int_equal(query_init(&q2, AWS_SVC_AUTOSCALING, "X"), 0);
	assert_int_equal(
	        query_add_from_xml(&q2, NULL, root_of(deep.data, &deep_doc), NULL, NULL, NULL),
	        -ELOOP);
	assert_int_equal(q2.error, -ELOOP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_parse),
		cmocka_unit_test(test_lb_reasons),
		cmocka_unit_test(test_group_parse_refuses_bad_members),
		cmocka_unit_test(test_group_parse_warm_pool),
		cmocka_unit_test(test_query_from_xml),
		cmocka_unit_test(test_query_from_xml_prefix_and_depth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
