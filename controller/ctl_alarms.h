/* ctl_alarms.c: the CloudWatch alarms a release watches. */
#ifndef ASGSWAP_CTL_ALARMS_H
#define ASGSWAP_CTL_ALARMS_H

#include "ctl.h"

/* The alarms named and those whose name starts with prefix (either may be NULL), each
 * once: -EINVAL for a name that does not exist or a prefix that matches nothing, -ESTALE
 * for one in ALARM (unless st->ignore_alarm_state), logged; a warning for each metric
 * alarm slower than st's shortest bake. */
int ctl_alarms_resolve(struct ctl_context *ctx, char *const *names, const char *prefix,
                       const struct ctl_strategy *st, char ***ret);
/* One DescribeAlarms of names: the first in ALARM (*ret_firing, NULL when none), how many
 * are OK and how many no longer exist. */
int ctl_alarms_poll(struct ctl_context *ctx, char *const *names, char **ret_firing,
                    unsigned *ret_ok, unsigned *ret_missing);
/* "NAME STATE, NAME STATE" for status. */
int ctl_alarms_states(struct ctl_context *ctx, char *const *names, char **ret);

#endif
