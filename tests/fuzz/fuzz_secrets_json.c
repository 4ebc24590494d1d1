/* The JSON 1.1 answers that carry the container's secrets: the first byte picks an SSM
 * GetParametersByPath page, a Secrets Manager GetSecretValue answer (with or without a JSON
 * key), or an error body of the JSON protocol. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "awsjson.h"
#include "jsonutil.h"
#include "secretsmanager.h"
#include "ssm.h"
#include "strutil.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_error err = { 0 };
	cJSON *j;

	if (size < 1)
		return 0;
	if (data[0] % 4 == 3) {
		struct http_response resp = { .status = 400 };

		buf_init(&resp.body, 0);
		if (buf_append(&resp.body, data + 1, size - 1) == 0)
			awsjson_parse_error(&resp, &err);
		buf_free(&resp.body);
		aws_error_clear(&err);
		return 0;
	}
	j = cJSON_ParseWithLength((const char *)data + 1, size - 1);
	if (data[0] % 4 == 0) {
		struct ssm_parameters p = { 0 };
		char *next = NULL;

		if (ssm_page_from_json(j, "/app/prod", &p, &next, &err) == 0) {
			for (size_t i = 0; i < p.n; i++)
				if (!startswith(p.v[i].name, "/app/prod/") ||
				    !*ssm_parameter_basename(p.v[i].name))
					abort();
			free(next);
		}
		ssm_parameters_done(&p);
	} else {
		char *v = NULL;

		if (secretsmanager_value_from_json(
		            j, "app/db", data[0] % 4 == 2 ? "password" : NULL, &v, &err) == 0)
			secret_free(v);
	}
	json_wipe(j);
	cJSON_Delete(j);
	aws_error_clear(&err);
	return 0;
}
