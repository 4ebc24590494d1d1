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
