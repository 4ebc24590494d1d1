#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "awsjson.h"
#include "ecr.h"
#include "jsonutil.h"
#include "strutil.h"
#include "banned.h"

#define ECR_MAX_RESPONSE ((size_t)256 << 10)

void ecr_auth_done(struct ecr_auth *a)
{
	if (!a)
		return;
	free(a->username);
	secret_free(a->password);
	free(a->proxy_endpoint);
	*a = (struct ecr_auth){ 0 };
}

/* Decodes base64 "user:password" into its two halves; the decoded copy is wiped whole (by
 * its size: it may hold a NUL, and it has none at all when decoding fails). */
static int split_token(const char *token, struct ecr_auth *a)
{
	size_t n = strlen(token), pad = 0, size;
	char *plain, *colon;
	int len, r = -EBADMSG;

	if (n == 0 || n % 4 != 0 || n > (size_t)INT32_MAX / 2)
		return -EBADMSG;
	size = n / 4 * 3 + 1;
	plain = malloc(size);
	if (!plain)
		return -ENOMEM;
	len = EVP_DecodeBlock((unsigned char *)plain, (const unsigned char *)token, (int)n);
	if (token[n - 1] == '=')
		pad++;
	if (token[n - 2] == '=')
		pad++;
	if (len >= (int)pad) {
		len -= (int)pad;
		plain[len] = '\0';
		colon = strchr(plain, ':');
		if (!memchr(plain, '\0', (size_t)len) && colon && colon != plain && colon[1]) {
			a->username = strndup(plain, (size_t)(colon - plain));
			a->password = strdup(colon + 1);
			r = a->username && a->password ? 0 : -ENOMEM;
		}
	}
	explicit_bzero(plain, size);
	free(plain);
	return r;
}

static int auth_from_tree(cJSON *j, struct ecr_auth *ret, struct aws_error *err)
{
	_cleanup_ecr_auth_ struct ecr_auth a = { 0 };
	const cJSON *data, *tok, *ep, *exp;
	int r;

	data = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "authorizationData"), 0);
	tok = cJSON_GetObjectItemCaseSensitive(data, "authorizationToken");
	ep = cJSON_GetObjectItemCaseSensitive(data, "proxyEndpoint");
	exp = cJSON_GetObjectItemCaseSensitive(data, "expiresAt");
	if (!cJSON_IsString(tok))
		return aws_error_set(err, -EBADMSG, NULL,
		                     "GetAuthorizationToken: no authorization token in the answer");
	r = split_token(tok->valuestring, &a);
	if (r < 0)
		return aws_error_set(
		        err, r, NULL,
		        "GetAuthorizationToken: the token is not base64 'user:password'");
	if (cJSON_IsString(ep) && !(a.proxy_endpoint = strdup(ep->valuestring)))
		return -ENOMEM;
	/* Seconds since the epoch; beyond year 9999 it is not a time (and would not fit). */
	if (cJSON_IsNumber(exp) && exp->valuedouble > 0 && exp->valuedouble < 253402300800.0)
		a.expires_at = (time_t)exp->valuedouble;
	*ret = a;
	a = (struct ecr_auth){ 0 };
	return 0;
}

int ecr_auth_from_json(const char *text, size_t len, struct ecr_auth *ret, struct aws_error *err)
{
	_cleanup_(cJSON_Deletep) cJSON *j = cJSON_ParseWithLength(text, len);
	int r = auth_from_tree(j, ret, err);

	/* The parsed answer holds the token: wipe cJSON's copy before it is freed. */
	json_wipe(j);
	return r;
}

int ecr_get_authorization_token(struct aws_client *c, const char *registry_id, struct ecr_auth *ret,
                                struct aws_error *err)
{
	_cleanup_(cJSON_Deletep) cJSON *req = cJSON_CreateObject();
	_cleanup_(cJSON_Deletep) cJSON *resp = NULL;
	int r;

	if (!req)
		return -ENOMEM;
	if (registry_id) {
		cJSON *ids = cJSON_AddArrayToObject(req, "registryIds");

		if (!ids || !cJSON_AddItemToArray(ids, cJSON_CreateString(registry_id)))
			return -ENOMEM;
	}
	r = awsjson_call(c, AWS_SVC_ECR, "AmazonEC2ContainerRegistry_V20150921",
	                 "GetAuthorizationToken", req, ECR_MAX_RESPONSE, true, &resp, err);
	if (r < 0)
		return r;
	r = auth_from_tree(resp, ret, err);
	json_wipe(resp);
	return r;
}

int ecr_parse_host(const char *host, char **ret_account)
{
	const char *p = host, *rest;
	size_t n = strspn(p, "0123456789");
	size_t hl;

	if (n != 12)
		return -EINVAL;
	rest = startswith(p + n, ".dkr.ecr.");
	if (!rest)
		return -EINVAL;
	hl = strspn(rest, "abcdefghijklmnopqrstuvwxyz0123456789-");
	if (hl == 0)
		return -EINVAL;
	if (!streq(rest + hl, ".amazonaws.com") && !streq(rest + hl, ".amazonaws.com.cn"))
		return -EINVAL;
	if (ret_account) {
		*ret_account = strndup(host, n);
		if (!*ret_account)
			return -ENOMEM;
	}
	return 0;
}
