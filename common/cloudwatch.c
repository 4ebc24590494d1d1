#include <errno.h>
#include <stdlib.h>

#include "cloudwatch.h"
#include "strutil.h"
#include "xml.h"
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

void cw_alarms_done(struct cw_alarms *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].name);
		free(a->v[i].state);
	}
	free(a->v);
	*a = (struct cw_alarms){ 0 };
}

const struct cw_alarm *cw_alarms_find(const struct cw_alarms *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (streq(a->v[i].name, name))
			return &a->v[i];
	return NULL;
}

/* A number of seconds or periods; 0 when absent or not a number. */
static unsigned child_uint(const xmlNode *n, const char *name)
{
	_cleanup_free_ char *t = NULL;
	unsigned v;

	if (!n || xml_child_text(n, name, &t) < 0 || safe_atou(t, &v) < 0)
		return 0;
	return v;
}

static int alarm_from(const xmlNode *m, bool composite, struct cw_alarm *ret)
{
	struct cw_alarm a = { .composite = composite };
	int r = xml_child_text(m, "AlarmName", &a.name);

	if (r == -ENOENT || (r == 0 && !*a.name)) {
		free(a.name);
		return -EBADMSG;
	}
	if (r < 0)
		return r;
	r = xml_child_text(m, "StateValue", &a.state);
	if (r == -ENOENT)
		a.state = strdup("INSUFFICIENT_DATA");
	if (r < 0 && r != -ENOENT) {
		free(a.name);
		return r;
	}
	if (!a.state) {
		free(a.name);
		return -ENOMEM;
	}
	a.period = child_uint(m, "Period");
	a.evaluation_periods = child_uint(m, "EvaluationPeriods");
	/* Metric math: each metric has its own period. */
	XML_FOREACH_CHILD(metric, xml_child(m, "Metrics"), "member") {
		unsigned p = MAX(child_uint(metric, "Period"),
		                 child_uint(xml_child(metric, "MetricStat"), "Period"));

		a.period = MAX(a.period, p);
	}
	*ret = a;
	return 0;
}

int cw_alarms_parse(xmlDoc *doc, struct cw_alarms *ret)
{
	static const char *const lists[] = { "MetricAlarms", "CompositeAlarms" };
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;

	if (!root)
		return -EBADMSG;
	for (size_t l = 0; l < ELEMENTSOF(lists); l++)
		XML_FOREACH_CHILD(m, xml_find(root, lists[l]), "member") {
			struct cw_alarm *v;
			int r;

			v = realloc(ret->v, (ret->n + 1) * sizeof(*v));
			if (!v)
				return -ENOMEM;
			ret->v = v;
			r = alarm_from(m, l == 1, &ret->v[ret->n]);
			if (r == -EBADMSG)
				continue;
			if (r < 0)
				return r;
			ret->n++;
		}
	return 0;
}

static int alarms_page(xmlDoc *doc, void *userdata)
{
	return cw_alarms_parse(doc, userdata);
}

int cw_describe_alarms(struct aws_client *c, char *const *names, const char *prefix,
                       struct cw_alarms *ret, struct aws_error *err)
{
	_cleanup_(cw_alarms_done) struct cw_alarms out = { 0 };
	size_t n = strv_length(names);
	int r;

	for (size_t start = 0; start < n || (start == 0 && !names); start += CW_MAX_ALARM_NAMES) {
		struct query q = { 0 };
		_cleanup_query_ struct query *qp = &q;

		r = query_init(&q, AWS_SVC_CLOUDWATCH, "DescribeAlarms");
		if (r < 0)
			return r;
		query_add(&q, "AlarmTypes.member.1", "CompositeAlarm");
		query_add(&q, "AlarmTypes.member.2", "MetricAlarm");
		if (names)
			for (size_t i = start; i < n && i < start + CW_MAX_ALARM_NAMES; i++)
				query_addf(&q, names[i], "AlarmNames.member.%zu", i - start + 1);
		else
			query_add(&q, "AlarmNamePrefix", prefix);
		query_add_uint(&q, "MaxRecords", 100);
		r = aws_query_pages(c, &q, "NextToken", "NextToken", 0, alarms_page, &out, err);
		if (r < 0)
			return r;
		if (!names)
			break;
	}
	*ret = out;
	out = (struct cw_alarms){ 0 };
	return 0;
}
