/*
 * Typed Auto Scaling calls (Query protocol, API version 2011-01-01): the groups of a
 * service, their sizes, instances, tags and processes, Standby, protection, termination,
 * and the policies and scheduled actions that move between the sets of a service.
 */
#ifndef ASGSWAP_AUTOSCALING_H
#define ASGSWAP_AUTOSCALING_H

#include <stdbool.h>
#include <stddef.h>

#include "aws.h"
#include "query.h"

/* EnterStandby, ExitStandby, SetInstanceProtection take at most this many ids a call. */
#define ASG_MAX_INSTANCE_IDS 20

struct asg_instance {
	char *id;
	char *lifecycle; /* Pending, Pending:Wait, InService, Standby, EnteringStandby, ... */
	char *health;    /* Healthy, Unhealthy */
	char *az;
	bool protected_from_scale_in;
};

struct asg_group_tag {
	char *key;
	char *value;
	bool propagate;
};

struct asg_group {
	char *name;
	char *arn;
	unsigned min, max, desired;
	struct asg_instance *instances;
	size_t n_instances;
	char **load_balancers; /* classic ELB names (strv, may be NULL) */
	char **target_groups;  /* ELBv2 target group ARNs (strv, may be NULL) */
	char **suspended;      /* suspended process names (strv, may be NULL) */
	bool warm_pool;
	struct asg_group_tag *tags;
	size_t n_tags;
};

struct asg_groups {
	struct asg_group *v;
	size_t n;
};
void asg_groups_done(struct asg_groups *g);

/* The value of a tag of g, or NULL. */
const char *asg_group_tag(const struct asg_group *g, const char *key);
bool asg_group_suspended(const struct asg_group *g, const char *process);

/* Every group carrying tag key=value (value NULL: any value): one paginated
 * DescribeAutoScalingGroups with a tag filter, sorted by name. */
int asg_describe_groups_by_tag(struct aws_client *c, const char *key, const char *value,
                               struct asg_groups *ret, struct aws_error *err);

/* Parses one DescribeAutoScalingGroups member element (exposed for the unit tests). */
int asg_group_parse(const xmlNode *member, struct asg_group *ret);
void asg_group_done(struct asg_group *g);

/* Calls built into q (query_init'ed here) for aws_query_many(). */
int asg_query_delete_tags(struct query *q, const char *group, char *const *keys);

int asg_set_tag(struct aws_client *c, const char *group, const char *key, const char *value,
                bool propagate, struct aws_error *err);
int asg_delete_tags(struct aws_client *c, const char *group, char *const *keys,
                    struct aws_error *err);

/* DescribePolicies / DescribeScheduledActions of one group: the member elements. The
 * query forms (for aws_query_items_many) list their members under these elements. */
#define ASG_POLICIES_LIST          "ScalingPolicies"
#define ASG_SCHEDULED_ACTIONS_LIST "ScheduledUpdateGroupActions"
int asg_query_describe_policies(struct query *q, const char *group);
int asg_query_describe_scheduled_actions(struct query *q, const char *group);

/*
 * PutScalingPolicy / PutScheduledUpdateGroupAction from a Describe member element, with
 * the group name replaced by `group` and output-only fields left out; rewrite (may be
 * NULL) sees every other leaf as query_add_from_xml() says. asg_policy_arn_parse() reads
 * a PutScalingPolicy answer's ARN.
 */
int asg_query_put_policy_from_xml(struct query *q, const char *group, const xmlNode *policy);
int asg_policy_arn_parse(xmlDoc *doc, char **ret);
int asg_query_put_scheduled_action_from_xml(struct query *q, const char *group,
                                            const xmlNode *action, query_rewrite_fn rewrite,
                                            void *userdata);
int asg_query_delete_policy(struct query *q, const char *group, const char *policy);
int asg_query_delete_scheduled_action(struct query *q, const char *group, const char *action);

#endif
