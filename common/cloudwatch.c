#include <errno.h>

#include "cloudwatch.h"
#include "strutil.h"
#include "banned.h"

int cw_query_describe_alarms_by_action_prefix(struct query *q, const char *prefix)
{
	int r = query_init(q, AWS_SVC_CLOUDWATCH, "DescribeAlarms");

	if (r < 0)
		return r;
	query_add(q, "ActionPrefix", prefix);
	return q->error;
}

int cw_describe_alarms_by_action_prefix(struct aws_client *c, const char *prefix,
                                        struct query_items *ret, struct aws_error *err)
{
	struct query q = { 0 };
	_cleanup_query_ struct query *qp = &q;
	int r = cw_query_describe_alarms_by_action_prefix(&q, prefix);

	return r < 0 ? r
	             : aws_query_items(c, &q, "NextToken", "NextToken", CW_ALARMS_LIST, ret, err);
}

static const char *const alarm_skip[] = {
	"AlarmArn",
	"AlarmConfigurationUpdatedTimestamp",
	"StateValue",
	"StateReason",
	"StateReasonData",
	"StateUpdatedTimestamp",
	"StateTransitionedTimestamp",
	"EvaluationState",
	NULL,
};

int cw_query_put_metric_alarm_from_xml(struct query *q, const xmlNode *alarm,
                                       query_rewrite_fn rewrite, void *userdata)
{
	int r = query_init(q, AWS_SVC_CLOUDWATCH, "PutMetricAlarm");

	if (r < 0)
		return r;
	r = query_add_from_xml(q, NULL, alarm, alarm_skip, rewrite, userdata);
	return r < 0 ? r : q->error;
}

int cw_put_metric_alarm_from_xml(struct aws_client *c, const xmlNode *alarm,
                                 query_rewrite_fn rewrite, void *userdata, struct aws_error *err)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	struct query q = { 0 };
	_cleanup_query_ struct query *qp = &q;
	int r = cw_query_put_metric_alarm_from_xml(&q, alarm, rewrite, userdata);

	return r < 0 ? r : aws_query(c, &q, &doc, err);
}
