/*
 * SigV4 against the public test vectors in $ASGSWAP_TESTDATA/sigv4/ (default tests/data):
 * aws-c-auth/<case>/ (context.json, request.txt, header-*.txt) and aws4_testsuite/ (*.req
 * and .creq .sts .authz .sreq). Every case is one cmocka test; the query-*.txt files of
 * aws-c-auth are for query-string (presigned) signing, which we do not do, and are not read.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <cmocka.h>
#include <cJSON.h>

#include "buf.h"
#include "sigv4.h"
#include "strutil.h"
#include "banned.h"

/* Cases not compared, one line of reason each; { NULL } ends the list. */
static const struct skip {
	const char *suite, *name, *reason;
} skips[] = {
	/* Every case of both suites applies to header signing at the moment. */
	{ NULL, NULL, NULL },
};

/* Cases both suites hold today; fewer found means the data or the walk is broken. */
#define AWS_C_AUTH_MIN 38
#define AWS4_MIN       34

#define AKID   "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define STS_TOKEN                                                                                  \
	"AQoDYXdzEPT//////////"                                                                    \
	"wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YU" \
	"uw"                                                                                       \
	"thAx7mSEI/qkPpKPi/"                                                                       \
	"kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8" \
	"YQ"                                                                                       \
	"cHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+"                                       \
	"scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rv"                                                 \
	"x3iSIlTJabIQwj2ICCR/oLxBA=="
#define VANILLA_TOKEN "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
#define T20150830     ((time_t)1440938160) /* 2015-08-30T12:36:00Z */

/* aws4_testsuite has no context file; the session tokens come from its readme (STS) and from
 * botocore's and aws-c-auth's runners (get-vanilla-with-session-token). */
static const struct aws4_token {
	const char *name, *token;
	bool omit; /* post-sts-header-after: sent, not signed */
} aws4_tokens[] = {
	{ "get-vanilla-with-session-token", VANILLA_TOKEN, false },
	{ "post-sts-header-before", STS_TOKEN, false },
	{ "post-sts-header-after", STS_TOKEN, true },
};

enum suite { SUITE_AWS_C_AUTH, SUITE_AWS4 };
static const char *const suite_names[] = { "aws-c-auth", "aws4_testsuite" };

struct sv_case {
	enum suite suite;
	char *name;   /* e.g. get-vanilla */
	char *prefix; /* aws-c-auth: the case directory + '/'; aws4: the path without ".req" */
	char *title;  /* suite/name, the cmocka test name */
};

static size_t n_found[2], n_skipped[2], n_compared[2];

struct http_text {
	char *method, *path, *query;
	char **headers; /* "Name:value" lines; a folded line keeps its "\n  " */
	char *body;
	size_t body_len;
};

static void http_text_done(struct http_text *t)
{
	free(t->method);
	free(t->path);
	free(t->query);
	strv_free(t->headers);
	free(t->body);
	*t = (struct http_text){ 0 };
}

static const char *testdata(void)
{
	const char *d = getenv("ASGSWAP_TESTDATA");

	return d && *d ? d : "tests/data";
}

static char *path_join(const char *a, const char *b)
{
	struct buf p;

	buf_init(&p, 0);
	if (buf_printf(&p, "%s%s", a, b) < 0) {
		buf_free(&p);
		return NULL;
	}
	return buf_steal(&p);
}

/* Whole file, NUL-terminated; NULL when missing. */
static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	struct buf b;
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	buf_init(&b, 1 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(buf_append(&b, chunk, n), 0);
	assert_false(ferror(f));
	fclose(f);
	if (ret_len)
		*ret_len = b.len;
	return buf_steal(&b);
}

static char *slurp_case(const struct sv_case *c, const char *suffix)
{
	_cleanup_free_ char *p = path_join(c->prefix, suffix);
	char *s;

	assert_non_null(p);
	s = slurp(p, NULL);
	if (!s)
		fail_msg("%s: cannot read '%s'", c->title, p);
	return s;
}

static char *strndup_checked(const char *s, size_t n)
{
	char *d = strndup(s, n);

	assert_non_null(d);
	return d;
}

/* Request line, header lines (a line starting with a blank continues the one before), a blank
 * line, the body. The request target may hold spaces (get-space), so the version is cut at the
 * last space. */
static void parse_http(const char *text, size_t len, struct http_text *ret)
{
	const char *p = text, *end = text + len;
	bool first = true;

	*ret = (struct http_text){ 0 };
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *next = nl ? nl + 1 : end;

		if (n && p[n - 1] == '\r')
			n--;
		if (first) {
			const char *sp1 = memchr(p, ' ', n), *sp2 = p + n, *q;

			while (sp2 > p && sp2[-1] != ' ')
				sp2--;
			assert_non_null(sp1);
			assert_true(sp2 - 1 > sp1);
			ret->method = strndup_checked(p, (size_t)(sp1 - p));
			q = memchr(sp1 + 1, '?', (size_t)(sp2 - 1 - (sp1 + 1)));
			ret->path =
			        strndup_checked(sp1 + 1, (size_t)((q ? q : sp2 - 1) - (sp1 + 1)));
			if (q)
				ret->query = strndup_checked(q + 1, (size_t)(sp2 - 1 - (q + 1)));
			first = false;
		} else if (n == 0) {
			ret->body_len = (size_t)(end - next);
			ret->body = strndup_checked(next, ret->body_len);
			return;
		} else if (p[0] == ' ' || p[0] == '\t') {
			size_t last = strv_length(ret->headers);
			struct buf h;

			assert_true(last > 0);
			buf_init(&h, 0);
			assert_int_equal(
			        buf_printf(&h, "%s\n%.*s", ret->headers[last - 1], (int)n, p), 0);
			free(ret->headers[last - 1]);
			ret->headers[last - 1] = buf_steal(&h);
			assert_non_null(ret->headers[last - 1]);
		} else {
			assert_int_equal(strv_push(&ret->headers, strndup_checked(p, n)), 0);
		}
		p = next;
	}
}

static void expect_same(const struct sv_case *c, const char *what, const char *got,
                        const char *want)
{
	if (!streq(got, want))
		fail_msg("%s: %s differs\n--- got:\n%s\n--- want:\n%s", c->title, what, got, want);
}

static const char *find_header(char *const *headers, const char *name)
{
	STRV_FOREACH(h, headers) {
		const char *v = startswith_no_case(*h, name);

		if (v && *v == ':')
			return v + 1 + strspn(v + 1, " ");
	}
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "lowername:value" for each line, sorted, joined with '\n': the header set of a request.
 * Authorization is left out: it is compared on its own, and aws4_testsuite's
 * get-vanilla-with-session-token.sreq carries get-vanilla's signature (its .authz is right). */
static char *header_set(char *const *a, char *const *b)
{
	_cleanup_strv_free_ char **v = NULL;
	struct buf out;

	for (int pass = 0; pass < 2; pass++) {
		STRV_FOREACH(h, pass ? b : a) {
			const char *colon = strchr(*h, ':');
			struct buf l;

			assert_non_null(colon);
			if (startswith_no_case(*h, "Authorization:"))
				continue;
			buf_init(&l, 0);
			for (const char *s = *h; s < colon; s++) {
				char ch = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;

				assert_int_equal(buf_putc(&l, ch), 0);
			}
			assert_int_equal(buf_printf(&l, ":%s", colon + 1 + strspn(colon + 1, " ")),
			                 0);
			assert_int_equal(strv_push(&v, buf_steal(&l)), 0);
		}
	}
	qsort(v, strv_length(v), sizeof(char *), cmp_str);
	buf_init(&out, 0);
	STRV_FOREACH(h, v)
		assert_int_equal(buf_printf(&out, "%s\n", *h), 0);
	return buf_steal(&out);
}

struct context {
	struct sigv4_credentials creds;
	bool normalize, sign_body, omit_token;
	const char *region, *service;
	time_t now;
};

static time_t parse_timestamp(const char *s)
{
	struct tm tm = { 0 };
	char z = 0;

	assert_int_equal(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon,
	                        &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z),
	                 7);
	assert_int_equal(z, 'Z');
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static const char *json_string(const cJSON *o, const char *key, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v && !required)
		return NULL;
	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static bool json_bool(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v)
		return false;
	assert_true(cJSON_IsBool(v));
	return cJSON_IsTrue(v);
}

/* Reads context.json; a key we do not know fails the case rather than being ignored. */
static void parse_context(const struct sv_case *c, const cJSON *j, struct context *ret)
{
	static const char *const known[] = { "credentials", "expiration_in_seconds",
		                             "normalize",   "region",
		                             "service",     "sign_body",
		                             "timestamp",   "omit_session_token" };
	const cJSON *creds = cJSON_GetObjectItemCaseSensitive(j, "credentials"), *it;

	cJSON_ArrayForEach(it, j)
	{
		bool ok = false;

		for (size_t i = 0; i < ELEMENTSOF(known); i++)
			ok = ok || streq(it->string, known[i]);
		if (!ok)
			fail_msg("%s: context.json has unknown key '%s'", c->title, it->string);
	}
	assert_true(cJSON_IsObject(creds));
	*ret = (struct context){
		.creds = { .access_key_id = json_string(creds, "access_key_id", true),
		           .secret_access_key = json_string(creds, "secret_access_key", true),
		           .session_token = json_string(creds, "token", false) },
		.normalize = json_bool(j, "normalize"),
		.sign_body = json_bool(j, "sign_body"),
		.omit_token = json_bool(j, "omit_session_token"),
		.region = json_string(j, "region", true),
		.service = json_string(j, "service", true),
		.now = parse_timestamp(json_string(j, "timestamp", true)),
	};
}

static void test_case(void **state)
{
	const struct sv_case *c = *state;
	_cleanup_free_ char *req_text = NULL, *sreq_text = NULL, *creq = NULL, *sts = NULL,
	                    *want_authz = NULL, *want_sig = NULL, *json = NULL, *got_set = NULL,
	                    *want_set = NULL;
	struct http_text req, sreq;
	struct sigv4_result res = { 0 };
	struct sigv4_request r;
	struct context ctx = {
		.creds = { .access_key_id = AKID, .secret_access_key = SECRET },
		.normalize = true,
		.region = "us-east-1",
		.service = "service",
		.now = T20150830,
	};
	cJSON *j = NULL;
	const char *authz;
	size_t len = 0;

	if (c->suite == SUITE_AWS_C_AUTH) {
		_cleanup_free_ char *p = path_join(c->prefix, "request.txt");

		json = slurp_case(c, "context.json");
		j = cJSON_Parse(json);
		assert_non_null(j);
		parse_context(c, j, &ctx);
		req_text = slurp(p, &len);
		assert_non_null(req_text);
		creq = slurp_case(c, "header-canonical-request.txt");
		sts = slurp_case(c, "header-string-to-sign.txt");
		want_sig = slurp_case(c, "header-signature.txt");
		sreq_text = slurp_case(c, "header-signed-request.txt");
	} else {
		_cleanup_free_ char *p = path_join(c->prefix, ".req");

		for (size_t i = 0; i < ELEMENTSOF(aws4_tokens); i++)
			if (streq(c->name, aws4_tokens[i].name)) {
				ctx.creds.session_token = aws4_tokens[i].token;
				ctx.omit_token = aws4_tokens[i].omit;
			}
		req_text = slurp(p, &len);
		assert_non_null(req_text);
		creq = slurp_case(c, ".creq");
		sts = slurp_case(c, ".sts");
		want_authz = slurp_case(c, ".authz");
		sreq_text = slurp_case(c, ".sreq");
	}

	parse_http(req_text, len, &req);
	parse_http(sreq_text, strlen(sreq_text), &sreq);
	if (!want_authz) {
		/* aws-c-auth has the header only in the signed request */
		want_authz = strdup_or_null(find_header(sreq.headers, "Authorization"));
		assert_non_null(want_authz);
	}
	r = (struct sigv4_request){
		.method = req.method,
		.path = req.path,
		.query = req.query,
		.headers = req.headers,
		.body = req.body,
		.body_len = req.body_len,
		.region = ctx.region,
		.service = ctx.service,
		.now = ctx.now,
		.normalize_path = ctx.normalize,
		.sign_body = ctx.sign_body,
		.omit_session_token = ctx.omit_token,
	};
	n_compared[c->suite]++;
	assert_int_equal(sigv4_sign(&r, &ctx.creds, &res), 0);

	expect_same(c, "canonical request", res.canonical_request, creq);
	expect_same(c, "string to sign", res.string_to_sign, sts);
	if (want_sig)
		expect_same(c, "signature", res.signature, want_sig);
	authz = find_header(res.add_headers, "Authorization");
	assert_non_null(authz);
	expect_same(c, "authorization", authz, want_authz);
	assert_non_null(
	        startswith(res.add_headers[strv_length(res.add_headers) - 1], "Authorization: "));

	/* What we send (the request plus add_headers) is the header set of the signed request. */
	got_set = header_set(req.headers, res.add_headers);
	want_set = header_set(sreq.headers, NULL);
	expect_same(c, "signed request headers", got_set, want_set);

	sigv4_result_done(&res);
	http_text_done(&req);
	http_text_done(&sreq);
	cJSON_Delete(j);
}

static const struct skip *find_skip(enum suite s, const char *name)
{
	for (const struct skip *k = skips; k->suite; k++)
		if (streq(k->suite, suite_names[s]) && streq(k->name, name))
			return k;
	return NULL;
}

static int case_cmp(const void *a, const void *b)
{
	const struct sv_case *x = a, *y = b;

	return x->suite != y->suite ? (int)x->suite - (int)y->suite : strcmp(x->name, y->name);
}

static void add_case(struct sv_case **cases, size_t *n, enum suite s, const char *name,
                     const char *prefix)
{
	struct sv_case *c;
	struct buf t;

	n_found[s]++;
	if (find_skip(s, name)) {
		n_skipped[s]++;
		return;
	}
	c = realloc(*cases, (*n + 1) * sizeof(**cases));
	assert_non_null(c);
	*cases = c;
	buf_init(&t, 0);
	assert_int_equal(buf_printf(&t, "%s/%s", suite_names[s], name), 0);
	c[*n] = (struct sv_case){
		.suite = s, .name = strdup(name), .prefix = strdup(prefix), .title = buf_steal(&t)
	};
	assert_non_null(c[*n].name);
	assert_non_null(c[*n].prefix);
	(*n)++;
}

static void walk_aws_c_auth(const char *dir, struct sv_case **cases, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		_cleanup_free_ char *prefix = NULL, *ctx = NULL;
		struct stat st;
		struct buf p;

		if (e->d_name[0] == '.')
			continue;
		buf_init(&p, 0);
		assert_int_equal(buf_printf(&p, "%s/%s/", dir, e->d_name), 0);
		prefix = buf_steal(&p);
		ctx = path_join(prefix, "context.json");
		if (stat(ctx, &st) == 0 && S_ISREG(st.st_mode))
			add_case(cases, n, SUITE_AWS_C_AUTH, e->d_name, prefix);
	}
	closedir(d);
}

/* Cases sit one or two directories down (normalize-path/get-slash/get-slash.req). */
static void walk_aws4(const char *dir, struct sv_case **cases, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		_cleanup_free_ char *path = NULL;
		size_t len = strlen(e->d_name);
		struct stat st;
		struct buf p;

		if (e->d_name[0] == '.')
			continue;
		buf_init(&p, 0);
		assert_int_equal(buf_printf(&p, "%s/%s", dir, e->d_name), 0);
		path = buf_steal(&p);
		if (stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			walk_aws4(path, cases, n);
		} else if (len > 4 && streq(e->d_name + len - 4, ".req")) {
			_cleanup_free_ char *name = strndup_checked(e->d_name, len - 4);

			path[strlen(path) - 4] = '\0';
			add_case(cases, n, SUITE_AWS4, name, path);
		}
	}
	closedir(d);
}

/* Runs after every case: each one found and not skipped reached the comparison. */
static void test_all_cases_compared(void **state)
{
	(void)state;
	for (int s = 0; s < 2; s++)
		print_message("# %s: %zu found, %zu skipped, %zu compared\n", suite_names[s],
		              n_found[s], n_skipped[s], n_compared[s]);
	assert_true(n_found[SUITE_AWS_C_AUTH] >= AWS_C_AUTH_MIN);
	assert_true(n_found[SUITE_AWS4] >= AWS4_MIN);
	for (int s = 0; s < 2; s++)
		assert_int_equal(n_compared[s], n_found[s] - n_skipped[s]);
}

static const char *const vanilla_headers[] = { "Host: example.amazonaws.com", NULL };

static struct sigv4_request vanilla(void)
{
	return (struct sigv4_request){
		.method = "GET",
		.path = "/",
		.headers = (char *const *)vanilla_headers,
		.region = "us-east-1",
		.service = "service",
		.now = T20150830,
		.normalize_path = true,
	};
}

static const struct sigv4_credentials example_creds = { AKID, SECRET, NULL };

/* The token is signed and sent; the signature is aws4_testsuite get-vanilla-with-session-token. */
static void test_session_token(void **state)
{
	struct sigv4_credentials creds = { AKID, SECRET, VANILLA_TOKEN };
	struct sigv4_request req = vanilla();
	struct sigv4_result res = { 0 };

	(void)state;
	assert_int_equal(sigv4_sign(&req, &creds, &res), 0);
	assert_non_null(
	        strstr(res.canonical_request, "\nx-amz-security-token:" VANILLA_TOKEN "\n"));
	assert_string_equal(res.signature,
	                    "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
	assert_int_equal(strv_length(res.add_headers), 3);
	assert_string_equal(res.add_headers[0], "X-Amz-Date: 20150830T123600Z");
	assert_string_equal(res.add_headers[1], "X-Amz-Security-Token: " VANILLA_TOKEN);
	assert_non_null(startswith(res.add_headers[2], "Authorization: AWS4-HMAC-SHA256 "));
	sigv4_result_done(&res);

	/* An empty token is no token. */
	creds.session_token = "";
	assert_int_equal(sigv4_sign(&req, &creds, &res), 0);
	assert_string_equal(res.signature,
	                    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	assert_int_equal(strv_length(res.add_headers), 2);
	sigv4_result_done(&res);
	/* Done twice is harmless. */
	sigv4_result_done(&res);
}

static void expect_einval(const struct sigv4_request *req, const struct sigv4_credentials *creds)
{
	struct sigv4_result res = { .signature = (char *)"untouched" };

	assert_int_equal(sigv4_sign(req, creds, &res), -EINVAL);
	assert_string_equal(res.signature, "untouched");
	assert_null(res.add_headers);
}

static void test_malformed(void **state)
{
	static const char *const no_colon[] = { "Host: example.amazonaws.com", "X-Bad", NULL };
	static const char *const bad_name[] = { "Host: example.amazonaws.com", "X Bad: 1", NULL };
	static const char *const empty_name[] = { "Host: example.amazonaws.com", ": 1", NULL };
	static const char *const no_host[] = { "X-Other: 1", NULL };
	static const char *const wrong_date[] = { "Host: h", "X-Amz-Date: 20150830T000000Z", NULL };
	static const char *const has_authz[] = { "Host: h", "Authorization: x", NULL };
	struct sigv4_credentials creds = example_creds;
	struct sigv4_request req;

	(void)state;
	req = vanilla();
	req.headers = (char *const *)no_colon;
	expect_einval(&req, &creds);
	req.headers = (char *const *)bad_name;
	expect_einval(&req, &creds);
	req.headers = (char *const *)empty_name;
	expect_einval(&req, &creds);
	req.headers = (char *const *)no_host;
	expect_einval(&req, &creds);
	req.headers = NULL;
	expect_einval(&req, &creds);
	req.headers = (char *const *)wrong_date;
	expect_einval(&req, &creds);
	req.headers = (char *const *)has_authz;
	expect_einval(&req, &creds);

	req = vanilla();
	req.query = "a=%zz";
	expect_einval(&req, &creds);
	req.query = "a=%4";
	expect_einval(&req, &creds);
	req = vanilla();
	req.path = "relative";
	expect_einval(&req, &creds);
	req.path = "/a?b=c";
	expect_einval(&req, &creds);
	req = vanilla();
	req.normalize_path = false;
	req.path = "/bad%g0";
	expect_einval(&req, &creds);
	req = vanilla();
	req.region = "us-east-1/x";
	expect_einval(&req, &creds);
	req = vanilla();
	req.service = "";
	expect_einval(&req, &creds);
	req = vanilla();
	req.method = "GE T";
	expect_einval(&req, &creds);
	req = vanilla();
	req.body_len = 3;
	expect_einval(&req, &creds);
	req = vanilla();
	req.now = (time_t)-62167219201; /* year 0 */
	expect_einval(&req, &creds);

	req = vanilla();
	creds.session_token = "tok\r\nX-Injected: 1";
	expect_einval(&req, &creds);
	creds = example_creds;
	creds.access_key_id = NULL;
	expect_einval(&req, &creds);
	creds = example_creds;
	creds.secret_access_key = "";
	expect_einval(&req, &creds);
}

/* Canonical forms our own tests do not get from the suites. */
static void test_canonical_forms(void **state)
{
	static const struct {
		const char *path, *query;
		bool normalize;
		const char *want; /* the path and query lines of the canonical request */
	} t[] = {
		/* Non-S3: the wire path is encoded once more. */
		{ "/a%20b", NULL, true, "/a%2520b\n\n" },
		{ "/a/b/..", NULL, true, "/a\n\n" },
		{ "/a/./b/../c/", NULL, true, "/a/c/\n\n" },
		{ "/../..", NULL, true, "/\n\n" },
		{ "", NULL, true, "/\n\n" },
		/* S3: decoded and encoded once, an escaped slash stays escaped. */
		{ "/a%20b/c%2fd/e+f~", NULL, false, "/a%20b/c%2Fd/e%2Bf~\n\n" },
		{ "/%7euser//x", NULL, false, "/~user//x\n\n" },
		/* Query: decoded and re-encoded, sorted by key then value, empty parts skipped. */
		{ "/", "b=2&a=%7e&&a=1&c&d=x%2fy z+", true, "/\na=1&a=~&b=2&c=&d=x%2Fy%20z%2B\n" },
		{ "/", "", true, "/\n\n" },
	};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(t); i++) {
		struct sigv4_request req = vanilla();
		struct sigv4_result res = { 0 };
		const char *got;

		req.path = t[i].path;
		req.query = t[i].query;
		req.normalize_path = t[i].normalize;
		assert_int_equal(sigv4_sign(&req, &example_creds, &res), 0);
		got = startswith(res.canonical_request, "GET\n");
		assert_non_null(got);
		if (!startswith(got, t[i].want))
			fail_msg("case %zu: canonical request\n%s\ndoes not start with\n%s", i, got,
			         t[i].want);
		sigv4_result_done(&res);
	}
}

/* Caller headers that the signer would otherwise add, and headers it never signs. */
static void test_caller_headers(void **state)
{
	static const char *const h[] = {
		"Host: example.amazonaws.com",  "User-Agent: asgswap/0.1",
		"X-Amz-Date: 20150830T123600Z", "X-Amz-Content-SHA256: UNSIGNED-PAYLOAD",
		"X-Amz-Security-Token: given",  NULL
	};
	struct sigv4_credentials creds = { AKID, SECRET, "other" };
	struct sigv4_request req = vanilla();
	struct sigv4_result res = { 0 };

	(void)state;
	req.headers = (char *const *)h;
	req.sign_body = true;
	req.body = "ignored";
	req.body_len = 7;
	assert_int_equal(sigv4_sign(&req, &creds, &res), 0);
	assert_string_equal(res.canonical_request, "GET\n/\n\n"
	                                           "host:example.amazonaws.com\n"
	                                           "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"
	                                           "x-amz-date:20150830T123600Z\n"
	                                           "x-amz-security-token:given\n"
	                                           "\n"
	                                           "host;x-amz-content-sha256;x-amz-date;"
	                                           "x-amz-security-token\n"
	                                           "UNSIGNED-PAYLOAD");
	assert_int_equal(strv_length(res.add_headers), 1);
	assert_non_null(startswith(res.add_headers[0], "Authorization: "));
	sigv4_result_done(&res);
}

/*
 * A Query-protocol POST as the controller sends it. The expected signature comes from
 * botocore 1.43.11, not from this code:
 *   python3 -c 'import datetime; from unittest import mock; import botocore.auth as a;
 *   from botocore.awsrequest import AWSRequest; from botocore.credentials import Credentials;
 *   r = AWSRequest(method="POST", url="https://autoscaling.us-east-1.amazonaws.com/",
 *       data=b"Action=DescribeAutoScalingGroups&Version=2011-01-01", headers={"Content-Type":
 *       "application/x-www-form-urlencoded; charset=utf-8"});
 *   mock.patch.object(a, "get_current_datetime",
 *       return_value=datetime.datetime(2015, 8, 30, 12, 36)).start();
 *   a.SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
 *       "autoscaling", "us-east-1").add_auth(r); print(r.headers["Authorization"])'
 * which prints SignedHeaders=content-type;host;x-amz-date,
 * Signature=b513ce73bb476773c20170583db9696ac27c0d72e56b70b95290fd2d427fce6b.
 */
static void test_query_post_stable(void **state)
{
	static const char *const h[] = {
		"Host: autoscaling.us-east-1.amazonaws.com",
		"Content-Type: application/x-www-form-urlencoded; charset=utf-8",
		NULL,
	};
	static const char body[] = "Action=DescribeAutoScalingGroups&Version=2011-01-01";
	struct sigv4_request req = {
		.method = "POST",
		.path = "/",
		.headers = (char *const *)h,
		.body = body,
		.body_len = sizeof(body) - 1,
		.region = "us-east-1",
		.service = "autoscaling",
		.now = T20150830,
		.normalize_path = true,
	};
	struct sigv4_result res = { 0 };

	(void)state;
	assert_int_equal(sigv4_sign(&req, &example_creds, &res), 0);
	assert_string_equal(res.signature,
	                    "b513ce73bb476773c20170583db9696ac27c0d72e56b70b95290fd2d427fce6b");
	assert_string_equal(
	        res.add_headers[1],
	        "Authorization: AWS4-HMAC-SHA256 "
	        "Credential=AKIDEXAMPLE/20150830/us-east-1/autoscaling/aws4_request, "
	        "SignedHeaders=content-type;host;x-amz-date, "
	        "Signature=b513ce73bb476773c20170583db9696ac27c0d72e56b70b95290fd2d427fce6b");
	sigv4_result_done(&res);
}

int main(void)
{
	struct sv_case *cases = NULL;
	struct CMUnitTest *tests;
	size_t n = 0, nt = 0;
	char *dir;
	int r;

	dir = path_join(testdata(), "/sigv4/aws-c-auth");
	walk_aws_c_auth(dir, &cases, &n);
	free(dir);
	dir = path_join(testdata(), "/sigv4/aws4_testsuite");
	walk_aws4(dir, &cases, &n);
	free(dir);
	qsort(cases, n, sizeof(*cases), case_cmp);

	tests = calloc(n + 6, sizeof(*tests));
	if (!tests)
		return 1;
	for (size_t i = 0; i < n; i++)
		tests[nt++] = (struct CMUnitTest){ .name = cases[i].title,
			                           .test_func = test_case,
			                           .initial_state = &cases[i] };
	tests[nt++] = (struct CMUnitTest)cmocka_unit_test(test_all_cases_compared);
	tests[nt++] = (struct CMUnitTest)cmocka_unit_test(test_session_token);
	tests[nt++] = (struct CMUnitTest)cmocka_unit_test(test_malformed);
	tests[nt++] = (struct CMUnitTest)cmocka_unit_test(test_canonical_forms);
	tests[nt++] = (struct CMUnitTest)cmocka_unit_test(test_caller_headers);
	tests[nt++] = (struct CMUnitTest)cmocka_unit_test(test_query_post_stable);
	r = _cmocka_run_group_tests("sigv4", tests, nt, NULL, NULL);

	for (size_t i = 0; i < n; i++) {
		free(cases[i].name);
		free(cases[i].prefix);
		free(cases[i].title);
	}
	free(cases);
	free(tests);
	return r;
}
