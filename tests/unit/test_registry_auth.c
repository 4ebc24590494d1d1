#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "docker.h"
#include "awsjson.h"
#include "ecr.h"
#include "strutil.h"
#include "banned.h"

/* X-Registry-Auth is padded base64url of the JSON credentials. */
static void test_docker_registry_auth(void **state)
{
	_cleanup_free_ char *v = NULL;
	unsigned char plain[512];
	char std[512];
	size_t n;
	int len;

	(void)state;
	/* Chosen so that the base64 has both '+'/'/' positions in standard form. */
	assert_int_equal(docker_registry_auth("AWS", "p?>?>~~ \"q\\", "127.0.0.1:5000", &v), 0);
	assert_null(strpbrk(v, "+/"));
	n = strlen(v);
	assert_true(n % 4 == 0 && n < sizeof(std));
	memcpy(std, v, n + 1);
	for (char *p = std; *p; p++)
		*p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
	len = EVP_DecodeBlock(plain, (unsigned char *)std, (int)n);
	assert_true(len > 0);
	while (n > 0 && std[n - 1] == '=') {
		len--;
		n--;
	}
	plain[len] = '\0';
	assert_string_equal((char *)plain,
	                    "{\"username\":\"AWS\",\"password\":\"p?>?>~~ \\\"q\\\\\","
	                    "\"serveraddress\":\"127.0.0.1:5000\"}");
}

static void test_ecr_parse_host(void **state)
{
	_cleanup_free_ char *account = NULL;

	(void)state;
	assert_int_equal(ecr_parse_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com", &account),
	                 0);
	assert_string_equal(account, "123456789012");
	assert_int_equal(ecr_parse_host("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", NULL),
	                 0);
	assert_int_equal(ecr_parse_host("12345678901.dkr.ecr.eu-west-1.amazonaws.com", NULL),
	                 -EINVAL);
	assert_int_equal(
	        ecr_parse_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.io", NULL),
	        -EINVAL);
	assert_int_equal(ecr_parse_host("127.0.0.1:5000", NULL), -EINVAL);
	assert_int_equal(ecr_parse_host("123456789012.dkr.ecr..amazonaws.com", NULL), -EINVAL);
}

static void test_ecr_parse_error(void **state)
{
	static const char body[] = "{\"__type\":\"com.amazonaws#AccessDeniedException\","
	                           "\"message\":\"not allowed\"}";
	struct http_response r = { .status = 400 };
	struct aws_error err = { 0 };

	(void)state;
	buf_init(&r.body, 0);
	assert_int_equal(buf_puts(&r.body, body), 0);
	awsjson_parse_error(&r, &err);
	assert_string_equal(err.code, "AccessDeniedException");
	assert_string_equal(err.message, "not allowed");
	aws_error_clear(&err);
	buf_reset(&r.body);
	assert_int_equal(buf_puts(&r.body, "<html>"), 0);
	awsjson_parse_error(&r, &err);
	assert_null(err.code);
	assert_non_null(err.message);
	aws_error_clear(&err);
	buf_free(&r.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_registry_auth),
		cmocka_unit_test(test_ecr_parse_host),
		cmocka_unit_test(test_ecr_parse_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
