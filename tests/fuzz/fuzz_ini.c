/* The shared AWS config and credentials files. */
#include <stddef.h>
#include <stdint.h>

#include "ini.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ini_error e = { 0 };
	struct ini *ini = NULL;

	if (ini_parse((const char *)data, size, &ini, &e) == 0) {
		for (size_t i = 0; i < ini_section_count(ini); i++) {
			const char *s = ini_section_name(ini, i);

			(void)ini_get(ini, s, "aws_access_key_id");
			(void)ini_get_sub(ini, s, "s3", "endpoint_url");
			(void)ini_section_size(ini, s);
		}
		ini_free(ini);
	}
	return 0;
}
