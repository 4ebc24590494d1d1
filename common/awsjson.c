#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "awsjson.h"
#include "jsonutil.h"
#include "strutil.h"
#include "banned.h"

void awsjson_parse_error(const struct http_response *r, struct aws_error *err)
{
	_cleanup_json_ cJSON *j = NULL;
	const cJSON *type, *msg;
	const char *code, *hash;

	if (r->body.data)
		j = cJSON_ParseWithLength(r->body.data, r->body.len);
	type = cJSON_GetObjectItemCaseSensitive(j, "__type");
	msg = cJSON_GetObjectItemCaseSensitive(j, "message");
	if (!cJSON_IsString(msg))
		msg = cJSON_GetObjectItemCaseSensitive(j, "Message");
	if (!cJSON_IsString(type)) {
		aws_error_set(err, 0, NULL, "HTTP %ld with a body that is not an AWS error",
		              r->status);
		return;
	}
	code = type->valuestring;
	hash = strrchr(code, '#');
	if (hash)
		code = hash + 1;
	free(err->code);
	err->code = strdup(code);
	free(err->message);
	err->message = cJSON_IsString(msg) ? strdup(msg->valuestring) : NULL;
	if (!err->request_id) {
		const char *id = http_response_header(r, "x-amzn-RequestId");

		err->request_id = id ? strdup(id) : NULL;
	}
}

static int call(struct aws_client *c, const char *content_type, enum aws_service service,
                const char *target_prefix, const char *action, const cJSON *request,
                size_t max_response, bool sensitive, long deadline_ms, unsigned max_attempts,
                cJSON **ret, struct aws_error *err)
{
	_cleanup_free_ char *body = NULL, *target = NULL;
	struct http_response resp;
	cJSON *j;
	int r;

	body = request ? cJSON_PrintUnformatted(request) : strdup("{}");
	if (!body || asprintf(&target, "%s.%s", target_prefix, action) < 0)
		return -ENOMEM;
	struct aws_call call = {
		.service = service,
		.action = action,
		.content_type = content_type,
		.target = target,
		.body = body,
		.body_len = strlen(body),
		.max_response = max_response,
		.deadline_ms = deadline_ms,
		.max_attempts = max_attempts,
		.sensitive = sensitive,
		.parse_error = awsjson_parse_error,
	};
	r = aws_call(c, &call, &resp, err);
	if (r < 0) {
		http_response_done(&resp);
		return r;
	}
	j = cJSON_ParseWithLength(resp.body.data ? resp.body.data : "", resp.body.len);
	http_response_done(&resp);
	if (!cJSON_IsObject(j)) {
		if (sensitive)
			json_wipe(j);
		cJSON_Delete(j);
		return aws_error_set(err, -EBADMSG, NULL, "%s: the answer is not a JSON object",
		                     action);
	}
	*ret = j;
	return 0;
}

int awsjson_call(struct aws_client *c, enum aws_service service, const char *target_prefix,
                 const char *action, const cJSON *request, size_t max_response, bool sensitive,
                 cJSON **ret, struct aws_error *err)
{
	return call(c, "application/x-amz-json-1.1", service, target_prefix, action, request,
	            max_response, sensitive, 0, 0, ret, err);
}

int awsjson10_call(struct aws_client *c, enum aws_service service, const char *target_prefix,
                   const char *action, const cJSON *request, size_t max_response, bool sensitive,
                   cJSON **ret, struct aws_error *err)
{
	return call(c, "application/x-amz-json-1.0", service, target_prefix, action, request,
	            max_response, sensitive, 0, 0, ret, err);
}

int awsjson_call_within(struct aws_client *c, enum aws_service service, const char *target_prefix,
                        const char *action, const cJSON *request, size_t max_response,
                        long deadline_ms, unsigned max_attempts, cJSON **ret, struct aws_error *err)
{
	return call(c, "application/x-amz-json-1.1", service, target_prefix, action, request,
	            max_response, false, deadline_ms, max_attempts, ret, err);
}
