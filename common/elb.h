/*
 * Load balancer health: classic ELB (API 2012-06-01) DescribeInstanceHealth, and ELBv2
 * (2015-12-01) DescribeTargetHealth and DescribeTargetGroups.
 */
#ifndef ASGSWAP_ELB_H
#define ASGSWAP_ELB_H

#include <stddef.h>

#include "aws.h"
#include "query.h"

/* One instance as a load balancer sees it. state: classic InService, OutOfService,
 * Unknown; ELBv2 initial, healthy, unhealthy, unused, draining, unavailable. */
struct lb_target {
	char *id;
	char *state;
	char *reason; /* ELBv2 Reason (Target.FailedHealthChecks...), classic ReasonCode; or NULL */
};

struct lb_targets {
	struct lb_target *v;
	size_t n;
};
void lb_targets_done(struct lb_targets *t);
/* The state of instance id, or NULL when the load balancer does not know it. */
const char *lb_targets_state(const struct lb_targets *t, const char *id);
/* Why the load balancer holds instance id out of service, or NULL. */
const char *lb_targets_reason(const struct lb_targets *t, const char *id);

/* The same two calls for aws_query_many(): build q (query_init'ed here), then parse the
 * answer (these calls answer in one page). */
int elb_query_instance_health(struct query *q, const char *lb);
int elbv2_query_target_health(struct query *q, const char *target_group_arn);
int elb_instance_health_parse(xmlDoc *doc, struct lb_targets *ret);
int elbv2_target_health_parse(xmlDoc *doc, struct lb_targets *ret);

struct elbv2_target_group {
	char *arn;
	char *name;
};
struct elbv2_target_groups {
	struct elbv2_target_group *v;
	size_t n;
};
void elbv2_target_groups_done(struct elbv2_target_groups *t);
/* The target groups of these ARNs (at most 20 a call; batched). */
int elbv2_describe_target_groups(struct aws_client *c, char *const *arns,
                                 struct elbv2_target_groups *ret, struct aws_error *err);

#endif
