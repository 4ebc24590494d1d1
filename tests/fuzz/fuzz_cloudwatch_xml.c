/* CloudWatch DescribeAlarms answers through cw_alarms_parse(): metric alarms (with metric
 * math), composite alarms, missing and hostile fields. */
#include <stddef.h>
#include <stdint.h>

#include "cloudwatch.h"
#include "xml.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	_cleanup_(cw_alarms_done) struct cw_alarms a = { 0 };

	if (xml_parse((const char *)data, size, &doc) < 0)
		return 0;
	if (cw_alarms_parse(doc, &a) == 0)
		(void)cw_alarms_find(&a, "web-5xx");
	return 0;
}
