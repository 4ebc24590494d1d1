#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ec2.h"
#include "query.h"
#include "strutil.h"
#include "banned.h"

#define EC2_MAX_IDS 100

static int append_states(xmlDoc *doc, void *userdata)
{
	return ec2_instance_states_parse(doc, userdata);
}

int ec2_instance_states_parse(xmlDoc *doc, struct lb_targets *t)
{
	xmlNode *root = xmlDocGetRootElement(doc);

	XML_FOREACH_CHILD(res, xml_child(root, "reservationSet"), "item")
		XML_FOREACH_CHILD(in, xml_child(res, "instancesSet"), "item") {
			struct lb_target *v = realloc(t->v, (t->n + 1) * sizeof(*v));

			if (!v)
				return -ENOMEM;
			t->v = v;
			v[t->n] = (struct lb_target){ 0 };
			if (xml_child_text(in, "instanceId", &v[t->n].id) < 0)
				continue;
			v[t->n].state = xml_text(xml_path(in, "instanceState/name"));
			t->n++;
			if (!v[t->n - 1].state)
				return -ENOMEM;
		}
	return 0;
}

static int describe(struct aws_client *c, char *const *ids, size_t n, struct lb_targets *t,
                    struct aws_error *err)
{
	struct query q = { 0 };
	_cleanup_query_ struct query *qp = &q;
	int r = query_init(&q, AWS_SVC_EC2, "DescribeInstances");

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		query_addf(&q, ids[i], "InstanceId.%zu", i + 1);
	return aws_query_pages(c, &q, "NextToken", "nextToken", 0, append_states, t, err);
}

int ec2_describe_instance_states(struct aws_client *c, char *const *ids, struct lb_targets *ret,
                                 struct aws_error *err)
{
	_cleanup_(lb_targets_done) struct lb_targets t = { 0 };
	size_t n = strv_length(ids);
	int r;

	for (size_t start = 0; start < n; start += EC2_MAX_IDS) {
		size_t k = MIN(n - start, (size_t)EC2_MAX_IDS);

		r = describe(c, ids + start, k, &t, err);
		if (r == -EREMOTEIO && aws_error_is(err, "InvalidInstanceID.NotFound")) {
			/* One unknown id fails the whole call: ask about each alone. */
			for (size_t i = start; i < start + k; i++) {
				r = describe(c, ids + i, 1, &t, err);
				if (r == -EREMOTEIO &&
				    aws_error_is(err, "InvalidInstanceID.NotFound"))
					r = 0;
				if (r < 0)
					return r;
			}
		} else if (r < 0)
			return r;
	}
	aws_error_clear(err);
	*ret = t;
	t = (struct lb_targets){ 0 };
	return 0;
}
