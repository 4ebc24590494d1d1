#include <errno.h>
#include <string.h>

#include "awsjson.h"
#include "jsonutil.h"
#include "ssm.h"
#include "strutil.h"
#include "banned.h"

/* Ten parameters a page at most, each value at most 8 KiB (advanced tier), as JSON. */
#define SSM_MAX_RESPONSE ((size_t)512 << 10)

void ssm_parameters_done(struct ssm_parameters *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].name);
		secret_free(p->v[i].value);
	}
	free(p->v);
	*p = (struct ssm_parameters){ 0 };
}

const char *ssm_parameter_basename(const char *name)
{
	const char *slash = strrchr(name, '/');

	return slash ? slash + 1 : name;
}

/* Whether name lies under path: path's components, then at least one more, none empty
 * (so that the last one can name a variable). */
static bool under(const char *name, const char *path)
{
	size_t n = strlen(path), len = strlen(name);

	while (n > 0 && path[n - 1] == '/')
		n--;
	if (strncmp(name, path, n) != 0 || name[n] != '/' || name[len - 1] == '/')
		return false;
	return !strstr(name + n, "//");
}

int ssm_page_from_json(const cJSON *j, const char *path, struct ssm_parameters *p, char **ret_next,
                       struct aws_error *err)
{
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(j, "Parameters");
	const cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "NextToken");
	const cJSON *item;

	if (!cJSON_IsArray(params))
		return aws_error_set(err, -EBADMSG, NULL,
		                     "GetParametersByPath: no Parameters list in the answer");
	if (next && !cJSON_IsNull(next) && !(cJSON_IsString(next) && *next->valuestring))
		return aws_error_set(err, -EBADMSG, NULL,
		                     "GetParametersByPath: a NextToken that is not a string");
	cJSON_ArrayForEach(item, params)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "Name");
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(item, "Value");
		struct ssm_parameter *v;

		if (!cJSON_IsString(name) || !under(name->valuestring, path) ||
		    strlen(name->valuestring) > 2048)
			return aws_error_set(
			        err, -EBADMSG, NULL,
			        "GetParametersByPath: a parameter that is not under '%s'", path);
		if (!cJSON_IsString(value) || strlen(value->valuestring) > SSM_VALUE_MAX)
			return aws_error_set(
			        err, -EBADMSG, NULL,
			        "GetParametersByPath: parameter '%s' has no usable value",
			        name->valuestring);
		if (p->n >= SSM_MAX_PARAMETERS)
			return aws_error_set(
			        err, -E2BIG, NULL,
			        "GetParametersByPath: more than %d parameters under '%s'",
			        SSM_MAX_PARAMETERS, path);
		v = reallocarray(p->v, p->n + 1, sizeof(*p->v));
		if (!v)
			return -ENOMEM;
		p->v = v;
		v[p->n].name = strdup(name->valuestring);
		v[p->n].value = strdup(value->valuestring);
		p->n++;
		if (!v[p->n - 1].name || !v[p->n - 1].value)
			return -ENOMEM;
	}
	*ret_next = NULL;
	if (cJSON_IsString(next) && !(*ret_next = strdup(next->valuestring)))
		return -ENOMEM;
	return 0;
}

int ssm_get_parameters_by_path(struct aws_client *c, const char *path, struct ssm_parameters *ret,
                               struct aws_error *err)
{
	_cleanup_ssm_parameters_ struct ssm_parameters p = { 0 };
	_cleanup_free_ char *token = NULL;
	int r;

	for (unsigned page = 0;; page++) {
		_cleanup_json_ cJSON *req = cJSON_CreateObject();
		_cleanup_json_ cJSON *resp = NULL;
		char *next = NULL;

		if (page >= SSM_MAX_PAGES)
			return aws_error_set(err, -E2BIG, NULL,
			                     "GetParametersByPath: more than %d pages under '%s'",
			                     SSM_MAX_PAGES, path);
		if (!req || !cJSON_AddStringToObject(req, "Path", path) ||
		    !cJSON_AddTrueToObject(req, "Recursive") ||
		    !cJSON_AddTrueToObject(req, "WithDecryption") ||
		    !cJSON_AddNumberToObject(req, "MaxResults", 10) ||
		    (token && !cJSON_AddStringToObject(req, "NextToken", token)))
			return -ENOMEM;
		r = awsjson_call(c, AWS_SVC_SSM, "AmazonSSM", "GetParametersByPath", req,
		                 SSM_MAX_RESPONSE, true, &resp, err);
		if (r < 0)
			return r;
		r = ssm_page_from_json(resp, path, &p, &next, err);
		json_wipe(resp);
		if (r < 0)
			return r;
		free(token);
		token = next;
		if (!token)
			break;
	}
	*ret = p;
	p = (struct ssm_parameters){ 0 };
	return 0;
}
