/* ECR's JSON 1.1 answers: the first byte picks GetAuthorizationToken's answer (the token is
 * base64 "user:password"), an error body, or a registry host from an image name. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "awsjson.h"
#include "ecr.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_error err = { 0 };
	char *text;

	if (size < 1)
		return 0;
	/* An exact-size copy: the parsers take a length and must not read past it. */
	text = malloc(size - 1 ? size - 1 : 1);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	if (data[0] % 3 == 0) {
		struct ecr_auth a = { 0 };

		if (ecr_auth_from_json(text, size - 1, &a, &err) == 0)
			ecr_auth_done(&a);
	} else if (data[0] % 3 == 1) {
		struct http_response resp = { .status = 400 };

		buf_init(&resp.body, 0);
		if (buf_append(&resp.body, text, size - 1) == 0)
			awsjson_parse_error(&resp, &err);
		buf_free(&resp.body);
	} else {
		char *host = strndup(text, size - 1), *account = NULL;

		if (host && ecr_parse_host(host, &account) == 0)
			free(account);
		free(host);
	}
	aws_error_clear(&err);
	free(text);
	return 0;
}
