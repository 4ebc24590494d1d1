#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "buf.h"
#include "imageref.h"
#include "strutil.h"
#include "banned.h"

/* The constant in imageref.c is the POSIX ERE of the test data, byte for byte. */
static void test_regexp_matches_testdata(void **state)
{
	const char *dir = getenv("ASGSWAP_TESTDATA");
	_cleanup_free_ char *path = NULL, *line = NULL;
	size_t cap = 0;
	bool next = false, found = false;
	FILE *f;

	(void)state;
	assert_true(asprintf(&path, "%s/docker/reference-regexp.txt", dir ? dir : "tests/data") >
	            0);
	f = fopen(path, "re");
	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		strstrip(line);
		if (next) {
			assert_string_equal(line, imageref_regexp);
			found = true;
			break;
		}
		next = startswith(line, "POSIX ERE") != NULL;
	}
	fclose(f);
	assert_true(found);
}

static void ok(const char *registry, const char *name, const char *tag, const char *want_name,
               const char *want_domain)
{
	_cleanup_imageref_ struct imageref r = { 0 };
	const char *why = NULL;

	assert_int_equal(imageref_build(registry, name, tag, &r, &why), 0);
	assert_string_equal(r.name, want_name);
	assert_string_equal(r.tag, tag);
	if (want_domain)
		assert_string_equal(r.domain, want_domain);
	else
		assert_null(r.domain);
}

static void bad(const char *registry, const char *name, const char *tag, int want)
{
	struct imageref r = { 0 };
	const char *why = NULL;

	assert_int_equal(imageref_build(registry, name, tag, &r, &why), want);
	assert_non_null(why);
	assert_null(r.name);
}

static void test_valid(void **state)
{
	(void)state;
	ok(NULL, "app", "1", "app", NULL);
	ok("", "library/nginx", "latest", "library/nginx", NULL);
	ok("127.0.0.1:5000", "app", "v1.2_3-rc.1", "127.0.0.1:5000/app", "127.0.0.1:5000");
	ok("127.0.0.1:5000/", "app", "1", "127.0.0.1:5000/app", "127.0.0.1:5000");
	ok("registry.example.com/team", "svc", "1", "registry.example.com/team/svc",
	   "registry.example.com");
	ok(NULL, "localhost:5000/a/b", "X", "localhost:5000/a/b", "localhost:5000");
	ok(NULL, "localhost/a", "1", "localhost/a", "localhost");
	ok("123456789012.dkr.ecr.us-east-1.amazonaws.com", "my-app__x.y", "_1",
	   "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app__x.y",
	   "123456789012.dkr.ecr.us-east-1.amazonaws.com");
}

static void test_hostile(void **state)
{
	char long_tag[IMAGEREF_TAG_MAX + 2], max_tag[IMAGEREF_TAG_MAX + 1];
	char long_name[IMAGEREF_NAME_MAX + 2], max_name[IMAGEREF_NAME_MAX + 1];

	(void)state;
	bad(NULL, "app;touch /tmp/x", "1", -EINVAL);
	bad(NULL, "app", "1$(reboot)", -EINVAL);
	bad(NULL, "app\nrm", "1", -EINVAL);
	bad(NULL, "app", "1\n", -EINVAL);
	bad(NULL, "App", "1", -EINVAL);
	bad(NULL, "../../etc", "1", -EINVAL);
	bad(NULL, "a//b", "1", -EINVAL);
	bad(NULL, "a/", "1", -EINVAL);
	bad(NULL, "/a", "1", -EINVAL);
	bad(NULL, "", "1", -EINVAL);
	bad(NULL, "app", "", -EINVAL);
	bad(NULL, NULL, "1", -EINVAL);
	bad(NULL, "app", "\xc3\xbcnicode", -EINVAL);
	bad(NULL, "\xc3\xa4pp", "1", -EINVAL);
	bad(NULL, "app", "1 2", -EINVAL);
	bad(NULL, "app", "-1", -EINVAL);
	bad(NULL, "app", ".1", -EINVAL);
	bad(NULL, "app", "1:2", -EINVAL);
	bad(NULL, "app:1", "2", -EINVAL);
	bad(NULL, "app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "1", -EINVAL);
	bad("bad host", "app", "1", -EINVAL);
	bad("-x.com", "app", "1", -EINVAL);

	memset(long_tag, 'v', sizeof(long_tag) - 1);
	long_tag[sizeof(long_tag) - 1] = '\0';
	bad(NULL, "app", long_tag, -ENAMETOOLONG);
	memset(max_tag, 'v', sizeof(max_tag) - 1);
	max_tag[sizeof(max_tag) - 1] = '\0';
	ok(NULL, "app", max_tag, "app", NULL);

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	bad(NULL, long_name, "1", -ENAMETOOLONG);
	memset(max_name, 'a', sizeof(max_name) - 1);
	max_name[sizeof(max_name) - 1] = '\0';
	ok(NULL, max_name, "1", max_name, NULL);
	/* The registry counts towards the name's length. */
	bad("r.io", max_name, "1", -ENAMETOOLONG);
}

static void test_tag_is_valid(void **state)
{
	(void)state;
	assert_true(imageref_tag_is_valid("1.2.3"));
	assert_true(imageref_tag_is_valid("_"));
	assert_false(imageref_tag_is_valid(""));
	assert_false(imageref_tag_is_valid("a/b"));
	assert_false(imageref_tag_is_valid("a\tb"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regexp_matches_testdata),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_tag_is_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
