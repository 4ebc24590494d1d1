/*
 * The strategy's option and records (controller/ctl_strategy.c) and the DescribeAlarms
 * parser (common/cloudwatch.c): what is written reads back the same, and anything else is
 * refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cloudwatch.h"
#include "ctl.h"
#include "strutil.h"
#include "xml.h"
#include "banned.h"

static void test_steps(void **state _unused_)
{
	static const char *const bad[] = {
		"",          ",",
		"10",        "10,50",
		"50,10,100", "10,10,100",
		"0,100",     "101",
		"10,101",    "1x,100",
		"-5,100",    "10,,100",
		"10,100,",   " 10,100",
		"+10,100",   "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,100"
	};
	struct ctl_strategy st = { 0 };
	char *why = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(ctl_steps_parse(bad[i], &st, &why), -EINVAL);
		assert_non_null(strstr(why, "--steps"));
		free(why);
		why = NULL;
		assert_int_equal(st.n_steps, 0);
	}
	assert_int_equal(ctl_steps_parse("100", &st, &why), 0);
	assert_int_equal(ctl_strategy_steps(&st), 1);
	assert_int_equal(ctl_steps_parse("10,50,100", &st, &why), 0);
	assert_int_equal(ctl_strategy_steps(&st), 3);
	assert_int_equal(ctl_strategy_percent(&st, 1), 10);
	assert_int_equal(ctl_strategy_percent(&st, 3), 100);
	assert_int_equal(
	        ctl_steps_parse("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,100", &st, &why), 0);
	assert_int_equal(ctl_strategy_steps(&st), 19);
}

static void test_step_size(void **state _unused_)
{
	assert_int_equal(ctl_step_size(10, 40), 4);
	assert_int_equal(ctl_step_size(10, 41), 5); /* ceil */
	assert_int_equal(ctl_step_size(1, 2), 1);   /* at least 1 */
	assert_int_equal(ctl_step_size(50, 5), 3);
	assert_int_equal(ctl_step_size(100, 7), 7);
	assert_int_equal(ctl_step_size(50, 0), 0);
	assert_int_equal(ctl_step_size(100, 4000000000U), 4000000000U);
}

static void test_strategy_record(void **state _unused_)
{
	static const char *const bad[] = {
		"",
		"bake=5",
		"steps=10,5",
		"steps=50,100 bake=0",
		"steps=50,100 bake=172801",
		"steps=50,100 bake=5 bake=6",
		"steps=50,100 pause pause",
		"steps=50,100  pause",
		"steps=50,100 rm -rf",
		"steps=50,100 steps=100",
		"steps=50,100 bake=5x",
	};
	struct ctl_strategy st = { 0 }, back = { 0 };
	char *v = NULL, *why = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(ctl_strategy_parse(bad[i], &back), -EINVAL);
	assert_int_equal(ctl_steps_parse("10,50,100", &st, &why), 0);
	st.bake_s = 300;
	st.bake_after_s = 600;
	st.pause = st.no_auto_rollback = st.ignore_alarm_state = true;
	assert_int_equal(ctl_strategy_format(&st, &v), 0);
	assert_string_equal(v, "steps=10,50,100 bake=300 bake-after=600 pause no-auto-rollback "
	                       "ignore-alarm-state");
	assert_int_equal(ctl_strategy_parse(v, &back), 0);
	assert_memory_equal(&st, &back, sizeof(st));
	free(v);
	v = NULL;
	assert_int_equal(ctl_strategy_parse("steps=100", &back), 0);
	assert_true(ctl_strategy_is_default(&back));
}

static void test_step_record(void **state _unused_)
{
	static const char *const bad[] = {
		"",        "1",     "1/",   "/2",    "0/2",
		"3/2",     "1/21",  "1/2:", "1/2:0", "1/2:-1",
		"1/2:1:2", "1/2:x", "a/b",  "1/2 ",  "1/2:253402300800"
	};
	unsigned k = 0, n = 0;
	time_t end = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(ctl_step_record_parse(bad[i], &k, &n, &end), -EINVAL);
	assert_int_equal(ctl_step_record_parse("2/3", &k, &n, &end), 0);
	assert_int_equal(k, 2);
	assert_int_equal(n, 3);
	assert_int_equal(end, 0);
	assert_int_equal(ctl_step_record_parse("1/3:1800000300", &k, &n, &end), 0);
	assert_int_equal(end, 1800000300);
}

static void test_alarm_names(void **state _unused_)
{
	char *names[] = { (char *)"web-5xx",     (char *)"High CPU + 1", (char *)"a/b:c=d@e_f.g",
		          (char *)"caf\xc3\xa9", (char *)"50%,\"q\"",    NULL };
	char **tags = NULL, **back = NULL;
	static const char *const bad[] = { "",    " a",  "a ",  "a  b", "+",  "+4",
		                           "+zz", "+41", "+00", "a%b",  "a,b" };

	assert_int_equal(ctl_alarms_format(names, &tags), 0);
	assert_int_equal(strv_length(tags), 1);
	assert_string_equal(tags[0], "web-5xx High+20CPU+20+2B+201 a/b:c=d@e_f.g caf+C3+A9 "
	                             "50+25+2C+22q+22");
	assert_int_equal(ctl_alarms_parse(tags, &back), 0);
	for (size_t i = 0; names[i]; i++)
		assert_string_equal(back[i], names[i]);
	assert_null(back[5]);
	tags = strv_free(tags);
	back = strv_free(back);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char *one[] = { (char *)bad[i], NULL };

		assert_int_equal(ctl_alarms_parse(one, &back), -EINVAL);
	}
}

static void test_alarm_tags_split(void **state _unused_)
{
	char **names = NULL, **tags = NULL, **back = NULL;
	char name[256];

	/* 12 names of 100 characters: three per tag of 256. */
	for (int i = 0; i < 12; i++) {
		memset(name, 'a' + i, 100);
		name[100] = '\0';
		assert_int_equal(strv_extend(&names, name), 0);
	}
	assert_int_equal(ctl_alarms_format(names, &tags), 0);
	assert_int_equal(strv_length(tags), 6);
	STRV_FOREACH(t, tags)
		assert_true(strlen(*t) <= 256);
	assert_int_equal(ctl_alarms_parse(tags, &back), 0);
	assert_int_equal(strv_length(back), 12);
	tags = strv_free(tags);
	back = strv_free(back);
	/* 9 tags' worth do not fit; one name of 255 bytes that all need escapes neither. */
	for (int i = 0; i < 8; i++)
		assert_int_equal(strv_extend(&names, names[0]), 0);
	assert_int_equal(ctl_alarms_format(names, &tags), -E2BIG);
	names = strv_free(names);
	memset(name, ',', 255);
	name[255] = '\0';
	assert_int_equal(strv_extend(&names, name), 0);
	assert_int_equal(ctl_alarms_format(names, &tags), -E2BIG);
	strv_free(names);
}

static void test_tag_text(void **state _unused_)
{
	char *t = ctl_tag_text("alarm 'web-5xx' is in ALARM; rm -rf $HOME\n");

	assert_string_equal(t, "alarm _web-5xx_ is in ALARM_ rm -rf _HOME_");
	free(t);
}

static void test_cloudwatch_parse(void **state _unused_)
{
	static const char doc_text[] =
	        "<DescribeAlarmsResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">"
	        "<DescribeAlarmsResult><MetricAlarms>"
	        "<member><AlarmName>web-5xx</AlarmName><StateValue>OK</StateValue>"
	        "<Period>60</Period><EvaluationPeriods>3</EvaluationPeriods></member>"
	        "<member><AlarmName>math</AlarmName><StateValue>ALARM</StateValue>"
	        "<EvaluationPeriods>2</EvaluationPeriods><Metrics>"
	        "<member><Id>m1</Id><MetricStat><Period>300</Period></MetricStat></member>"
	        "<member><Id>e1</Id><Period>10</Period></member></Metrics></member>"
	        "<member><StateValue>OK</StateValue></member>"
	        "</MetricAlarms><CompositeAlarms>"
	        "<member><AlarmName>all</AlarmName></member>"
	        "</CompositeAlarms></DescribeAlarmsResult></DescribeAlarmsResponse>";
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	struct cw_alarms a = { 0 };
	const struct cw_alarm *x;

	assert_int_equal(xml_parse(doc_text, sizeof(doc_text) - 1, &doc), 0);
	assert_int_equal(cw_alarms_parse(doc, &a), 0);
	assert_int_equal(a.n, 3);
	x = cw_alarms_find(&a, "web-5xx");
	assert_string_equal(x->state, "OK");
	assert_int_equal(x->period, 60);
	assert_int_equal(x->evaluation_periods, 3);
	assert_false(x->composite);
	x = cw_alarms_find(&a, "math");
	assert_string_equal(x->state, "ALARM");
	assert_int_equal(x->period, 300);
	x = cw_alarms_find(&a, "all");
	assert_true(x->composite);
	assert_string_equal(x->state, "INSUFFICIENT_DATA");
	assert_null(cw_alarms_find(&a, "nope"));
	cw_alarms_done(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps),           cmocka_unit_test(test_step_size),
		cmocka_unit_test(test_strategy_record), cmocka_unit_test(test_step_record),
		cmocka_unit_test(test_alarm_names),     cmocka_unit_test(test_alarm_tags_split),
		cmocka_unit_test(test_tag_text),        cmocka_unit_test(test_cloudwatch_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
