#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"
#include "strutil.h"
#include "timeutil.h"
#include "banned.h"

int notify_send(const char *text)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n, len = strlen(text);
	socklen_t salen;
	long deadline;
	int fd, r;

	if (!path || !*path)
		return 1;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n < 2 || n >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Connected, so that poll() can wait for room in the receiver's queue. */
	if (connect(fd, (struct sockaddr *)&sa, salen) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	deadline = now_msec() + NOTIFY_TIMEOUT_MS;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		long left;

		if (send(fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0) {
			r = 0;
			break;
		}
		r = -errno;
		if (r != -EAGAIN && r != -EINTR)
			break;
		left = deadline - now_msec();
		if (left <= 0) {
			r = -EAGAIN;
			break;
		}
		(void)poll(&p, 1, (int)left);
	}
	close(fd);
	return r;
}

int notify_sendf(const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	s = strdup_vprintf(fmt, ap);
	va_end(ap);
	return s ? notify_send(s) : -ENOMEM;
}
