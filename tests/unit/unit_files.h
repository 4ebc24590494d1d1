/* Temporary files for the unit tests (included after cmocka.h). */
#ifndef ASGSWAP_UNIT_FILES_H
#define ASGSWAP_UNIT_FILES_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A new file under /tmp holding len bytes of text; returns its path (to free and unlink). */
static inline char *write_temp(const char *text, size_t len)
{
	char *path = strdup("/tmp/asgswap-unit-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkostemp(path, O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	return path;
}

#define WRITE_TEMP(s) write_temp(s, strlen(s))

#endif
