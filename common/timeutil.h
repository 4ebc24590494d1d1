/* Time: the one monotonic clock for deadlines and the AWS timestamp parser. */
#ifndef ASGSWAP_TIMEUTIL_H
#define ASGSWAP_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

/* Microseconds of CLOCK_MONOTONIC: deadlines must not move when the wall clock is set. */
uint64_t now_usec(void);

static inline long now_msec(void)
{
	return (long)(now_usec() / 1000);
}

/* Sleeps s seconds, or less when a signal comes (the caller looks at why it woke). */
void sleep_s(double s);

/* Parses an AWS timestamp, ISO 8601 "2026-11-30T12:00:00Z" (fractions, "+00:00", "UTC" or
 * no zone accepted, all read as UTC), into seconds since the epoch. -EINVAL otherwise. */
int parse_iso8601(const char *s, time_t *ret);

#endif
