#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

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
	assert_string_equal(r.tag, tag);
	assert_null(r.digest);
	if (want_name)
		assert_string_equal(r.name, want_name);
	if (want_domain) {
		assert_non_null(r.domain);
		assert_string_equal(r.domain, want_domain);
	} else
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
	/* The registry host does not count towards the limit, the path does. */
	ok("r.io", max_name, "1", NULL, "r.io");
	bad("r.io", long_name, "1", -ENAMETOOLONG);
	/* Without a registry the whole name is the path, as dockerd normalises it. */
	long_name[1] = '/';
	bad(NULL, long_name, "1", -ENAMETOOLONG);
}

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_digest(void **state)
{
	_cleanup_imageref_ struct imageref a = { 0 }, b = { 0 };

	(void)state;
	assert_int_equal(imageref_build("127.0.0.1:5000", "app", "sha256:" HEX64, &a, NULL), 0);
	assert_string_equal(a.name, "127.0.0.1:5000/app");
	assert_null(a.tag);
	assert_string_equal(a.digest, "sha256:" HEX64);
	assert_string_equal(a.ref, "127.0.0.1:5000/app@sha256:" HEX64);
	assert_int_equal(imageref_build(NULL, "app", "1.2@sha256:" HEX64, &b, NULL), 0);
	assert_string_equal(b.tag, "1.2");
	assert_string_equal(b.digest, "sha256:" HEX64);
	assert_string_equal(b.ref, "app@sha256:" HEX64);

	bad(NULL, "app", "sha256:" HEX64 "0", -EINVAL);
	bad(NULL, "app",
	    "sha256:"
	    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
	    -EINVAL);
	bad(NULL, "app", "sha512:" HEX64, -EINVAL);
	bad(NULL, "app", "1@", -EINVAL);
	bad(NULL, "app", "@sha256:" HEX64, -EINVAL);
	bad(NULL, "app", "1@sha256:" HEX64 "@sha256:" HEX64, -EINVAL);
	bad(NULL, "app", "1@1@sha256:" HEX64, -EINVAL);
	bad(NULL, "app", "sha256:", -EINVAL);
	bad(NULL, HEX64, "1", -EINVAL);
	ok("r.io", HEX64, "1", "r.io/" HEX64, "r.io");

	assert_true(imageref_version_is_valid("1.0"));
	assert_true(imageref_version_is_valid("sha256:" HEX64));
	assert_true(imageref_version_is_valid("v1@sha256:" HEX64));
	assert_false(imageref_version_is_valid("v1@sha256:" HEX64 " "));
	assert_false(imageref_version_is_valid("v1:sha256:" HEX64));
	assert_false(imageref_version_is_valid("-v1@sha256:" HEX64));
	assert_false(imageref_version_is_valid(""));
}

static void test_domain_rules(void **state)
{
	(void)state;
	/* dockerd reads an upper-case first component as a registry host. */
	ok(NULL, "Docker/docker", "1", "Docker/docker", "Docker");
	ok(NULL, "LOCALDOMAIN/library/debian", "1", "LOCALDOMAIN/library/debian", "LOCALDOMAIN");
	ok(NULL, "docker/docker", "1", "docker/docker", NULL);
	ok(NULL, "localhost/a", "1", "localhost/a", "localhost");
	ok(NULL, "localhostx/a", "1", "localhostx/a", NULL);
	bad(NULL, "docker/Docker", "1", -EINVAL);
}

/* Spellings in which a conformance case feeds imageref_build(). */
struct spelling {
	char *registry, *name, *version;
};

static char *dupn(const char *s, size_t n)
{
	char *d = strndup(s, n);

	assert_non_null(d);
	return d;
}

/* Every (registry, name, version) the agent's three values can spell the reference s as:
 * s cut at each ':' into name and version, s as a name with "latest", s cut at its '@'
 * into name and digest (the one spelling the table's mapping adds for pinned versions); each name
 * also cut at each '/' into registry and name. */
static size_t spellings(const char *s, struct spelling *out, size_t cap)
{
	size_t n = 0, len = strlen(s);
	struct {
		char *name, *version;
	} cuts[512];
	size_t nc = 0;

	for (size_t i = 0; i < len && nc < 510; i++)
		if (s[i] == ':') {
			cuts[nc].name = dupn(s, i);
			cuts[nc++].version = dupn(s + i + 1, len - i - 1);
		}
	cuts[nc].name = dupn(s, len);
	cuts[nc++].version = dupn("latest", 6);
	/* A digest is ALGORITHM:HEX, so only a cut before one is a digest-only spelling. */
	if (strchr(s, '@') && strchr(strchr(s, '@'), ':')) {
		size_t at = (size_t)(strchr(s, '@') - s);

		cuts[nc].name = dupn(s, at);
		cuts[nc++].version = dupn(s + at + 1, len - at - 1);
	}
	for (size_t c = 0; c < nc; c++) {
		const char *nm = cuts[c].name;
		size_t nl = strlen(nm);

		assert_true(n < cap);
		out[n++] = (struct spelling){ NULL, dupn(nm, nl), dupn(cuts[c].version, SIZE_MAX) };
		for (size_t j = 0; j < nl; j++) {
			/* A trailing '/' of the registry setting is a separator the agent strips.
			 */
			if (nm[j] != '/' || (j > 0 && nm[j - 1] == '/'))
				continue;
			assert_true(n < cap);
			out[n++] = (struct spelling){ dupn(nm, j), dupn(nm + j + 1, nl - j - 1),
				                      dupn(cuts[c].version, SIZE_MAX) };
		}
		free(cuts[c].name);
		free(cuts[c].version);
	}
	return n;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool jtrue(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/*
 * distribution/reference's own test table (tests/data/docker/reference_cases.json, its
 * "mapping" says how a case is fed): a spelling is accepted exactly when it cuts the
 * reference where Parse cuts it, and then the name and the registry host are dockerd's.
 * Where Parse and dockerd disagree, the case says either verdict is taken.
 */
static void test_conformance(void **state)
{
	const char *dir = getenv("ASGSWAP_TESTDATA");
	_cleanup_free_ char *path = NULL, *text = NULL;
	size_t size = 0, checked = 0, accepted = 0;
	struct spelling *sp = calloc(4096, sizeof(*sp));
	const cJSON *c;
	cJSON *doc;
	FILE *f;

	(void)state;
	assert_non_null(sp);
	assert_true(asprintf(&path, "%s/docker/reference_cases.json", dir ? dir : "tests/data") >
	            0);
	f = fopen(path, "re");
	assert_non_null(f);
	text = calloc(1, 1 << 20);
	assert_non_null(text);
	size = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	assert_true(size > 0 && size < (1 << 20) - 1);
	doc = cJSON_Parse(text);
	assert_non_null(doc);
	assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "cases")) > 250);

	cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases"))
	{
		const cJSON *e = cJSON_GetObjectItem(c, "expect");
		const cJSON *dk = cJSON_GetObjectItem(c, "dockerd");
		const char *s = jstr(c, "reference") ? jstr(c, "reference") : jstr(c, "input");
		const char *note = jstr(c, "note");
		bool either = note && strstr(note, "disagree");
		bool valid = jtrue(e, "valid") && jtrue(dk, "valid");
		_cleanup_free_ char *want_version = NULL;
		size_t n;

		assert_non_null(s);
		if (valid) {
			const char *tag = jstr(e, "tag"), *digest = jstr(e, "digest");

			if (*tag && *digest)
				assert_true(asprintf(&want_version, "%s@%s", tag, digest) > 0);
			else
				want_version = strdup(*tag ? tag : *digest ? digest : "latest");
		}
		n = spellings(s, sp, 4096);
		for (size_t i = 0; i < n; i++) {
			_cleanup_imageref_ struct imageref r = { 0 };
			const char *why = NULL;
			int got =
			        imageref_build(sp[i].registry, sp[i].name, sp[i].version, &r, &why);
			_cleanup_free_ char *full = NULL;
			bool want;

			if (sp[i].registry)
				assert_true(asprintf(&full, "%s/%s", sp[i].registry, sp[i].name) >
				            0);
			else
				full = strdup(sp[i].name);
			want = valid && streq(full, jstr(e, "name")) &&
			       streq(sp[i].version, want_version);
			if (got == 0 && !want && !either)
				fail_msg("%s: accepted registry '%s' name '%s' version '%s'",
				         jstr(c, "id"), sp[i].registry ? sp[i].registry : "",
				         sp[i].name, sp[i].version);
			if (got != 0 && want && !either)
				fail_msg("%s: refused registry '%s' name '%s' version '%s': %s",
				         jstr(c, "id"), sp[i].registry ? sp[i].registry : "",
				         sp[i].name, sp[i].version, why);
			if (got != 0)
				assert_non_null(why);
			if (got == 0) {
				const char *dd = jstr(e, "docker_domain");

				accepted++;
				assert_string_equal(r.name, jstr(e, "name"));
				if (dd) {
					assert_non_null(r.domain);
					assert_string_equal(r.domain, dd);
				} else {
					assert_null(r.domain);
				}
			}
			checked++;
			free(sp[i].registry);
			free(sp[i].name);
			free(sp[i].version);
		}
	}
	print_message("%zu spellings checked, %zu accepted\n", checked, accepted);
	assert_true(accepted > 150);
	cJSON_Delete(doc);
	free(sp);
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
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_domain_rules),
		cmocka_unit_test(test_conformance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
