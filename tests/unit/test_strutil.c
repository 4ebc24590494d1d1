#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "strutil.h"
#include "banned.h"

static void test_safe_atou(void **state)
{
	unsigned u;
	uint64_t v;
	int64_t i;

	(void)state;
	assert_int_equal(safe_atou("42", &u), 0);
	assert_int_equal(u, 42);
	assert_int_equal(safe_atou("", &u), -EINVAL);
	assert_int_equal(safe_atou(" 1", &u), -EINVAL);
	assert_int_equal(safe_atou("1x", &u), -EINVAL);
	assert_int_equal(safe_atou("-1", &u), -EINVAL);
	assert_int_equal(safe_atou("4294967296", &u), -ERANGE);
	assert_int_equal(safe_atou64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(safe_atou64("18446744073709551616", &v), -ERANGE);
	assert_int_equal(safe_atoi64("-9223372036854775808", &i), 0);
	assert_true(i == INT64_MIN);
	assert_int_equal(safe_atoi64("9223372036854775808", &i), -ERANGE);
}

static void test_uri_encode(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(uri_encode(&b, "a b/c~d=é", strlen("a b/c~d=é"), false), 0);
	assert_string_equal(b.data, "a%20b%2Fc~d%3D%C3%A9");
	buf_reset(&b);
	assert_int_equal(uri_encode(&b, "/x y/", 5, true), 0);
	assert_string_equal(b.data, "/x%20y/");
	/* As Python's urlencode() writes a form (botocore's Query bodies). */
	buf_reset(&b);
	assert_int_equal(form_encode(&b, " a  b+c* ", 9), 0);
	assert_string_equal(b.data, "+a++b%2Bc%2A+");
	buf_free(&b);
}

static void test_buf_cap(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "12345678"), 0);
	assert_int_equal(buf_putc(&b, '9'), -E2BIG);
	assert_int_equal(b.len, 8);
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "%d-%s", 7, "x"), 0);
	assert_int_equal(buf_printf(&b, "%s", "toolong"), -E2BIG);
	s = buf_steal(&b);
	assert_string_equal(s, "7-x");
	free(s);
	assert_null(b.data);
}

static void test_strv_strip(void **state)
{
	_cleanup_strv_free_ char **v = NULL;
	char s[] = " \t a b \r\n";

	(void)state;
	assert_int_equal(strv_extend(&v, "a"), 0);
	assert_int_equal(strv_extend(&v, "b"), 0);
	assert_int_equal(strv_length(v), 2);
	assert_string_equal(v[1], "b");
	assert_string_equal(strstrip(s), "a b");
	assert_non_null(startswith("Action=x", "Action="));
	assert_null(startswith("Act", "Action="));
	assert_string_equal(startswith_no_case("content-TYPE: x", "Content-Type:"), " x");
}

static void test_formatted(void **state)
{
	_cleanup_strv_free_ char **v = NULL;
	_cleanup_free_ char *m = NULL;

	(void)state;
	assert_int_equal(set_errorf(NULL, -EINVAL, "no %s", "store"), -EINVAL);
	assert_int_equal(set_errorf(&m, -ENOENT, "%s:%u: %s", "f", 3u, "why"), -ENOENT);
	assert_string_equal(m, "f:3: why");
	assert_int_equal(strv_pushf(&v, "%d-%s", 7, "x"), 0);
	assert_string_equal(v[0], "7-x");
	assert_null(v[1]);
}

static void test_edit_distance(void **state)
{
	char *cmds[] = { (char *)"status",   (char *)"deploy", (char *)"rollback",
		         (char *)"finalize", (char *)"unlock", NULL };
	char long_a[300];

	(void)state;
	assert_int_equal(str_edit_distance("deploy", "deploy", 3), 0);
	assert_int_equal(str_edit_distance("deplyo", "deploy", 3), 1); /* a swap is one edit */
	assert_int_equal(str_edit_distance("rolback", "rollback", 3), 1);
	assert_int_equal(str_edit_distance("", "abc", 3), 3);
	assert_int_equal(str_edit_distance("kitten", "sitting", 5), 3);
	assert_int_equal(str_edit_distance("a", "abcdefgh", 3), 4); /* capped */
	memset(long_a, 'a', sizeof(long_a) - 1);
	long_a[sizeof(long_a) - 1] = '\0';
	assert_int_equal(str_edit_distance(long_a, long_a, 3), 4); /* too long to compare */
	assert_string_equal(strv_closest(cmds, "deplyo"), "deploy");
	assert_string_equal(strv_closest(cmds, "stauts"), "status");
	assert_string_equal(strv_closest(cmds, "finalise"), "finalize");
	assert_null(strv_closest(cmds, "frobnicate"));
	assert_null(strv_closest(cmds, "x"));
	assert_null(strv_closest(NULL, "deploy"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_safe_atou), cmocka_unit_test(test_uri_encode),
		cmocka_unit_test(test_buf_cap),   cmocka_unit_test(test_strv_strip),
		cmocka_unit_test(test_formatted), cmocka_unit_test(test_edit_distance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
