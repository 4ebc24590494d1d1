/*
 * The planners without AWS: each observation in $ASGSWAP_TESTDATA/plans/ (the
 * DescribeAutoScalingGroups and DescribeTargetHealth answers moto gave, captured once by
 * tests/tools/capture_plans.py) becomes a service, each command's plan is rendered, and
 * the text must equal the golden file NAME.COMMAND[-VERSION].plan beside it (a refusal is the line
 * "refused: WHY"). ASGSWAP_UPDATE_GOLDEN=1 rewrites the golden files instead.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ctl_plan.h"
#include "elb.h"
#include "fileio.h"
#include "strutil.h"
#include "xml.h"
#include "banned.h"

#define IMAGE "registry.example/web"

static const char *testdata(void)
{
	const char *d = getenv("ASGSWAP_TESTDATA");

	return d && *d ? d : "tests/data";
}

/* The whole file, NUL-terminated; NULL when missing. */
static char *slurp(const char *path)
{
	struct buf b;

	if (read_small_file(path, 1 << 22, 0, &b) < 0)
		return NULL;
	return buf_steal(&b);
}

static char *fixture_path(const char *name, const char *suffix)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/plans/%s.%s", testdata(), name, suffix) >= 0);
	return p;
}

static xmlDoc *load(const char *name, const char *suffix)
{
	_cleanup_free_ char *path = fixture_path(name, suffix), *text = slurp(path);
	xmlDoc *doc = NULL;

	if (!text)
		fail_msg("missing fixture %s", path);
	assert_int_equal(xml_parse(text, strlen(text), &doc), 0);
	return doc;
}

/* The service as ctl_observe() builds it, from the recorded answers. */
static void observe(const char *name, struct ctl_service *s, struct lb_targets *tg)
{
	xmlDoc *groups = load(name, "groups.xml"), *health = load(name, "tg.xml");
	xmlNode *list = xml_find(xmlDocGetRootElement(groups), "AutoScalingGroups");

	XML_FOREACH_CHILD(m, list, "member") {
		struct asg_group *v = realloc(s->asg.v, (s->asg.n + 1) * sizeof(*v));

		assert_non_null(v);
		s->asg.v = v;
		assert_int_equal(asg_group_parse(m, &v[s->asg.n]), 0);
		s->asg.n++;
	}
	/* DescribeAutoScalingGroups by tag comes sorted by name. */
	for (size_t i = 1; i < s->asg.n; i++)
		assert_true(strcmp(s->asg.v[i - 1].name, s->asg.v[i].name) < 0);
	assert_int_equal(elbv2_target_health_parse(health, tg), 0);
	assert_int_equal(ctl_service_index(IMAGE, "", s, NULL), 0);
	for (size_t i = 0; i < s->n; i++) {
		assert_int_equal(ctl_group_health(&s->groups[i], &tg), 0);
		STRV_FOREACH(t, s->groups[i].asg->target_groups)
			assert_int_equal(strv_extend(&s->groups[i].tg_names, "web-tg"), 0);
	}
	ctl_service_settle(s);
	xmlFreeDoc(groups);
	xmlFreeDoc(health);
}

/* The clock of the plans (AWS's); a bake recorded to end after it is still running. */
static time_t plan_now = 1800000000;

static void check(const char *name, const char *command, const char *version, bool ff)
{
	_cleanup_(ctl_service_done) struct ctl_service s = { 0 };
	_cleanup_(lb_targets_done) struct lb_targets tg = { 0 };
	_cleanup_(plan_freep) struct plan *p = NULL;
	_cleanup_free_ char *why = NULL, *text = NULL, *golden = NULL, *path = NULL, *suffix = NULL;
	int r;

	observe(name, &s, &tg);
	if (streq(command, "deploy") || streq(command, "promote")) {
		struct deploy_args a = { .version = version,
			                 .timeout_s = 900,
			                 .now = plan_now,
			                 .finalize_first = ff,
			                 .promote = streq(command, "promote") };

		r = plan_deploy(&s, &a, &p, &why);
	} else if (streq(command, "rollback")) {
		r = plan_rollback(&s, 900, &p, &why);
	} else {
		r = plan_finalize(&s, 900, &p, &why);
	}
	if (r < 0) {
		assert_non_null(why);
		assert_true(asprintf(&text, "refused: %s\n", why) >= 0);
	} else {
		assert_int_equal(p->error, 0);
		assert_int_equal(plan_render_text(p, false, &text), 0);
	}
	assert_true(asprintf(&suffix, "%s%s%s%s%s.plan", command, version ? "-" : "",
	                     version ? version : "", ff ? "-finalize-first" : "",
	                     plan_now != 1800000000 ? "-mid-bake" : "") >= 0);
	path = fixture_path(name, suffix);
	if (getenv("ASGSWAP_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "we");

		assert_non_null(f);
		assert_int_equal(fputs(text, f) >= 0, 1);
		assert_int_equal(fclose(f), 0);
		return;
	}
	golden = slurp(path);
	if (!golden)
		fail_msg("missing golden file %s; the plan is:\n%s", path, text);
	if (!streq(golden, text))
		fail_msg("%s differs; the plan is:\n%s", path, text);
}

/* The states of the table, each with the commands that apply or refuse. */
static void test_live_idle(void **state)
{
	(void)state;
	check("live-idle", "deploy", "2.0", false);
	check("live-idle", "rollback", NULL, false);
	check("live-idle", "finalize", NULL, false);
}

static void test_same_version(void **state)
{
	(void)state;
	check("live-idle", "deploy", "1.0", false); /* its note: nothing to do */
}

static void test_launching(void **state)
{
	(void)state;
	check("launching", "deploy", "2.0", false);
	check("launching", "rollback", NULL, false);
}

static void test_standby_live(void **state)
{
	(void)state;
	check("standby-live", "deploy", "3.0", false);
	check("standby-live", "deploy", "3.0", true);
	check("standby-live", "rollback", NULL, false);
	check("standby-live", "finalize", NULL, false);
}

static void test_moving(void **state)
{
	(void)state;
	check("live-moving", "deploy", "2.0", false);
	check("live-moving", "rollback", NULL, false);
}

static void test_mixed(void **state)
{
	(void)state;
	/* A Standby instance beside a full live set: still live. */
	check("mixed-idle", "deploy", "2.0", false);
	/* Fewer serving than desired, with a Standby instance: mixed, refused with which
	 * instances make it so and how to settle it. */
	check("mixed", "deploy", "2.0", false);
	check("mixed", "rollback", NULL, false);
	check("mixed", "finalize", NULL, false);
}

/* Resume points: what a command stopped at each phase leaves, and the same command again
 * (or the one that undoes it). */
static void test_deploy_resume(void **state)
{
	(void)state;
	check("deploy-stopped-launching", "deploy", "2.0", false);
	check("deploy-stopped-launching", "deploy", "3.0", false);
	check("deploy-stopped-launching", "rollback", NULL, false);
	check("deploy-stopped-moving", "deploy", "2.0", false);
	check("deploy-stopped-moving", "rollback", NULL, false);
	check("deploy-stopped-standby", "deploy", "2.0", false);
	check("deploy-stopped-standby", "rollback", NULL, false);
}

static void test_rollback_resume(void **state)
{
	(void)state;
	check("rollback-stopped-exit-standby", "rollback", NULL, false);
	check("rollback-stopped-emptying", "rollback", NULL, false);
}

static void test_finalize_resume(void **state)
{
	(void)state;
	check("finalize-stopped-records", "finalize", NULL, false);
	check("finalize-stopped-records", "deploy", "3.0", false);
}

/* The bake's end recorded on the canonical group of a fixture. */
static time_t recorded_bake_end(const char *name)
{
	_cleanup_(ctl_service_done) struct ctl_service s = { 0 };
	_cleanup_(lb_targets_done) struct lb_targets tg = { 0 };

	observe(name, &s, &tg);
	assert_true(s.have_release);
	assert_true(s.release.bake_end > 0);
	return s.release.bake_end;
}

/* A canary release (--steps 50,100 --bake 3600 --bake-after 3600 --alarm web-5xx) at each
 * resume point: the same deploy again, promote, and the undo. Mid-bake, the clock is 10 s
 * before the recorded end: the plan bakes the rest; past it, the release goes on. */
static void test_canary_resume(void **state)
{
	(void)state;
	check("canary-stopped-launching", "deploy", "2.0", false);
	check("canary-stopped-launching", "rollback", NULL, false);
	check("canary-paused", "deploy", "2.0", false);
	check("canary-paused", "promote", "2.0", false);
	check("canary-paused", "rollback", NULL, false);
	check("canary-baking", "deploy", "2.0", false);
	check("canary-baking", "rollback", NULL, false);
	check("canary-baking-after", "deploy", "2.0", false);
	check("canary-baking-after", "rollback", NULL, false);
	plan_now = recorded_bake_end("canary-baking") - 10;
	check("canary-baking", "deploy", "2.0", false);
	plan_now = recorded_bake_end("canary-baking-after") - 10;
	check("canary-baking-after", "deploy", "2.0", false);
	plan_now = 1800000000;
}

/* The JSON document of a plan: phases, steps with action, groups and parameters. */
static void test_json(void **state)
{
	_cleanup_(ctl_service_done) struct ctl_service s = { 0 };
	_cleanup_(lb_targets_done) struct lb_targets tg = { 0 };
	_cleanup_(plan_freep) struct plan *p = NULL;
	_cleanup_free_ char *why = NULL, *json = NULL;
	struct deploy_args a = { .version = "2.0", .timeout_s = 900, .now = 1800000000 };

	(void)state;
	observe("live-idle", &s, &tg);
	assert_int_equal(plan_deploy(&s, &a, &p, &why), 0);
	assert_int_equal(plan_render_json(p, &json), 0);
	assert_non_null(strstr(json, "\"action\":\t\"UpdateAutoScalingGroup\""));
	assert_non_null(strstr(json, "\"DesiredCapacity\":\t\"2\""));
	assert_non_null(strstr(json, "\"condition\":\t\"live\""));
	assert_non_null(strstr(json, "\"instances_to_terminate\":\t0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_idle),
		cmocka_unit_test(test_same_version),
		cmocka_unit_test(test_launching),
		cmocka_unit_test(test_standby_live),
		cmocka_unit_test(test_moving),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_deploy_resume),
		cmocka_unit_test(test_rollback_resume),
		cmocka_unit_test(test_finalize_resume),
		cmocka_unit_test(test_canary_resume),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
