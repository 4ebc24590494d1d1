/* The PutEvents answer: the first byte is the number of entries sent (1 to 10), the rest the
 * JSON document; a failure must come with a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "events.h"
#include "jsonutil.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_error err = { 0 };
	cJSON *j;
	int r;

	if (size < 1)
		return 0;
	j = cJSON_ParseWithLength((const char *)data + 1, size - 1);
	r = events_check_response(j, 1 + data[0] % EVENTS_MAX_ENTRIES, &err);
	if (r < 0 && !err.message)
		abort();
	cJSON_Delete(j);
	aws_error_clear(&err);
	return 0;
}
