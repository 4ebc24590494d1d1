/* Typed EC2 calls (API 2016-11-15): the state of instances, which Auto Scaling does not
 * always report truthfully for Standby instances. */
#ifndef ASGSWAP_EC2_H
#define ASGSWAP_EC2_H

#include "aws.h"
#include "elb.h"

/*
 * The EC2 state (pending, running, shutting-down, terminated, stopping, stopped) of each
 * of ids, as lb_targets (id, state); an id EC2 does not know is absent from ret. Batched
 * by 100 ids; an id unknown to EC2 (InvalidInstanceID.NotFound) is retried alone.
 */
int ec2_describe_instance_states(struct aws_client *c, char *const *ids, struct lb_targets *ret,
                                 struct aws_error *err);

/* Appends (instanceId, instanceState/name) of every instance of a DescribeInstances page. */
int ec2_instance_states_parse(xmlDoc *doc, struct lb_targets *t);

#endif
