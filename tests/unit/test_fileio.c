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

#include "fileio.h"
#include "strutil.h"
#include "timeutil.h"
#include "unit_files.h"
#include "banned.h"

static void test_read_small_file(void **state)
{
	_cleanup_free_ char *path = write_temp("a\0b\n", 4);
	_cleanup_free_ char *empty = write_temp("", 0);
	_cleanup_buf_ struct buf b = { 0 };

	(void)state;
	assert_int_equal(read_small_file(path, 4, 0, &b), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "a\0b\n", 5);
	assert_false(b.secret);
	buf_free(&b);
	assert_int_equal(read_small_file(path, 64, READ_FILE_SECRET, &b), 0);
	assert_true(b.secret);
	buf_free(&b);
	/* an empty file is an empty string, never NULL */
	assert_int_equal(read_small_file(empty, 64, 0, &b), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	buf_free(&b);
	/* as is /dev/null, unless only a regular file will do */
	assert_int_equal(read_small_file("/dev/null", 64, 0, &b), 0);
	assert_string_equal(b.data, "");
	buf_free(&b);
	assert_int_equal(read_small_file("/dev/null", 64, READ_FILE_REGULAR, &b), -EINVAL);
	/* a device without an end still meets the ceiling */
	assert_int_equal(read_small_file("/dev/zero", 10000, 0, &b), -E2BIG);
	unlink(path);
	unlink(empty);
}

static void test_read_small_file_errors(void **state)
{
	_cleanup_free_ char *path = write_temp("12345", 5);
	char dir[] = "/tmp/test_fileio.d.XXXXXX";
	_cleanup_free_ char *fifo = NULL;
	struct buf b = { .data = (char *)"sentinel" };

	(void)state;
	/* the ceiling holds on the size of the file */
	assert_int_equal(read_small_file(path, 4, 0, &b), -E2BIG);
	/* and on what is read, where the size says 0 */
	if (access("/proc/self/status", R_OK) == 0)
		assert_int_equal(read_small_file("/proc/self/status", 16, 0, &b), -E2BIG);
	unlink(path);
	assert_int_equal(read_small_file(path, 64, 0, &b), -ENOENT);
	assert_int_equal(read_small_file("/etc/passwd/x", 64, 0, &b), -ENOTDIR);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(read_small_file(dir, 64, 0, &b), -EISDIR);
	/* a FIFO without a writer must not hang the open */
	assert_true(asprintf(&fifo, "%s/fifo", dir) > 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(read_small_file(fifo, 64, 0, &b), -EINVAL);
	assert_int_equal(read_small_file(fifo, 64, READ_FILE_REGULAR, &b), -EINVAL);
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(rmdir(dir), 0);
	/* untouched on failure */
	assert_string_equal(b.data, "sentinel");
	assert_int_equal(b.len, 0);
}

static void test_parse_iso8601(void **state)
{
	time_t t = 7;

	(void)state;
	assert_int_equal(parse_iso8601("2026-11-30T12:00:00Z", &t), 0);
	assert_true(t == 1796040000);
	assert_int_equal(parse_iso8601("2026-11-30T12:00:01.250Z", &t), 0);
	assert_true(t == 1796040001);
	assert_int_equal(parse_iso8601("2026-11-30T12:00:02+00:00", &t), 0);
	assert_true(t == 1796040002);
	assert_int_equal(parse_iso8601("2026-11-30T12:00:03", &t), 0);
	assert_true(t == 1796040003);
	t = 7;
	assert_int_equal(parse_iso8601("2026-11-30T12:00:00+01:00", &t), -EINVAL);
	assert_int_equal(parse_iso8601("2026-11-30T12:00:00Zjunk", &t), -EINVAL);
	assert_int_equal(parse_iso8601("2026-11-30", &t), -EINVAL);
	assert_int_equal(parse_iso8601("", &t), -EINVAL);
	assert_int_equal(parse_iso8601(NULL, &t), -EINVAL);
	assert_true(t == 7);
}

static void test_now_usec(void **state)
{
	uint64_t a = now_usec(), b;

	(void)state;
	assert_true(a > 0);
	do
		b = now_usec();
	while (b == a);
	assert_true(b > a);
	assert_true(now_msec() >= (long)(b / 1000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_small_file),
		cmocka_unit_test(test_read_small_file_errors),
		cmocka_unit_test(test_parse_iso8601),
		cmocka_unit_test(test_now_usec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
