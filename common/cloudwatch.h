/* Typed CloudWatch calls (API 2010-08-01): the metric alarms that act on a scaling policy,
 * and re-creating one with rewritten actions and dimensions. */
#ifndef ASGSWAP_CLOUDWATCH_H
#define ASGSWAP_CLOUDWATCH_H

#include "aws.h"
#include "query.h"

/* The MetricAlarms member elements of DescribeAlarms with this ActionPrefix, every page;
 * the query form lists them under CW_ALARMS_LIST (for aws_query_items_many). */
#define CW_ALARMS_LIST "MetricAlarms"
int cw_query_describe_alarms_by_action_prefix(struct query *q, const char *prefix);

/* PutMetricAlarm from a DescribeAlarms member, output-only fields (AlarmArn, State*, ...)
 * left out; rewrite (may be NULL) sees every other leaf as query_add_from_xml() says. */
int cw_query_put_metric_alarm_from_xml(struct query *q, const xmlNode *alarm,
                                       query_rewrite_fn rewrite, void *userdata);

#endif
