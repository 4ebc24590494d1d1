#include <errno.h>
#include <string.h>

#include "awsjson.h"
#include "jsonutil.h"
#include "secretsmanager.h"
#include "strutil.h"
#include "banned.h"

/* A 64 KiB secret, escaped as JSON at worst 6 bytes for 1, and the rest of the answer. */
#define SECRETSMANAGER_MAX_RESPONSE ((size_t)512 << 10)

int secretsmanager_value_from_json(const cJSON *j, const char *secret_id, const char *json_key,
                                   char **ret, struct aws_error *err)
{
	_cleanup_(json_wipe_and_deletep) cJSON *inner = NULL;
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "SecretString");
	const cJSON *v;
	char *out;

	if (!s && cJSON_GetObjectItemCaseSensitive(j, "SecretBinary"))
		return aws_error_set(err, -EMEDIUMTYPE, NULL, "secret '%s' is binary, not a string",
		                     secret_id);
	if (!cJSON_IsString(s))
		return aws_error_set(err, -EBADMSG, NULL,
		                     "GetSecretValue: no SecretString for '%s' in the answer",
		                     secret_id);
	if (strlen(s->valuestring) > SECRETSMANAGER_VALUE_MAX)
		return aws_error_set(err, -EBADMSG, NULL, "secret '%s' is longer than 64 KiB",
		                     secret_id);
	v = s;
	if (json_key) {
		inner = cJSON_Parse(s->valuestring);
		if (!cJSON_IsObject(inner))
			return aws_error_set(err, -EMEDIUMTYPE, NULL,
			                     "secret '%s' does not hold a JSON object", secret_id);
		v = cJSON_GetObjectItemCaseSensitive(inner, json_key);
		if (!v)
			return aws_error_set(err, -ENOENT, NULL, "secret '%s' has no key '%s'",
			                     secret_id, json_key);
		if (!cJSON_IsString(v))
			return aws_error_set(err, -EMEDIUMTYPE, NULL,
			                     "key '%s' of secret '%s' is not a string", json_key,
			                     secret_id);
	}
	out = strdup(v->valuestring);
	if (!out)
		return -ENOMEM;
	*ret = out;
	return 0;
}

int secretsmanager_get_secret_value(struct aws_client *c, const char *secret_id,
                                    const char *json_key, char **ret, struct aws_error *err)
{
	_cleanup_json_ cJSON *req = cJSON_CreateObject();
	_cleanup_(json_wipe_and_deletep) cJSON *resp = NULL;
	int r;

	if (!req || !cJSON_AddStringToObject(req, "SecretId", secret_id))
		return -ENOMEM;
	r = awsjson_call(c, AWS_SVC_SECRETSMANAGER, "secretsmanager", "GetSecretValue", req,
	                 SECRETSMANAGER_MAX_RESPONSE, true, &resp, err);
	if (r < 0)
		return r;
	return secretsmanager_value_from_json(resp, secret_id, json_key, ret, err);
}
