/*
 * Profile, region, endpoint and attempt resolution. Expectations marked "botocore:" were
 * cross-checked with botocore 1.43.11 (Session.get_scoped_config, create_client(...)
 * .meta.endpoint_url, configloader.build_profile_map) on the same files and environment.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "strutil.h"
#include "banned.h"

static const char *const env_vars[] = {
	"AWS_PROFILE",
	"AWS_DEFAULT_PROFILE",
	"AWS_REGION",
	"AWS_DEFAULT_REGION",
	"AWS_MAX_ATTEMPTS",
	"AWS_RETRY_MODE",
	"AWS_CA_BUNDLE",
	"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
	"AWS_ENDPOINT_URL",
	"AWS_ENDPOINT_URL_AUTO_SCALING",
	"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING",
	"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2",
	"AWS_ENDPOINT_URL_EC2",
	"AWS_ENDPOINT_URL_STS",
	"AWS_ENDPOINT_URL_CLOUDWATCH",
	"AWS_ENDPOINT_URL_ECR",
	"AWS_CONFIG_FILE",
	"AWS_SHARED_CREDENTIALS_FILE",
	"TEST_CONFIG_DIR",
};

static void *mfree(void *p)
{
	free(p);
	return NULL;
}

static char dir[] = "/tmp/test_config.XXXXXX";
static char *config_path, *creds_path;

static char *path_in_dir(const char *name)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void write_config(const char *text)
{
	write_file(config_path, text);
}

static void write_creds(const char *text)
{
	write_file(creds_path, text);
}

/* A clean environment, HOME in a fresh directory, both files pointed into it (absent). */
static int setup(void **state)
{
	(void)state;
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
	if (!mkdtemp(dir))
		return -1;
	for (size_t i = 0; i < ELEMENTSOF(env_vars); i++)
		unsetenv(env_vars[i]);
	config_path = path_in_dir("config");
	creds_path = path_in_dir("credentials");
	setenv("HOME", dir, 1);
	setenv("AWS_CONFIG_FILE", config_path, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", creds_path, 1);
	return 0;
}

static int teardown(void **state)
{
	_cleanup_free_ char *aws = path_in_dir(".aws");
	_cleanup_free_ char *aws_config = path_in_dir(".aws/config");
	_cleanup_free_ char *other = path_in_dir("other");

	(void)state;
	unlink(config_path);
	unlink(creds_path);
	unlink(aws_config);
	unlink(other);
	rmdir(aws);
	config_path = mfree(config_path);
	creds_path = mfree(creds_path);
	return rmdir(dir);
}

static struct aws_config *load_ok(const struct aws_config_options *o)
{
	struct aws_config *c = NULL;
	_cleanup_free_ char *why = NULL;
	int r = aws_config_load(o, &c, &why);

	if (r < 0)
		fail_msg("aws_config_load: %d: %s", r, why ? why : "(no reason)");
	assert_null(why);
	return c;
}

/* Fails with want and a reason containing `needle`, leaving the output alone. */
static void load_fails(const struct aws_config_options *o, int want, const char *needle)
{
	struct aws_config *sentinel = (struct aws_config *)&sentinel, *c = sentinel;
	_cleanup_free_ char *why = NULL;

	assert_int_equal(aws_config_load(o, &c, &why), want);
	assert_ptr_equal(c, sentinel);
	assert_non_null(why);
	if (!strstr(why, needle))
		fail_msg("reason '%s' lacks '%s'", why, needle);
	assert_null(strchr(why, '\n'));
}

static char *endpoint(const struct aws_config *c, enum aws_service s, const char *region)
{
	char *url = NULL;

	assert_int_equal(aws_config_endpoint(c, s, region, &url), 0);
	assert_non_null(url);
	return url;
}

#define ASSERT_ENDPOINT(c, s, region, want)                             \
	do {                                                            \
		_cleanup_free_ char *_u = endpoint((c), (s), (region)); \
		assert_string_equal(_u, (want));                        \
	} while (0)

static void test_service_info(void **state)
{
	static const struct {
		enum aws_service s;
		const char *name, *env, *key, *host, *signing, *version;
	} want[] = {
		{ AWS_SVC_AUTOSCALING, "autoscaling", "AUTO_SCALING", "auto_scaling", "autoscaling",
		  "autoscaling", "2011-01-01" },
		{ AWS_SVC_ELB, "elb", "ELASTIC_LOAD_BALANCING", "elastic_load_balancing",
		  "elasticloadbalancing", "elasticloadbalancing", "2012-06-01" },
		{ AWS_SVC_ELBV2, "elbv2", "ELASTIC_LOAD_BALANCING_V2", "elastic_load_balancing_v2",
		  "elasticloadbalancing", "elasticloadbalancing", "2015-12-01" },
		{ AWS_SVC_EC2, "ec2", "EC2", "ec2", "ec2", "ec2", "2016-11-15" },
		{ AWS_SVC_STS, "sts", "STS", "sts", "sts", "sts", "2011-06-15" },
		{ AWS_SVC_CLOUDWATCH, "cloudwatch", "CLOUDWATCH", "cloudwatch", "monitoring",
		  "monitoring", "2010-08-01" },
		{ AWS_SVC_ECR, "ecr", "ECR", "ecr", "api.ecr", "ecr", "2015-09-21" },
		{ AWS_SVC_SSM, "ssm", "SSM", "ssm", "ssm", "ssm", "2014-11-06" },
		{ AWS_SVC_SECRETSMANAGER, "secretsmanager", "SECRETS_MANAGER", "secrets_manager",
		  "secretsmanager", "secretsmanager", "2017-10-17" },
		{ AWS_SVC_DYNAMODB, "dynamodb", "DYNAMODB", "dynamodb", "dynamodb", "dynamodb",
		  "2012-08-10" },
		{ AWS_SVC_EVENTS, "events", "EVENTBRIDGE", "eventbridge", "events", "events",
		  "2015-10-07" },
	};

	(void)state;
	/* botocore: env names and services keys from ConfiguredEndpointProvider; versions,
	 * signing names and hosts from create_client(...).meta */
	assert_int_equal(ELEMENTSOF(want), _AWS_SVC_MAX);
	for (size_t i = 0; i < ELEMENTSOF(want); i++) {
		const struct aws_service_info *info = aws_service_info(want[i].s);

		assert_non_null(info);
		assert_string_equal(info->name, want[i].name);
		assert_string_equal(info->endpoint_env, want[i].env);
		assert_string_equal(info->services_key, want[i].key);
		assert_string_equal(info->host_prefix, want[i].host);
		assert_string_equal(info->signing_name, want[i].signing);
		assert_string_equal(info->api_version, want[i].version);
	}
	assert_null(aws_service_info(_AWS_SVC_MAX));
	assert_null(aws_service_info((enum aws_service) - 1));
}

static void test_defaults(void **state)
{
	_cleanup_(aws_config_freep) struct aws_config *c = load_ok(NULL);
	char *url = NULL;

	(void)state;
	assert_string_equal(c->profile, "default");
	assert_false(c->profile_explicit);
	assert_null(c->region);
	assert_null(c->endpoint_url);
	assert_int_equal(c->max_attempts, 3);
	assert_null(c->ca_bundle);
	assert_false(c->ignore_configured_endpoints);
	assert_null(c->config_file);
	assert_null(c->credentials_file);
	assert_null(c->profile_section);
	assert_string_equal(c->config_path, config_path);
	assert_null(aws_config_profile_get(c, "region"));
	/* no region: the caller asks IMDS first */
	assert_int_equal(aws_config_endpoint(c, AWS_SVC_EC2, NULL, &url), -EINVAL);
	assert_null(url);
	ASSERT_ENDPOINT(c, AWS_SVC_AUTOSCALING, "us-east-1",
	                "https://autoscaling.us-east-1.amazonaws.com");
	assert_int_equal(aws_config_endpoint(c, _AWS_SVC_MAX, "us-east-1", &url), -EINVAL);
	assert_int_equal(aws_config_endpoint(c, AWS_SVC_EC2, "us east", &url), -EINVAL);
	assert_null(url);
	assert_null(aws_config_free(NULL));
	assert_null(aws_config_profile_get(NULL, "region"));
}

static void test_default_endpoints(void **state)
{
	_cleanup_(aws_config_freep) struct aws_config *c = load_ok(NULL);

	(void)state;
	/* botocore: create_client(...).meta.endpoint_url for each service and partition */
	ASSERT_ENDPOINT(c, AWS_SVC_ELB, "eu-west-1",
	                "https://elasticloadbalancing.eu-west-1.amazonaws.com");
	ASSERT_ENDPOINT(c, AWS_SVC_ELBV2, "eu-west-1",
	                "https://elasticloadbalancing.eu-west-1.amazonaws.com");
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, "us-gov-west-1", "https://ec2.us-gov-west-1.amazonaws.com");
	ASSERT_ENDPOINT(c, AWS_SVC_STS, "ap-south-1", "https://sts.ap-south-1.amazonaws.com");
	ASSERT_ENDPOINT(c, AWS_SVC_CLOUDWATCH, "cn-north-1",
	                "https://monitoring.cn-north-1.amazonaws.com.cn");
	ASSERT_ENDPOINT(c, AWS_SVC_ECR, "cn-northwest-1",
	                "https://api.ecr.cn-northwest-1.amazonaws.com.cn");
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, "us-iso-east-1", "https://ec2.us-iso-east-1.c2s.ic.gov");
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, "us-isob-east-1",
	                "https://ec2.us-isob-east-1.sc2s.sgov.gov");
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, "eu-isoe-west-1",
	                "https://ec2.eu-isoe-west-1.cloud.adc-e.uk");
	/* endpoints.json regionRegex: "cn-" alone does not make a China region */
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, "cn-local", "https://ec2.cn-local.amazonaws.com");
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, "moto", "https://ec2.moto.amazonaws.com");
}

static void test_file_paths(void **state)
{
	_cleanup_free_ char *aws = path_in_dir(".aws");
	_cleanup_free_ char *home_config = path_in_dir(".aws/config");
	_cleanup_free_ char *other = path_in_dir("other");
	struct aws_config *c;

	(void)state;
	assert_int_equal(mkdir(aws, 0700), 0);
	write_file(home_config, "[default]\nregion = from-home\n");
	write_file(other, "[default]\nregion = from-other\n");

	/* default ~/.aws/config through $HOME, even with a trailing slash */
	unsetenv("AWS_CONFIG_FILE");
	c = load_ok(NULL);
	assert_string_equal(c->region, "from-home");
	assert_string_equal(c->config_path, home_config);
	c = aws_config_free(c);
	{
		_cleanup_free_ char *slash = NULL;

		assert_true(asprintf(&slash, "%s/", dir) > 0);
		setenv("HOME", slash, 1);
		c = load_ok(NULL);
		assert_string_equal(c->config_path, home_config);
		c = aws_config_free(c);
		setenv("HOME", dir, 1);
	}

	/* botocore: raw_config_parse runs expandvars, then expanduser */
	setenv("TEST_CONFIG_DIR", dir, 1);
	setenv("AWS_CONFIG_FILE", "$TEST_CONFIG_DIR/other", 1);
	c = load_ok(NULL);
	assert_string_equal(c->region, "from-other");
	c = aws_config_free(c);
	setenv("AWS_CONFIG_FILE", "${TEST_CONFIG_DIR}/other", 1);
	c = load_ok(NULL);
	assert_string_equal(c->region, "from-other");
	c = aws_config_free(c);
	setenv("AWS_CONFIG_FILE", "~/other", 1);
	c = load_ok(NULL);
	assert_string_equal(c->region, "from-other");
	c = aws_config_free(c);
	/* an unset variable stays as written, so there is no such file */
	setenv("AWS_CONFIG_FILE", "$TEST_UNSET_VARIABLE_X/other", 1);
	c = load_ok(NULL);
	assert_null(c->config_file);
	assert_string_equal(c->config_path, "$TEST_UNSET_VARIABLE_X/other");
	c = aws_config_free(c);
	/* set but empty: no file, not the default one */
	setenv("AWS_CONFIG_FILE", "", 1);
	c = load_ok(NULL);
	assert_null(c->config_file);
	assert_null(c->config_path);
	assert_null(c->region);
	c = aws_config_free(c);
	/* a directory is no file either (os.path.isfile) */
	setenv("AWS_CONFIG_FILE", dir, 1);
	c = load_ok(NULL);
	assert_null(c->config_file);
	aws_config_free(c);
}

static void test_profile_choice(void **state)
{
	struct aws_config_options o = { .profile = "opt" };
	struct aws_config *c;

	(void)state;
	write_config("[profile opt]\nregion = r-opt\n"
	             "[profile legacy]\nregion = r-legacy\n"
	             "[profile env]\nregion = r-env\n"
	             "[default]\nregion = r-default\n");

	c = load_ok(NULL);
	assert_string_equal(c->profile, "default");
	assert_false(c->profile_explicit);
	assert_string_equal(c->profile_section, "default");
	assert_string_equal(c->region, "r-default");
	c = aws_config_free(c);

	setenv("AWS_PROFILE", "env", 1);
	c = load_ok(NULL);
	assert_string_equal(c->profile, "env");
	assert_true(c->profile_explicit);
	assert_string_equal(c->region, "r-env");
	c = aws_config_free(c);

	/* botocore: 'profile' reads AWS_DEFAULT_PROFILE before AWS_PROFILE */
	setenv("AWS_DEFAULT_PROFILE", "legacy", 1);
	c = load_ok(NULL);
	assert_string_equal(c->profile, "legacy");
	c = aws_config_free(c);

	c = load_ok(&o);
	assert_string_equal(c->profile, "opt");
	assert_string_equal(c->profile_section, "profile opt");
	assert_string_equal(c->region, "r-opt");
	c = aws_config_free(c);

	/* botocore: a named profile must exist (ProfileNotFound), even one named by the
	 * environment, even when empty; the implicit default need not */
	o.profile = "nope";
	load_fails(&o, -EINVAL, "'nope'");
	unsetenv("AWS_DEFAULT_PROFILE");
	setenv("AWS_PROFILE", "", 1);
	load_fails(NULL, -EINVAL, "profile ''");
	unsetenv("AWS_PROFILE");
	write_config("[profile other]\n");
	c = load_ok(NULL);
	assert_null(c->profile_section);
	assert_null(c->region);
	c = aws_config_free(c);
	o.profile = "default";
	load_fails(&o, -EINVAL, "'default'");
}

static void test_profile_sections(void **state)
{
	struct aws_config_options o = { 0 };
	struct aws_config *c;

	(void)state;
	/* botocore: build_profile_map on these names (shlex.split; the first word only has
	 * to start with "profile"; three words or a broken quote are no profile) */
	write_config("[profile a]\nk = plain\n"
	             "[profile  \"b c\"]\nk = quoted\n"
	             "[profiles d]\nk = prefix-only\n"
	             "[profile e f]\nk = three-words\n"
	             "[profile \"g]\nk = unbalanced\n"
	             "[profile h\\ i]\nk = escaped\n"
	             "[profile \"j\\\"k\"]\nk = escaped-quote\n"
	             "[profile 'l\\m']\nk = single\n"
	             "[profile n\"o\"p]\nk = joined\n"
	             "[plain]\nk = not-a-profile\n"
	             "[sso-session s]\nk = session\n"
	             "[services plain]\nk = services\n");
	static const struct {
		const char *profile, *k;
	} want[] = {
		{ "a", "plain" },     { "b c", "quoted" },         { "d", "prefix-only" },
		{ "h i", "escaped" }, { "j\"k", "escaped-quote" }, { "l\\m", "single" },
		{ "nop", "joined" },
	};
	for (size_t i = 0; i < ELEMENTSOF(want); i++) {
		o.profile = want[i].profile;
		c = load_ok(&o);
		assert_string_equal(aws_config_profile_get(c, "k"), want[i].k);
		c = aws_config_free(c);
	}
	static const char *const missing[] = { "e", "e f", "f", "g", "\"g", "plain", "s", "" };
	for (size_t i = 0; i < ELEMENTSOF(missing); i++) {
		o.profile = missing[i];
		load_fails(&o, -EINVAL, "could not be found");
	}
}

static void test_profile_default_and_creds(void **state)
{
	struct aws_config_options o = { 0 };
	struct aws_config *c;

	(void)state;
	/* botocore: [default] and [profile default] both name default; the later wins whole
	 * (no merging of their keys) */
	write_config("[default]\nregion = first\nonly_first = 1\n"
	             "[profile default]\nregion = second\n");
	c = load_ok(NULL);
	assert_string_equal(c->profile_section, "profile default");
	assert_string_equal(c->region, "second");
	assert_null(aws_config_profile_get(c, "only_first"));
	c = aws_config_free(c);
	write_config("[profile default]\nregion = second\n[default]\nregion = first\n");
	c = load_ok(NULL);
	assert_string_equal(c->region, "first");
	c = aws_config_free(c);

	/* botocore: the credentials file's keys update the config file's profile, and any of
	 * its sections is a profile (with no "profile " prefix) */
	write_config("[profile dev]\nregion = from-config\nmax_attempts = 5\n"
	             "[profile cfgonly]\nregion = c\n");
	write_creds("[dev]\nregion = fromcreds\naws_access_key_id = AKIA\n"
	            "[creds-only]\nregion = us-west-1\n"
	            "[profile cfgonly]\nregion = weird\n");
	o.profile = "dev";
	c = load_ok(&o);
	assert_string_equal(c->region, "fromcreds");
	assert_int_equal(c->max_attempts, 5);
	assert_string_equal(aws_config_profile_get(c, "aws_access_key_id"), "AKIA");
	assert_string_equal(aws_config_get(c, "cfgonly", "region"), "c");
	assert_string_equal(aws_config_get(c, "profile cfgonly", "region"), "weird");
	assert_true(aws_config_has_profile(c, "creds-only"));
	assert_true(aws_config_has_profile(c, "cfgonly"));
	assert_false(aws_config_has_profile(c, "nope"));
	assert_null(aws_config_get(c, "nope", "region"));
	c = aws_config_free(c);
	o.profile = "creds-only";
	c = load_ok(&o);
	assert_null(c->profile_section);
	assert_string_equal(c->region, "us-west-1");
	c = aws_config_free(c);

	/* [x] in the config file is not profile x (botocore: not in 'profiles') */
	write_config("[dev2]\nregion = x\n");
	o.profile = "dev2";
	load_fails(&o, -EINVAL, "dev2");
}

static void test_region(void **state)
{
	struct aws_config_options o = { .region = "eu-north-1" };
	struct aws_config *c;

	(void)state;
	write_config("[default]\nregion = eu-west-3\n");
	c = load_ok(NULL);
	assert_string_equal(c->region, "eu-west-3");
	c = aws_config_free(c);
	setenv("AWS_DEFAULT_REGION", "eu-west-2", 1);
	c = load_ok(NULL);
	assert_string_equal(c->region, "eu-west-2");
	c = aws_config_free(c);
	/* AWS_REGION is the SDKs' and AWS CLI v2's name; botocore itself reads only
	 * AWS_DEFAULT_REGION */
	setenv("AWS_REGION", "eu-west-1", 1);
	c = load_ok(NULL);
	assert_string_equal(c->region, "eu-west-1");
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, NULL, "https://ec2.eu-west-1.amazonaws.com");
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, "ap-east-1", "https://ec2.ap-east-1.amazonaws.com");
	c = aws_config_free(c);
	c = load_ok(&o);
	assert_string_equal(c->region, "eu-north-1");
	c = aws_config_free(c);

	/* botocore: InvalidRegionError for anything but a DNS label; '' gives
	 * "Invalid endpoint" */
	o.region = "us-east-1/../x";
	load_fails(&o, -EINVAL, "--region");
	o.region = "";
	load_fails(&o, -EINVAL, "invalid region ''");
	setenv("AWS_REGION", "us east", 1);
	load_fails(NULL, -EINVAL, "AWS_REGION");
	unsetenv("AWS_REGION");
	setenv("AWS_DEFAULT_REGION", "", 1);
	load_fails(NULL, -EINVAL, "AWS_DEFAULT_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	write_config("[default]\nregion = -bad\n");
	load_fails(NULL, -EINVAL, "profile's region");
	/* a region of the config file that is a sub-section is no region at all */
	write_config("[default]\nregion =\n  x = y\n");
	c = load_ok(NULL);
	assert_null(c->region);
	aws_config_free(c);
}

static void test_region_valid(void **state)
{
	(void)state;
	assert_true(aws_region_is_valid("us-east-1"));
	assert_true(aws_region_is_valid("a"));
	assert_true(aws_region_is_valid("LOCAL1"));
	assert_false(aws_region_is_valid(NULL));
	assert_false(aws_region_is_valid(""));
	assert_false(aws_region_is_valid("-a"));
	assert_false(aws_region_is_valid("a-"));
	assert_false(aws_region_is_valid("a.b"));
	assert_false(aws_region_is_valid("a_b"));
	assert_false(aws_region_is_valid("a@b"));
	/* botocore: a host label that is not all digits */
	assert_false(aws_region_is_valid("12345"));
	assert_true(aws_region_is_valid("1a"));
	assert_true(aws_region_is_valid(
	        "a23456789012345678901234567890123456789012345678901234567890123"));
	assert_false(aws_region_is_valid(
	        "a234567890123456789012345678901234567890123456789012345678901234"));
}

static void test_max_attempts(void **state)
{
	struct aws_config *c;
	static const char *const bad[] = {
		"0", "x", "-1", "", " 3", "3 ", "+3", "1e3", "4294967296"
	};

	(void)state;
	write_config("[default]\nmax_attempts = 7\n");
	c = load_ok(NULL);
	assert_int_equal(c->max_attempts, 7);
	c = aws_config_free(c);
	setenv("AWS_MAX_ATTEMPTS", "10", 1);
	c = load_ok(NULL);
	assert_int_equal(c->max_attempts, 10);
	c = aws_config_free(c);
	setenv("AWS_MAX_ATTEMPTS", "1", 1);
	c = load_ok(NULL);
	assert_int_equal(c->max_attempts, 1);
	c = aws_config_free(c);
	/* stricter than botocore's int(), which takes " 3" and "+3" */
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		setenv("AWS_MAX_ATTEMPTS", bad[i], 1);
		load_fails(NULL, -EINVAL, "AWS_MAX_ATTEMPTS");
	}
	unsetenv("AWS_MAX_ATTEMPTS");
	write_config("[default]\nmax_attempts = 0\n");
	load_fails(NULL, -EINVAL, "max_attempts of the profile");
	write_config("[default]\nmax_attempts = three\n");
	load_fails(NULL, -EINVAL, "'three'");
}

static void test_retry_mode(void **state)
{
	struct aws_config *c;
	static const char *const bad[] = { "", "Adaptive", "adaptive ", "fast", "standard\n" };

	(void)state;
	write_config("[default]\nregion = us-east-1\n");
	c = load_ok(NULL);
	assert_int_equal(c->retry_mode, AWS_RETRY_STANDARD);
	assert_false(c->retry_mode_set);
	assert_false(c->max_attempts_set);
	c = aws_config_free(c);
	write_config("[default]\nretry_mode = adaptive\nmax_attempts = 3\n");
	c = load_ok(NULL);
	assert_int_equal(c->retry_mode, AWS_RETRY_ADAPTIVE);
	assert_true(c->retry_mode_set);
	assert_true(c->max_attempts_set);
	c = aws_config_free(c);
	/* the environment first, as botocore reads it */
	setenv("AWS_RETRY_MODE", "standard", 1);
	c = load_ok(NULL);
	assert_int_equal(c->retry_mode, AWS_RETRY_STANDARD);
	assert_true(c->retry_mode_set);
	c = aws_config_free(c);
	setenv("AWS_RETRY_MODE", "legacy", 1);
	c = load_ok(NULL);
	assert_int_equal(c->retry_mode, AWS_RETRY_STANDARD);
	c = aws_config_free(c);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		setenv("AWS_RETRY_MODE", bad[i], 1);
		load_fails(NULL, -EINVAL,
		           "invalid AWS_RETRY_MODE: need standard, adaptive or legacy");
	}
	unsetenv("AWS_RETRY_MODE");
	write_config("[default]\nretry_mode = quick\n");
	load_fails(NULL, -EINVAL, "retry_mode of the profile");
}

static void test_ca_bundle_and_ignore(void **state)
{
	struct aws_config *c;

	(void)state;
	write_config("[default]\nca_bundle = /etc/profile-ca.pem\n"
	             "ignore_configured_endpoint_urls = True\n");
	c = load_ok(NULL);
	assert_string_equal(c->ca_bundle, "/etc/profile-ca.pem");
	/* botocore: ensure_boolean is val.lower() == 'true' */
	assert_true(c->ignore_configured_endpoints);
	c = aws_config_free(c);
	setenv("AWS_CA_BUNDLE", "/etc/env-ca.pem", 1);
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false", 1);
	c = load_ok(NULL);
	assert_string_equal(c->ca_bundle, "/etc/env-ca.pem");
	/* the environment wins even when it says false */
	assert_false(c->ignore_configured_endpoints);
	c = aws_config_free(c);
	setenv("AWS_CA_BUNDLE", "", 1);
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE", 1);
	c = load_ok(NULL);
	assert_null(c->ca_bundle);
	assert_true(c->ignore_configured_endpoints);
	c = aws_config_free(c);
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "yes", 1);
	c = load_ok(NULL);
	assert_false(c->ignore_configured_endpoints);
	aws_config_free(c);
}

/* botocore: this ladder was replayed with create_client('ec2'/'autoscaling') on the same
 * file: service env, global env, services section, profile endpoint_url. */
static void test_endpoint_order(void **state)
{
	struct aws_config_options o = { 0 };
	struct aws_config *c;

	(void)state;
	write_config("[default]\n"
	             "region = us-west-2\n"
	             "endpoint_url = http://profile-global:1\n"
	             "services = svc\n"
	             "[services svc]\n"
	             "ec2 =\n"
	             "  endpoint_url = http://svc-ec2:2\n"
	             "auto_scaling =\n"
	             "  Endpoint_URL = http://case:3\n"
	             "sts = http://not-nested:4\n");

	c = load_ok(NULL);
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, NULL, "http://svc-ec2:2");
	/* sub-keys are case-sensitive, and a plain value is no sub-section */
	ASSERT_ENDPOINT(c, AWS_SVC_AUTOSCALING, NULL, "http://profile-global:1");
	ASSERT_ENDPOINT(c, AWS_SVC_STS, NULL, "http://profile-global:1");
	ASSERT_ENDPOINT(c, AWS_SVC_ECR, "eu-west-1", "http://profile-global:1");
	c = aws_config_free(c);

	setenv("AWS_ENDPOINT_URL", "http://env-global:4", 1);
	c = load_ok(NULL);
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, NULL, "http://env-global:4");
	c = aws_config_free(c);

	setenv("AWS_ENDPOINT_URL_EC2", "http://env-ec2:5", 1);
	c = load_ok(NULL);
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, NULL, "http://env-ec2:5");
	ASSERT_ENDPOINT(c, AWS_SVC_STS, NULL, "http://env-global:4");
	c = aws_config_free(c);

	o.endpoint_url = "http://option:6";
	c = load_ok(&o);
	assert_string_equal(c->endpoint_url, "http://option:6");
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, NULL, "http://option:6");
	ASSERT_ENDPOINT(c, AWS_SVC_ELBV2, NULL, "http://option:6");
	c = aws_config_free(c);

	/* empty variables count as unset (botocore: `if endpoint_url:`) */
	setenv("AWS_ENDPOINT_URL_EC2", "", 1);
	setenv("AWS_ENDPOINT_URL", "", 1);
	c = load_ok(NULL);
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, NULL, "http://svc-ec2:2");
	c = aws_config_free(c);

	/* ignoring configured endpoints skips environment and file, never --endpoint-url */
	setenv("AWS_ENDPOINT_URL_EC2", "http://env-ec2:5", 1);
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
	c = load_ok(NULL);
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, NULL, "https://ec2.us-west-2.amazonaws.com");
	ASSERT_ENDPOINT(c, AWS_SVC_STS, NULL, "https://sts.us-west-2.amazonaws.com");
	c = aws_config_free(c);
	c = load_ok(&o);
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, NULL, "http://option:6");
	aws_config_free(c);
}

static void test_endpoint_services_missing(void **state)
{
	struct aws_config_options o = { .profile = "nosvc" };
	struct aws_config *c;

	(void)state;
	write_config("[profile nosvc]\nservices = missing\nregion = eu-west-1\n"
	             "[profile emptysvc]\nservices = empty\n[services empty]\n"
	             "[profile quoted]\nservices = q r\n[services \"q r\"]\nec2 =\n"
	             "  endpoint_url = http://quoted:1\n");
	/* botocore: InvalidConfigError for a missing or empty services section, but only
	 * when no environment variable answers first */
	load_fails(&o, -EINVAL, "'missing'");
	o.profile = "emptysvc";
	load_fails(&o, -EINVAL, "'empty'");
	setenv("AWS_ENDPOINT_URL", "http://env-global:4", 1);
	c = load_ok(&o);
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, "eu-west-1", "http://env-global:4");
	c = aws_config_free(c);
	unsetenv("AWS_ENDPOINT_URL");
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
	c = load_ok(&o);
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, "eu-west-1", "https://ec2.eu-west-1.amazonaws.com");
	c = aws_config_free(c);
	unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");

	o.profile = "quoted";
	c = load_ok(&o);
	ASSERT_ENDPOINT(c, AWS_SVC_EC2, "eu-west-1", "http://quoted:1");
	ASSERT_ENDPOINT(c, AWS_SVC_STS, "eu-west-1", "https://sts.eu-west-1.amazonaws.com");
	aws_config_free(c);
}

static void test_endpoint_invalid(void **state)
{
	struct aws_config_options o = { .endpoint_url = "localhost:4566" };

	(void)state;
	/* botocore: "Invalid endpoint" for a URL without a scheme; we also refuse what it
	 * lets through (ftp://, user@host) */
	load_fails(&o, -EINVAL, "--endpoint-url 'localhost:4566'");
	o.endpoint_url = NULL;
	setenv("AWS_ENDPOINT_URL_ECR", "ftp://x", 1);
	load_fails(&o, -EINVAL, "AWS_ENDPOINT_URL_ECR");
	unsetenv("AWS_ENDPOINT_URL_ECR");
	setenv("AWS_ENDPOINT_URL", "http://", 1);
	load_fails(&o, -EINVAL, "AWS_ENDPOINT_URL 'http://'");
	unsetenv("AWS_ENDPOINT_URL");
	write_config("[default]\nservices = s\n[services s]\nelastic_load_balancing_v2 =\n"
	             "  endpoint_url = nope\n");
	load_fails(&o, -EINVAL, "elastic_load_balancing_v2.endpoint_url");
	write_config("[default]\nendpoint_url = http://a b\n");
	load_fails(&o, -EINVAL, "endpoint_url 'http://a b' in profile 'default'");
	/* an invalid URL that nothing uses is no error: the service variable wins */
	write_config("[default]\nendpoint_url = nope\n");
	for (enum aws_service s = 0; s < _AWS_SVC_MAX; s++) {
		_cleanup_free_ char *name = NULL;

		assert_true(asprintf(&name, "AWS_ENDPOINT_URL_%s",
		                     aws_service_info(s)->endpoint_env) > 0);
		setenv(name, "http://localhost:4566", 1);
	}
	aws_config_free(load_ok(NULL));
}

static void test_url_valid(void **state)
{
	static const char *const good[] = {
		"http://localhost",
		"https://ec2.us-east-1.amazonaws.com",
		"HTTPS://EC2.amazonaws.com/",
		"http://127.0.0.1:4566",
		"http://localhost:4566/",
		"http://localhost:65535/base/path",
		"http://[::1]:5000",
		"http://[fd00::1]",
		"http://host.",
		"http://a-b.c",
	};
	static const char *const bad[] = {
		NULL,
		"",
		"localhost",
		"localhost:4566",
		"ftp://x",
		"http://",
		"http:///path",
		"http://:80",
		"http://host:",
		"http://host:0",
		"http://host:65536",
		"http://host:1234567",
		"http://host:8x",
		"http://-host",
		"http://host-",
		"http://a..b",
		"http://a_b",
		"http://user:pw@host",
		"http://host/p?q=1",
		"http://host/#f",
		"http://host/a b",
		"http://host\n",
		"http://ho\xc3\xa9st",
		"http://[]",
		"http://[1234]",
		"http://[::1",
		"http://[::1]x",
		"http://[::1]:",
		"http://a\\b",
		"http://a234567890123456789012345678901234567890123456789012345678901234.com",
	};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(good); i++)
		if (!aws_endpoint_url_is_valid(good[i]))
			fail_msg("'%s' should be valid", good[i]);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		if (aws_endpoint_url_is_valid(bad[i]))
			fail_msg("'%s' should be invalid", bad[i]);
}

static void test_parse_errors(void **state)
{
	_cleanup_free_ char *want = NULL;

	(void)state;
	write_config("[default]\nregion = a\nregion = b\n");
	assert_true(asprintf(&want, "'%s': line 3: duplicate key", config_path) > 0);
	load_fails(NULL, -EINVAL, want);
	unlink(config_path);
	want = mfree(want);
	write_creds("aws_access_key_id = x\n");
	assert_true(asprintf(&want, "'%s': line 1", creds_path) > 0);
	load_fails(NULL, -EINVAL, want);
	/* no secret reaches the message */
	write_creds("[default]\naws_secret_access_key = s3cr3t\njunk\n");
	{
		struct aws_config *c = NULL;
		_cleanup_free_ char *why = NULL;

		assert_int_equal(aws_config_load(NULL, &c, &why), -EINVAL);
		assert_non_null(why);
		assert_null(strstr(why, "s3cr3t"));
		assert_null(strstr(why, "junk"));
	}
	/* a file that exists but cannot be read is skipped, as botocore's RawConfigParser
	 * .read skips it (tests/integration/test_hostile_creds_files.py compares
	 * with botocore as root without the DAC capabilities); root reads anything, so only
	 * check as a user */
	if (geteuid() != 0) {
		struct aws_config *c = NULL;

		write_creds("[default]\naws_access_key_id = AKIA\n");
		assert_int_equal(chmod(creds_path, 0), 0);
		assert_int_equal(aws_config_load(NULL, &c, NULL), 0);
		assert_null(aws_config_profile_get(c, "aws_access_key_id"));
		c = aws_config_free(c);
	}
}

/* One file's view of a profile (for static keys) against the merged view (for the rest). */
static void test_file_views(void **state)
{
	struct aws_config *c;

	(void)state;
	write_config("[profile p]\naws_access_key_id = AKIDCONF\nregion = eu-west-1\n"
	             "role_arn =\n[profile q]\nx = 1\n");
	write_creds("[p]\naws_secret_access_key = s\n[DEFAULT]\naws_session_token = t\n");
	c = load_ok(NULL);
	assert_true(aws_config_file_has(c, AWS_FILE_CONFIG, "p", "aws_access_key_id"));
	assert_false(aws_config_file_has(c, AWS_FILE_CREDENTIALS, "p", "aws_access_key_id"));
	assert_string_equal(aws_config_file_get(c, AWS_FILE_CONFIG, "p", "aws_access_key_id"),
	                    "AKIDCONF");
	assert_null(aws_config_file_get(c, AWS_FILE_CONFIG, "p", "aws_secret_access_key"));
	assert_string_equal(
	        aws_config_file_get(c, AWS_FILE_CREDENTIALS, "p", "aws_secret_access_key"), "s");
	/* [DEFAULT] of the credentials file shows through there only */
	assert_string_equal(aws_config_file_get(c, AWS_FILE_CREDENTIALS, "p", "aws_session_token"),
	                    "t");
	assert_false(aws_config_file_has(c, AWS_FILE_CONFIG, "p", "aws_session_token"));
	/* presence, not value: an empty role_arn is set */
	assert_true(aws_config_has(c, "p", "role_arn"));
	assert_string_equal(aws_config_get(c, "p", "role_arn"), "");
	assert_true(aws_config_has(c, "p", "aws_secret_access_key"));
	assert_false(aws_config_has(c, "q", "role_arn"));
	assert_false(aws_config_has(c, "nope", "x"));
	assert_false(aws_config_file_has(c, AWS_FILE_CONFIG, "nope", "x"));
	assert_string_equal(aws_config_file_path(c, AWS_FILE_CONFIG), config_path);
	assert_string_equal(aws_config_file_path(c, AWS_FILE_CREDENTIALS), creds_path);
	aws_config_free(c);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_service_info),
		T(test_defaults),
		T(test_default_endpoints),
		T(test_file_paths),
		T(test_profile_choice),
		T(test_profile_sections),
		T(test_profile_default_and_creds),
		T(test_region),
		T(test_region_valid),
		T(test_max_attempts),
		T(test_retry_mode),
		T(test_ca_bundle_and_ignore),
		T(test_endpoint_order),
		T(test_endpoint_services_missing),
		T(test_endpoint_invalid),
		T(test_url_valid),
		T(test_parse_errors),
		T(test_file_views),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
