/*
 * The AWS Query answers we read, each through its typed parser: the first byte picks the
 * shape, the rest is the document (the corpus names each file after its shape).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaling.h"
#include "creds.h"
#include "ec2.h"
#include "elb.h"
#include "lifecycle.h"
#include "query.h"
#include "sts.h"
#include "xml.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum shape {
	SHAPE_GROUPS,
	SHAPE_TAGS,
	SHAPE_POLICIES,
	SHAPE_SCHEDULED_ACTIONS,
	SHAPE_INSTANCE_HEALTH,
	SHAPE_TARGET_HEALTH,
	SHAPE_ERROR,
	SHAPE_STS,
	SHAPE_EC2_INSTANCES,
	SHAPE_INSTANCE_GROUP,
	SHAPE_LIFECYCLE_HOOKS,
	SHAPE_COUNT,
};

static void groups(xmlDoc *doc)
{
	XML_FOREACH_CHILD(m, xml_find(xmlDocGetRootElement(doc), "AutoScalingGroups"), "member") {
		struct asg_group g;

		if (asg_group_parse(m, &g) == 0) {
			(void)asg_group_tag(&g, "docker:image:name");
			(void)asg_group_suspended(&g, "Launch");
			asg_group_done(&g);
		}
	}
}

static const char *rewrite(void *userdata, const char *key, const char *name, const char *value)
{
	(void)userdata;
	(void)key;
	return strcmp(name, "StartTime") == 0 ? NULL : value;
}

/* Policies and scheduled actions are copied to the other group's Put call (whose answer
 * names the new policy's ARN). */
static void put_calls(xmlDoc *doc, bool policies)
{
	_cleanup_(query_items_done) struct query_items items = { 0 };

	if (query_items_add(&items, doc,
	                    policies ? ASG_POLICIES_LIST : ASG_SCHEDULED_ACTIONS_LIST) < 0)
		return;
	for (size_t i = 0; i < items.n; i++) {
		struct query q = { 0 };

		if (policies)
			(void)asg_query_put_policy_from_xml(&q, "blue", items.nodes[i]);
		else
			(void)asg_query_put_scheduled_action_from_xml(&q, "blue", items.nodes[i],
			                                              rewrite, NULL);
		query_done(&q);
	}
	if (policies) {
		char *arn = NULL;

		if (asg_policy_arn_parse(doc, &arn) == 0)
			free(arn);
	}
}

static void targets(xmlDoc *doc, enum shape s)
{
	_cleanup_(lb_targets_done) struct lb_targets t = { 0 };
	int r = s == SHAPE_INSTANCE_HEALTH ? elb_instance_health_parse(doc, &t)
	        : s == SHAPE_TARGET_HEALTH ? elbv2_target_health_parse(doc, &t)
	                                   : ec2_instance_states_parse(doc, &t);

	if (r == 0)
		(void)lb_targets_state(&t, "i-0123456789abcdef0");
}

static void typed(xmlDoc *doc, enum shape s)
{
	switch (s) {
	case SHAPE_GROUPS:
		groups(doc);
		break;
	case SHAPE_TAGS: {
		_cleanup_asg_tags_ struct asg_tags t = { 0 };

		if (asg_tags_add_page(doc, &t) == 0)
			(void)asg_tags_get(&t, "docker:image:version");
		break;
	}
	case SHAPE_POLICIES:
	case SHAPE_SCHEDULED_ACTIONS:
		put_calls(doc, s == SHAPE_POLICIES);
		break;
	case SHAPE_INSTANCE_HEALTH:
	case SHAPE_TARGET_HEALTH:
	case SHAPE_EC2_INSTANCES:
		targets(doc, s);
		break;
	case SHAPE_STS: {
		struct aws_credentials c = { 0 };
		struct aws_error err = { 0 };

		char *arn = NULL;

		if (aws_credentials_from_sts(doc, "fuzz", &c, &err) == 0)
			aws_credentials_done(&c);
		aws_error_clear(&err);
		if (sts_caller_arn_from_xml(doc, &arn, &err) == 0 && strncmp(arn, "arn:", 4) != 0)
			abort();
		free(arn);
		aws_error_clear(&err);
		break;
	}
	case SHAPE_INSTANCE_GROUP: {
		char *group = NULL, *state = NULL;

		if (asg_instance_group_parse(doc, &group, &state) == 0) {
			free(group);
			free(state);
		}
		break;
	}
	case SHAPE_LIFECYCLE_HOOKS: {
		_cleanup_asg_lifecycle_hooks_ struct asg_lifecycle_hooks h = { 0 };

		(void)asg_lifecycle_hooks_parse(doc, "blue", &h);
		break;
	}
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum shape s;

	if (size < 1)
		return 0;
	s = (enum shape)(data[0] % SHAPE_COUNT);
	data++;
	size--;
	if (s == SHAPE_ERROR) {
		struct http_response resp = { .status = 400 };
		struct aws_error err = { 0 };

		buf_init(&resp.body, 0);
		if (buf_append(&resp.body, data, size) == 0)
			query_parse_error(&resp, &err);
		aws_error_clear(&err);
		buf_free(&resp.body);
	} else {
		_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;

		if (xml_parse((const char *)data, size, &doc) == 0)
			typed(doc, s);
	}
	return 0;
}
