/* Typed CloudWatch calls (API 2010-08-01): the metric alarms that act on a scaling policy,
 * and re-creating one with rewritten actions and dimensions. */
#ifndef ASGSWAP_CLOUDWATCH_H
#define ASGSWAP_CLOUDWATCH_H

#include <stdbool.h>

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

/* An alarm as DescribeAlarms gives it (metric and composite alarms). */
struct cw_alarm {
	char *name;
	bool composite;
	char *state;                 /* OK, ALARM, INSUFFICIENT_DATA (other values kept as given) */
	unsigned period;             /* seconds: the largest of its metrics'; 0 when none */
	unsigned evaluation_periods; /* 0 when not given */
};
struct cw_alarms {
	struct cw_alarm *v;
	size_t n;
};
void cw_alarms_done(struct cw_alarms *a);
const struct cw_alarm *cw_alarms_find(const struct cw_alarms *a, const char *name);
/* The alarms of one DescribeAlarms answer added to *ret (members without a name skipped). */
int cw_alarms_parse(xmlDoc *doc, struct cw_alarms *ret);

/* DescribeAlarms of metric and composite alarms (AlarmTypes: without it AWS answers metric
 * alarms only), every page: those named (at most CW_MAX_ALARM_NAMES a call), or with
 * names NULL those whose name starts with prefix. */
#define CW_MAX_ALARM_NAMES 100
int cw_describe_alarms(struct aws_client *c, char *const *names, const char *prefix,
                       struct cw_alarms *ret, struct aws_error *err);

#endif
