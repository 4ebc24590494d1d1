#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "banned.h"

static void closep(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
}

int read_small_file(const char *path, size_t max, unsigned flags, struct buf *ret)
{
	_cleanup_(closep) int fd = -1;
	_cleanup_buf_ struct buf b = { 0 };
	struct stat st;
	int r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode) && (!S_ISCHR(st.st_mode) || (flags & READ_FILE_REGULAR)))
		return -EINVAL;
	if ((uintmax_t)st.st_size > max)
		return -E2BIG;
	if (flags & READ_FILE_SECRET)
		buf_init_secret(&b, max);
	else
		buf_init(&b, max);
	for (;;) {
		char chunk[4096];
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : 0;
			break;
		}
		r = buf_append(&b, chunk, (size_t)n);
		if (flags & READ_FILE_SECRET)
			explicit_bzero(chunk, (size_t)n);
		if (r < 0)
			break;
	}
	if (r == 0 && !b.data)
		r = buf_puts(&b, "");
	if (r < 0)
		return r;
	*ret = b;
	b = (struct buf){ 0 };
	return 0;
}
