#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaling.h"
#include "strutil.h"
#include "banned.h"

void asg_group_done(struct asg_group *g)
{
	if (!g)
		return;
	free(g->name);
	free(g->arn);
	for (size_t i = 0; i < g->n_instances; i++) {
		free(g->instances[i].id);
		free(g->instances[i].lifecycle);
		free(g->instances[i].health);
		free(g->instances[i].az);
	}
	free(g->instances);
	strv_free(g->load_balancers);
	strv_free(g->target_groups);
	strv_free(g->suspended);
	for (size_t i = 0; i < g->n_tags; i++) {
		free(g->tags[i].key);
		free(g->tags[i].value);
	}
	free(g->tags);
	*g = (struct asg_group){ 0 };
}

void asg_groups_done(struct asg_groups *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++)
		asg_group_done(&g->v[i]);
	free(g->v);
	*g = (struct asg_groups){ 0 };
}

const char *asg_group_tag(const struct asg_group *g, const char *key)
{
	for (size_t i = 0; i < g->n_tags; i++)
		if (streq(g->tags[i].key, key))
			return g->tags[i].value;
	return NULL;
}

bool asg_group_suspended(const struct asg_group *g, const char *process)
{
	STRV_FOREACH(p, g->suspended)
		if (streq(*p, process))
			return true;
	return false;
}

static int child_uint(const xmlNode *n, const char *name, unsigned *ret)
{
	_cleanup_free_ char *t = NULL;
	int r = xml_child_text(n, name, &t);

	if (r < 0)
		return r == -ENOENT ? -EBADMSG : r;
	return safe_atou(t, ret) < 0 ? -EBADMSG : 0;
}

static int child_strv(const xmlNode *n, const char *list, const char *field, char ***ret)
{
	XML_FOREACH_CHILD(m, xml_child(n, list), "member") {
		char *s = field ? NULL : xml_text(m);

		if (field && xml_child_text(m, field, &s) < 0)
			continue;
		if (!s || strv_push(ret, s) < 0)
			return -ENOMEM;
	}
	return 0;
}

int asg_group_parse(const xmlNode *m, struct asg_group *ret)
{
	_cleanup_(asg_group_done) struct asg_group g = { 0 };
	xmlNode *list;
	int r;

	if (xml_child_text(m, "AutoScalingGroupName", &g.name) < 0)
		return -EBADMSG;
	(void)xml_child_text(m, "AutoScalingGroupARN", &g.arn);
	if (child_uint(m, "MinSize", &g.min) < 0 || child_uint(m, "MaxSize", &g.max) < 0 ||
	    child_uint(m, "DesiredCapacity", &g.desired) < 0)
		return -EBADMSG;
	list = xml_child(m, "Instances");
	XML_FOREACH_CHILD(i, list, "member")
		g.n_instances++;
	if (g.n_instances) {
		g.instances = calloc(g.n_instances, sizeof(*g.instances));
		if (!g.instances)
			return -ENOMEM;
	}
	size_t k = 0;
	XML_FOREACH_CHILD(i, list, "member") {
		struct asg_instance *in = &g.instances[k++];
		_cleanup_free_ char *prot = NULL;

		if (xml_child_text(i, "InstanceId", &in->id) < 0 ||
		    xml_child_text(i, "LifecycleState", &in->lifecycle) < 0)
			return -EBADMSG;
		if (xml_child_text(i, "HealthStatus", &in->health) < 0)
			in->health = strdup("Healthy");
		(void)xml_child_text(i, "AvailabilityZone", &in->az);
		if (xml_child_text(i, "ProtectedFromScaleIn", &prot) == 0)
			in->protected_from_scale_in = streq(prot, "true");
		if (!in->health)
			return -ENOMEM;
	}
	r = child_strv(m, "LoadBalancerNames", NULL, &g.load_balancers);
	if (r == 0)
		r = child_strv(m, "TargetGroupARNs", NULL, &g.target_groups);
	if (r == 0)
		r = child_strv(m, "SuspendedProcesses", "ProcessName", &g.suspended);
	if (r < 0)
		return r;
	/* WarmPoolConfiguration is present (with members) only when the group has a pool. */
	list = xml_child(m, "WarmPoolConfiguration");
	g.warm_pool = list && list->children && xml_child(list, "PoolState") != NULL;
	if (!g.warm_pool && list && xml_child(list, "MaxGroupPreparedCapacity"))
		g.warm_pool = true;
	if (!g.warm_pool) {
		_cleanup_free_ char *ws = NULL;

		if (xml_child_text(m, "WarmPoolSize", &ws) == 0 && *ws && !streq(ws, "0"))
			g.warm_pool = true;
	}
	list = xml_child(m, "Tags");
	XML_FOREACH_CHILD(t, list, "member")
		g.n_tags++;
	if (g.n_tags) {
		g.tags = calloc(g.n_tags, sizeof(*g.tags));
		if (!g.tags)
			return -ENOMEM;
	}
	k = 0;
	XML_FOREACH_CHILD(t, list, "member") {
		struct asg_group_tag *tag = &g.tags[k++];
		_cleanup_free_ char *prop = NULL;

		if (xml_child_text(t, "Key", &tag->key) < 0)
			return -EBADMSG;
		if (xml_child_text(t, "Value", &tag->value) < 0)
			tag->value = strdup("");
		if (!tag->value)
			return -ENOMEM;
		if (xml_child_text(t, "PropagateAtLaunch", &prop) == 0)
			tag->propagate = streq(prop, "true");
	}
	*ret = g;
	g = (struct asg_group){ 0 };
	return 0;
}

struct groups_ctx {
	struct asg_groups *groups;
	const char *key, *value;
};

static int groups_page(xmlDoc *doc, void *userdata)
{
	struct groups_ctx *ctx = userdata;
	xmlNode *list = xml_find(xmlDocGetRootElement(doc), "AutoScalingGroups");
	int r;

	XML_FOREACH_CHILD(m, list, "member") {
		struct asg_group g;
		struct asg_group *v;
		const char *tv;

		r = asg_group_parse(m, &g);
		if (r < 0)
			return r;
		/* The filter does the work; this check keeps a server that ignores it honest. */
		tv = asg_group_tag(&g, ctx->key);
		if (!tv || (ctx->value && !streq(tv, ctx->value))) {
			asg_group_done(&g);
			continue;
		}
		v = realloc(ctx->groups->v, (ctx->groups->n + 1) * sizeof(*v));
		if (!v) {
			asg_group_done(&g);
			return -ENOMEM;
		}
		ctx->groups->v = v;
		v[ctx->groups->n++] = g;
	}
	return 0;
}

static int group_cmp(const void *a, const void *b)
{
	return strcmp(((const struct asg_group *)a)->name, ((const struct asg_group *)b)->name);
}

int asg_describe_groups_by_tag(struct aws_client *c, const char *key, const char *value,
                               struct asg_groups *ret, struct aws_error *err)
{
	_cleanup_(asg_groups_done) struct asg_groups groups = { 0 };
	struct query q = { 0 };
	_cleanup_query_ struct query *qp = &q;
	_cleanup_free_ char *filter = NULL;
	struct groups_ctx ctx = { &groups, key, value };
	int r;

	if (value ? asprintf(&filter, "tag:%s", key) < 0 : !(filter = strdup("tag-key")))
		return -ENOMEM;
	r = query_init(&q, AWS_SVC_AUTOSCALING, "DescribeAutoScalingGroups");
	if (r < 0)
		return r;
	query_add(&q, "Filters.member.1.Name", filter);
	query_add(&q, "Filters.member.1.Values.member.1", value ? value : key);
	query_add_uint(&q, "MaxRecords", 100);
	r = aws_query_pages(c, &q, "NextToken", "NextToken", 0, groups_page, &ctx, err);
	if (r < 0)
		return r;
	if (groups.n > 1)
		qsort(groups.v, groups.n, sizeof(*groups.v), group_cmp);
	*ret = groups;
	groups = (struct asg_groups){ 0 };
	return 0;
}

/* Sends q and discards the answer. */
static int send_query(struct aws_client *c, struct query *q, struct aws_error *err)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;

	return aws_query(c, q, &doc, err);
}

static int asg_query_set_tag(struct query *q, const char *group, const char *key, const char *value,
                             bool propagate)
{
	int r = query_init(q, AWS_SVC_AUTOSCALING, "CreateOrUpdateTags");

	if (r < 0)
		return r;
	query_add(q, "Tags.member.1.ResourceId", group);
	query_add(q, "Tags.member.1.ResourceType", "auto-scaling-group");
	query_add(q, "Tags.member.1.Key", key);
	query_add(q, "Tags.member.1.Value", value);
	query_add_bool(q, "Tags.member.1.PropagateAtLaunch", propagate);
	return q->error;
}

int asg_set_tag(struct aws_client *c, const char *group, const char *key, const char *value,
                bool propagate, struct aws_error *err)
{
	struct query q = { 0 };
	_cleanup_query_ struct query *qp = &q;
	int r = asg_query_set_tag(&q, group, key, value, propagate);

	return r < 0 ? r : send_query(c, &q, err);
}

int asg_query_delete_tags(struct query *q, const char *group, char *const *keys)
{
	size_t i = 0;
	int r = query_init(q, AWS_SVC_AUTOSCALING, "DeleteTags");

	if (r < 0)
		return r;
	STRV_FOREACH(k, keys) {
		i++;
		query_addf(q, group, "Tags.member.%zu.ResourceId", i);
		query_addf(q, "auto-scaling-group", "Tags.member.%zu.ResourceType", i);
		query_addf(q, *k, "Tags.member.%zu.Key", i);
	}
	return q->error;
}

int asg_delete_tags(struct aws_client *c, const char *group, char *const *keys,
                    struct aws_error *err)
{
	struct query q = { 0 };
	_cleanup_query_ struct query *qp = &q;
	int r;

	if (strv_length(keys) == 0)
		return 0;
	r = asg_query_delete_tags(&q, group, keys);
	return r < 0 ? r : send_query(c, &q, err);
}

static int query_of_group(struct query *q, const char *action, const char *group)
{
	int r = query_init(q, AWS_SVC_AUTOSCALING, action);

	if (r < 0)
		return r;
	query_add(q, "AutoScalingGroupName", group);
	return q->error;
}

int asg_query_describe_policies(struct query *q, const char *group)
{
	return query_of_group(q, "DescribePolicies", group);
}

int asg_query_describe_scheduled_actions(struct query *q, const char *group)
{
	return query_of_group(q, "DescribeScheduledActions", group);
}

/* Output-only fields of DescribePolicies and DescribeScheduledActions members, and the
 * group name (set explicitly). MinAdjustmentStep is the deprecated twin of
 * MinAdjustmentMagnitude; Time the deprecated twin of StartTime. */
static const char *const policy_skip[] = { "AutoScalingGroupName", "PolicyARN",   "Alarms",
	                                   "MinAdjustmentStep",    "CreatedTime", NULL };
static const char *const action_skip[] = { "AutoScalingGroupName", "ScheduledActionARN", "Time",
	                                   NULL };

int asg_query_put_policy_from_xml(struct query *q, const char *group, const xmlNode *policy)
{
	int r = query_of_group(q, "PutScalingPolicy", group);

	if (r < 0)
		return r;
	r = query_add_from_xml(q, NULL, policy, policy_skip, NULL, NULL);
	return r < 0 ? r : q->error;
}

int asg_policy_arn_parse(xmlDoc *doc, char **ret)
{
	char *arn = xml_text(xml_find(xmlDocGetRootElement(doc), "PolicyARN"));

	if (!arn)
		return -EBADMSG;
	if (!*arn) {
		free(arn);
		return -EBADMSG;
	}
	*ret = arn;
	return 0;
}

int asg_query_put_scheduled_action_from_xml(struct query *q, const char *group,
                                            const xmlNode *action, query_rewrite_fn rewrite,
                                            void *userdata)
{
	int r = query_of_group(q, "PutScheduledUpdateGroupAction", group);

	if (r < 0)
		return r;
	r = query_add_from_xml(q, NULL, action, action_skip, rewrite, userdata);
	return r < 0 ? r : q->error;
}

/* DeletePolicy and DeleteScheduledAction: a group and the name of what goes. */
static int query_delete_named(struct query *q, const char *action, const char *group,
                              const char *key, const char *name)
{
	int r = query_of_group(q, action, group);

	if (r < 0)
		return r;
	query_add(q, key, name);
	return q->error;
}

int asg_query_delete_policy(struct query *q, const char *group, const char *policy)
{
	return query_delete_named(q, "DeletePolicy", group, "PolicyName", policy);
}

int asg_query_delete_scheduled_action(struct query *q, const char *group, const char *action)
{
	return query_delete_named(q, "DeleteScheduledAction", group, "ScheduledActionName", action);
}
