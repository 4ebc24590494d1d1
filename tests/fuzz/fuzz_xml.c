/* AWS Query responses: parsing, the lookups every typed call makes, and both error shapes. */
#include <stddef.h>
#include <stdint.h>

#include "query.h"
#include "xml.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "member", "NextToken",         "Credentials",
		                             "Error",  "AutoScalingGroups", "Tags" };
	struct http_response resp = { .status = 400 };
	struct aws_error err = { 0 };
	xmlDoc *doc = NULL;

	if (xml_parse((const char *)data, size, &doc) == 0) {
		xmlNode *root = xmlDocGetRootElement(doc);

		for (size_t i = 0; i < ELEMENTSOF(names); i++) {
			xmlNode *n = xml_find(root, names[i]);
			char *t = xml_text(n);

			free(t);
			XML_FOREACH_CHILD(c, n, "member")
				free(xml_text(xml_child(c, "Key")));
		}
		free(xml_text(xml_path(root, "DescribeAutoScalingGroupsResult/AutoScalingGroups")));
		xmlFreeDoc(doc);
	}
	buf_init(&resp.body, 0);
	if (buf_append(&resp.body, data, size) == 0)
		query_parse_error(&resp, &err);
	aws_error_clear(&err);
	buf_free(&resp.body);
	return 0;
}
