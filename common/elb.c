#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "elb.h"
#include "query.h"
#include "strutil.h"
#include "banned.h"

void lb_targets_done(struct lb_targets *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].id);
		free(t->v[i].state);
		free(t->v[i].reason);
	}
	free(t->v);
	*t = (struct lb_targets){ 0 };
}

static const struct lb_target *find_target(const struct lb_targets *t, const char *id)
{
	for (size_t i = 0; i < t->n; i++)
		if (streq(t->v[i].id, id))
			return &t->v[i];
	return NULL;
}

const char *lb_targets_state(const struct lb_targets *t, const char *id)
{
	const struct lb_target *x = find_target(t, id);

	return x ? x->state : NULL;
}

const char *lb_targets_reason(const struct lb_targets *t, const char *id)
{
	const struct lb_target *x = find_target(t, id);

	return x ? x->reason : NULL;
}

/* A reason code is shown in messages: only a short token of [A-Za-z0-9._:-] is kept. */
static char *reason_text(xmlNode *n)
{
	_cleanup_free_ char *s = n ? xml_text(n) : NULL;

	if (!s || !*s || strlen(s) > 64 || streq(s, "N/A"))
		return NULL;
	for (const char *p = s; *p; p++)
		if (!(isalnum((unsigned char)*p) || strchr("._:-", *p)))
			return NULL;
	return TAKE_PTR(s);
}

/* Appends (id, state, reason) read from the children id_path, state_path and reason_path of
 * each member. */
static int targets_from(const struct query_items *items, const char *id_path,
                        const char *state_path, const char *reason_path, struct lb_targets *ret)
{
	struct lb_targets t = { 0 };

	if (items->n) {
		t.v = calloc(items->n, sizeof(*t.v));
		if (!t.v)
			return -ENOMEM;
	}
	for (size_t i = 0; i < items->n; i++) {
		xmlNode *id = xml_path(items->nodes[i], id_path);
		xmlNode *st = xml_path(items->nodes[i], state_path);

		if (!id)
			continue;
		t.v[t.n].id = xml_text(id);
		t.v[t.n].state = st ? xml_text(st) : strdup("Unknown");
		t.v[t.n].reason = reason_text(xml_path(items->nodes[i], reason_path));
		if (!t.v[t.n].id || !t.v[t.n].state) {
			t.n++;
			lb_targets_done(&t);
			return -ENOMEM;
		}
		t.n++;
	}
	*ret = t;
	return 0;
}

static int targets_from_doc(xmlDoc *doc, const char *list, const char *id_path,
                            const char *state_path, const char *reason_path, struct lb_targets *ret)
{
	struct query_items items = { 0 };
	xmlNode *l = xml_find(xmlDocGetRootElement(doc), list);
	int r;

	XML_FOREACH_CHILD(m, l, "member")
		items.n++;
	if (items.n) {
		items.nodes = calloc(items.n, sizeof(*items.nodes));
		if (!items.nodes)
			return -ENOMEM;
	}
	size_t count = items.n;

	items.n = 0;
	XML_FOREACH_CHILD(m, l, "member")
		if (items.n < count)
			items.nodes[items.n++] = m;
	r = targets_from(&items, id_path, state_path, reason_path, ret);
	free(items.nodes);
	return r;
}

int elb_query_instance_health(struct query *q, const char *lb)
{
	int r = query_init(q, AWS_SVC_ELB, "DescribeInstanceHealth");

	if (r < 0)
		return r;
	query_add(q, "LoadBalancerName", lb);
	return q->error;
}

int elbv2_query_target_health(struct query *q, const char *target_group_arn)
{
	int r = query_init(q, AWS_SVC_ELBV2, "DescribeTargetHealth");

	if (r < 0)
		return r;
	query_add(q, "TargetGroupArn", target_group_arn);
	return q->error;
}

int elb_instance_health_parse(xmlDoc *doc, struct lb_targets *ret)
{
	return targets_from_doc(doc, "InstanceStates", "InstanceId", "State", "ReasonCode", ret);
}

int elbv2_target_health_parse(xmlDoc *doc, struct lb_targets *ret)
{
	return targets_from_doc(doc, "TargetHealthDescriptions", "Target/Id", "TargetHealth/State",
	                        "TargetHealth/Reason", ret);
}

void elbv2_target_groups_done(struct elbv2_target_groups *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].arn);
		free(t->v[i].name);
	}
	free(t->v);
	*t = (struct elbv2_target_groups){ 0 };
}

#define ELBV2_MAX_ARNS 20

int elbv2_describe_target_groups(struct aws_client *c, char *const *arns,
                                 struct elbv2_target_groups *ret, struct aws_error *err)
{
	_cleanup_(elbv2_target_groups_done) struct elbv2_target_groups out = { 0 };
	size_t n = strv_length(arns);
	int r;

	for (size_t start = 0; start < n; start += ELBV2_MAX_ARNS) {
		_cleanup_(query_items_done) struct query_items items = { 0 };
		struct query q = { 0 };
		_cleanup_query_ struct query *qp = &q;
		struct elbv2_target_group *v;

		r = query_init(&q, AWS_SVC_ELBV2, "DescribeTargetGroups");
		if (r < 0)
			return r;
		for (size_t i = start; i < n && i < start + ELBV2_MAX_ARNS; i++)
			query_addf(&q, arns[i], "TargetGroupArns.member.%zu", i - start + 1);
		r = aws_query_items(c, &q, "Marker", "NextMarker", "TargetGroups", &items, err);
		if (r < 0)
			return r;
		v = realloc(out.v, (out.n + items.n + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		out.v = v;
		for (size_t i = 0; i < items.n; i++) {
			struct elbv2_target_group *t = &out.v[out.n];

			*t = (struct elbv2_target_group){ 0 };
			if (xml_child_text(items.nodes[i], "TargetGroupArn", &t->arn) < 0)
				continue;
			out.n++;
			if (xml_child_text(items.nodes[i], "TargetGroupName", &t->name) < 0)
				t->name = strdup(t->arn);
			if (!t->name)
				return -ENOMEM;
		}
	}
	*ret = out;
	out = (struct elbv2_target_groups){ 0 };
	return 0;
}
