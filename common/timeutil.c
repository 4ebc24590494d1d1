#include <errno.h>
#include <string.h>
#include <time.h>

#include "strutil.h"
#include "timeutil.h"
#include "banned.h"

uint64_t now_usec(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

int parse_iso8601(const char *s, time_t *ret)
{
	struct tm tm = { 0 };
	const char *end;
	time_t t;

	if (!s)
		return -EINVAL;
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -EINVAL;
	if (*end == '.')
		end += 1 + strspn(end + 1, "0123456789");
	if (!streq(end, "Z") && !streq(end, "+00:00") && !streq(end, "UTC") && *end)
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret = t;
	return 0;
}

void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	(void)nanosleep(&ts, NULL);
}
