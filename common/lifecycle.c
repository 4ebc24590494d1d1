#include <errno.h>
#include <string.h>

#include "lifecycle.h"
#include "query.h"
#include "strutil.h"
#include "xml.h"
#include "banned.h"

int asg_describe_instance_group(struct aws_client *c, const char *instance_id, char **ret_group,
                                char **ret_state, struct aws_error *err)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	struct query q;
	_cleanup_query_ struct query *qp = &q;
	char *ids[] = { (char *)instance_id, NULL };
	int r;

	r = query_init(&q, AWS_SVC_AUTOSCALING, "DescribeAutoScalingInstances");
	query_add_list(&q, "InstanceIds", ids);
	if (r == 0)
		r = aws_query(c, &q, &doc, err);
	if (r < 0)
		return r;
	r = asg_instance_group_parse(doc, ret_group, ret_state);
	if (r == -ENOENT)
		return aws_error_set(err, -ENOENT, NULL,
		                     "instance '%s' is in no Auto Scaling group", instance_id);
	return r;
}

int asg_instance_group_parse(xmlDoc *doc, char **ret_group, char **ret_state)
{
	_cleanup_free_ char *group = NULL, *state = NULL;
	xmlNode *m;
	int r;

	m = xml_path(xml_find(xmlDocGetRootElement(doc), "AutoScalingInstances"), "member");
	if (!m || xml_child_text(m, "AutoScalingGroupName", &group) < 0 || !*group)
		return -ENOENT;
	if (ret_state) {
		r = xml_child_text(m, "LifecycleState", &state);
		if (r == -ENOMEM)
			return r;
	}
	*ret_group = TAKE_PTR(group);
	if (ret_state)
		*ret_state = TAKE_PTR(state);
	return 0;
}

void asg_tags_done(struct asg_tags *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->tags[i].key);
		free(t->tags[i].value);
	}
	free(t->tags);
	*t = (struct asg_tags){ 0 };
}

const char *asg_tags_get(const struct asg_tags *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (streq(t->tags[i].key, key))
			return t->tags[i].value;
	return NULL;
}

/* AWS allows 50 tags per group; a reply with far more is not one we trust. */
#define ASG_TAGS_MAX 1000

static int tags_page(xmlDoc *doc, void *userdata)
{
	return asg_tags_add_page(doc, userdata);
}

int asg_tags_add_page(xmlDoc *doc, struct asg_tags *t)
{
	xmlNode *list = xml_find(xmlDocGetRootElement(doc), "Tags");

	XML_FOREACH_CHILD(m, list, "member") {
		_cleanup_free_ char *key = NULL, *value = NULL, *prop = NULL;
		struct asg_tag *n;

		if (xml_child_text(m, "Key", &key) < 0)
			continue;
		if (xml_child_text(m, "Value", &value) == -ENOMEM)
			return -ENOMEM;
		if (!value && !(value = strdup("")))
			return -ENOMEM;
		(void)xml_child_text(m, "PropagateAtLaunch", &prop);
		if (t->n >= ASG_TAGS_MAX)
			return -E2BIG;
		n = reallocarray(t->tags, t->n + 1, sizeof(*t->tags));
		if (!n)
			return -ENOMEM;
		t->tags = n;
		t->tags[t->n++] = (struct asg_tag){
			.key = TAKE_PTR(key),
			.value = TAKE_PTR(value),
			.propagate_at_launch = prop && streq(prop, "true"),
		};
	}
	return 0;
}

int asg_describe_group_tags(struct aws_client *c, const char *group, char *const *keys,
                            struct asg_tags *ret, struct aws_error *err)
{
	_cleanup_asg_tags_ struct asg_tags t = { 0 };
	struct query q;
	_cleanup_query_ struct query *qp = &q;
	int r;

	r = query_init(&q, AWS_SVC_AUTOSCALING, "DescribeTags");
	query_add(&q, "Filters.member.1.Name", "auto-scaling-group");
	query_add(&q, "Filters.member.1.Values.member.1", group);
	if (keys) {
		query_add(&q, "Filters.member.2.Name", "key");
		query_add_list(&q, "Filters.member.2.Values", keys);
	}
	if (r == 0)
		r = aws_query_pages(c, &q, "NextToken", "NextToken", 0, tags_page, &t, err);
	if (r < 0) {
		if (!err->code && !err->message)
			aws_error_set(err, r, NULL, "reading the tags of '%s': %s", group,
			              strerror(-r));
		return r;
	}
	asg_tags_done(ret);
	*ret = t;
	t = (struct asg_tags){ 0 };
	return 0;
}

void asg_lifecycle_hooks_done(struct asg_lifecycle_hooks *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++) {
		free(h->hooks[i].name);
		free(h->hooks[i].group);
		free(h->hooks[i].transition);
		free(h->hooks[i].default_result);
	}
	free(h->hooks);
	*h = (struct asg_lifecycle_hooks){ 0 };
}

static unsigned child_uint(const xmlNode *m, const char *name)
{
	_cleanup_free_ char *s = NULL;
	unsigned v = 0;

	if (xml_child_text(m, name, &s) < 0 || safe_atou(s, &v) < 0)
		return 0;
	return v;
}

/* AWS allows 50 hooks per group. */
#define ASG_HOOKS_MAX 100

int asg_describe_lifecycle_hooks(struct aws_client *c, const char *group,
                                 struct asg_lifecycle_hooks *ret, struct aws_error *err)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	struct query q;
	_cleanup_query_ struct query *qp = &q;
	int r;

	r = query_init(&q, AWS_SVC_AUTOSCALING, "DescribeLifecycleHooks");
	query_add(&q, "AutoScalingGroupName", group);
	if (r == 0)
		r = aws_query(c, &q, &doc, err);
	if (r < 0)
		return r;
	r = asg_lifecycle_hooks_parse(doc, group, ret);
	if (r == -E2BIG)
		return aws_error_set(err, r, NULL, "'%s' has over %d lifecycle hooks", group,
		                     ASG_HOOKS_MAX);
	return r;
}

int asg_lifecycle_hooks_parse(xmlDoc *doc, const char *group, struct asg_lifecycle_hooks *ret)
{
	_cleanup_asg_lifecycle_hooks_ struct asg_lifecycle_hooks h = { 0 };
	xmlNode *list;

	list = xml_find(xmlDocGetRootElement(doc), "LifecycleHooks");
	XML_FOREACH_CHILD(m, list, "member") {
		struct asg_lifecycle_hook k = { 0 }, *n;

		if (h.n >= ASG_HOOKS_MAX)
			return -E2BIG;
		if (xml_child_text(m, "LifecycleHookName", &k.name) < 0)
			continue;
		(void)xml_child_text(m, "AutoScalingGroupName", &k.group);
		(void)xml_child_text(m, "LifecycleTransition", &k.transition);
		(void)xml_child_text(m, "DefaultResult", &k.default_result);
		k.heartbeat_timeout = child_uint(m, "HeartbeatTimeout");
		k.global_timeout = child_uint(m, "GlobalTimeout");
		if (!k.group)
			k.group = strdup(group);
		if (!k.transition)
			k.transition = strdup("");
		if (!k.default_result)
			k.default_result = strdup("ABANDON");
		n = reallocarray(h.hooks, h.n + 1, sizeof(*h.hooks));
		if (!n || !k.group || !k.transition || !k.default_result) {
			free(k.name);
			free(k.group);
			free(k.transition);
			free(k.default_result);
			if (n)
				h.hooks = n;
			return -ENOMEM;
		}
		h.hooks = n;
		h.hooks[h.n++] = k;
	}
	asg_lifecycle_hooks_done(ret);
	*ret = h;
	h = (struct asg_lifecycle_hooks){ 0 };
	return 0;
}

static bool no_active_action(int r, const struct aws_error *err)
{
	return r == -EREMOTEIO && aws_error_is(err, "ValidationError") && err->message &&
	       strcasestr(err->message, "No active Lifecycle Action");
}

static int lifecycle_call(struct aws_client *c, const char *action, const char *group,
                          const char *hook, const char *instance_id, const char *result,
                          struct aws_error *err)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	struct query q;
	_cleanup_query_ struct query *qp = &q;
	int r;

	r = query_init(&q, AWS_SVC_AUTOSCALING, action);
	query_add(&q, "AutoScalingGroupName", group);
	query_add(&q, "LifecycleHookName", hook);
	query_add(&q, "InstanceId", instance_id);
	if (result)
		query_add(&q, "LifecycleActionResult", result);
	if (r == 0)
		r = aws_query(c, &q, &doc, err);
	if (no_active_action(r, err))
		return ASG_ACTION_NOT_ACTIVE;
	return r;
}

int asg_complete_lifecycle_action(struct aws_client *c, const char *group, const char *hook,
                                  const char *instance_id, const char *result,
                                  struct aws_error *err)
{
	if (!streq(result, "CONTINUE") && !streq(result, "ABANDON"))
		return aws_error_set(err, -EINVAL, NULL,
		                     "lifecycle result '%s' is not CONTINUE or ABANDON", result);
	return lifecycle_call(c, "CompleteLifecycleAction", group, hook, instance_id, result, err);
}

int asg_record_lifecycle_heartbeat(struct aws_client *c, const char *group, const char *hook,
                                   const char *instance_id, struct aws_error *err)
{
	return lifecycle_call(c, "RecordLifecycleActionHeartbeat", group, hook, instance_id, NULL,
	                      err);
}

int asg_set_instance_health(struct aws_client *c, const char *instance_id, bool healthy,
                            bool respect_grace, struct aws_error *err)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	struct query q;
	_cleanup_query_ struct query *qp = &q;
	int r;

	r = query_init(&q, AWS_SVC_AUTOSCALING, "SetInstanceHealth");
	query_add(&q, "InstanceId", instance_id);
	query_add(&q, "HealthStatus", healthy ? "Healthy" : "Unhealthy");
	query_add_bool(&q, "ShouldRespectGracePeriod", respect_grace);
	if (r == 0)
		r = aws_query(c, &q, &doc, err);
	return r;
}
