/*
 * Typed Auto Scaling calls around an instance's life in its group, shared by the agent and
 * the controller: which group an instance is in, a group's tags, its lifecycle hooks,
 * completing or extending a lifecycle action, and marking an instance unhealthy. Each call
 * goes through aws_query() (SigV4, standard retries); on failure err says why.
 */
#ifndef ASGSWAP_LIFECYCLE_H
#define ASGSWAP_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>

#include "aws.h"
#include "macro.h"
#include "xml.h"

#define ASG_TRANSITION_LAUNCHING   "autoscaling:EC2_INSTANCE_LAUNCHING"
#define ASG_TRANSITION_TERMINATING "autoscaling:EC2_INSTANCE_TERMINATING"

/* CompleteLifecycleAction / RecordLifecycleActionHeartbeat found no pending action for the
 * instance (already completed, timed out, or a reboot after it): a positive return, not an
 * error, so that callers can treat it as done. */
#define ASG_ACTION_NOT_ACTIVE 1

/* DescribeAutoScalingInstances: the group of an instance and its lifecycle state. 0, or
 * -ENOENT (err set) when the instance is in no group. ret_state may be NULL. */
int asg_describe_instance_group(struct aws_client *c, const char *instance_id, char **ret_group,
                                char **ret_state, struct aws_error *err);
/* Its answer: -ENOENT when doc names no group. */
int asg_instance_group_parse(xmlDoc *doc, char **ret_group, char **ret_state);

struct asg_tag {
	char *key;
	char *value;
	bool propagate_at_launch;
};

struct asg_tags {
	struct asg_tag *tags;
	size_t n;
};
void asg_tags_done(struct asg_tags *t);
#define _cleanup_asg_tags_ _cleanup_(asg_tags_done)
/* The value of key, or NULL when the tag is absent. */
const char *asg_tags_get(const struct asg_tags *t, const char *key);

/* DescribeTags filtered by auto-scaling-group (and by key when keys is non-NULL), every
 * page. ret is replaced only on success. */
int asg_describe_group_tags(struct aws_client *c, const char *group, char *const *keys,
                            struct asg_tags *ret, struct aws_error *err);
/* Appends the tags of one DescribeTags page to t; -E2BIG past a sane count. */
int asg_tags_add_page(xmlDoc *doc, struct asg_tags *t);

struct asg_lifecycle_hook {
	char *name;
	char *group;
	char *transition;           /* ASG_TRANSITION_LAUNCHING, ... */
	char *default_result;       /* CONTINUE or ABANDON */
	unsigned heartbeat_timeout; /* seconds */
	unsigned global_timeout;    /* seconds, 0 when not reported */
};

struct asg_lifecycle_hooks {
	struct asg_lifecycle_hook *hooks;
	size_t n;
};
void asg_lifecycle_hooks_done(struct asg_lifecycle_hooks *h);
#define _cleanup_asg_lifecycle_hooks_ _cleanup_(asg_lifecycle_hooks_done)

/* DescribeLifecycleHooks of one group; ret is replaced only on success. */
int asg_describe_lifecycle_hooks(struct aws_client *c, const char *group,
                                 struct asg_lifecycle_hooks *ret, struct aws_error *err);
/* Its answer (hooks without a group name get `group`); -E2BIG past a sane count. */
int asg_lifecycle_hooks_parse(xmlDoc *doc, const char *group, struct asg_lifecycle_hooks *ret);

/* CompleteLifecycleAction by instance id, result "CONTINUE" or "ABANDON". 0 when completed,
 * ASG_ACTION_NOT_ACTIVE when no action was pending, a negative errno otherwise. */
int asg_complete_lifecycle_action(struct aws_client *c, const char *group, const char *hook,
                                  const char *instance_id, const char *result,
                                  struct aws_error *err);

/* RecordLifecycleActionHeartbeat by instance id; returns as asg_complete_lifecycle_action. */
int asg_record_lifecycle_heartbeat(struct aws_client *c, const char *group, const char *hook,
                                   const char *instance_id, struct aws_error *err);

/* SetInstanceHealth Healthy/Unhealthy; respect_grace sets ShouldRespectGracePeriod. */
int asg_set_instance_health(struct aws_client *c, const char *instance_id, bool healthy,
                            bool respect_grace, struct aws_error *err);

#endif
