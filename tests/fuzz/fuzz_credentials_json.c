/* Credentials JSON from IMDS and container endpoints, and the ISO 8601 expiry in it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "creds.h"
#include "timeutil.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_credentials c = { 0 };
	struct aws_error err = { 0 };
	char *text = strndup((const char *)data, size);
	time_t t;

	if (!text)
		return 0;
	if (aws_credentials_from_json(text, "fuzz", &c, &err) == 0)
		aws_credentials_done(&c);
	aws_error_clear(&err);
	(void)parse_iso8601(text, &t);
	free(text);
	return 0;
}
