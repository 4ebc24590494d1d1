/* Step 5: registry credentials for the pull, as an X-Registry-Auth value (a secret). */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "agent.h"
#include "ecr.h"
#include "fileio.h"
#include "jsonutil.h"
#include "log.h"
#include "strutil.h"
#include "banned.h"

#define DOCKER_CONFIG_MAX ((size_t)1 << 20)

static const cJSON *find_auth_entry(const cJSON *auths, const char *host)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, auths)
	{
		const char *k = e->string, *rest;

		if (!k)
			continue;
		rest = startswith(k, "https://");
		if (!rest)
			rest = startswith(k, "http://");
		if (!rest)
			rest = k;
		if (!strncmp(rest, host, strlen(host)) &&
		    (rest[strlen(host)] == '\0' || rest[strlen(host)] == '/'))
			return e;
	}
	return NULL;
}

/* The `auths` entry of host in the Docker config file: 0 with user and password, -ENOENT
 * when the file or the entry is absent. */
static int docker_config_credentials(const char *path, const char *host, char **ret_user,
                                     char **ret_password)
{
	_cleanup_buf_ struct buf text = { 0 };
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	const cJSON *e, *auth, *user, *pass;
	int r;

	r = read_small_file(path, DOCKER_CONFIG_MAX, READ_FILE_SECRET, &text);
	if (r < 0)
		return r;
	j = cJSON_ParseWithLength(text.data ? text.data : "", text.len);
	if (!j)
		return -EBADMSG;
	e = find_auth_entry(cJSON_GetObjectItemCaseSensitive(j, "auths"), host);
	auth = cJSON_GetObjectItemCaseSensitive(e, "auth");
	user = cJSON_GetObjectItemCaseSensitive(e, "username");
	pass = cJSON_GetObjectItemCaseSensitive(e, "password");
	r = -ENOENT;
	if (cJSON_IsString(auth) && *auth->valuestring) {
		size_t n = strlen(auth->valuestring);
		_cleanup_secret_ char *plain = malloc(n / 4 * 3 + 4);
		char *colon;
		int len;

		if (!plain) {
			r = -ENOMEM;
			goto out;
		}
		len = n % 4 == 0 ? EVP_DecodeBlock((unsigned char *)plain,
		                                   (unsigned char *)auth->valuestring, (int)n)
		                 : -1;
		if (len < 0) {
			r = -EBADMSG;
			goto out;
		}
		while (len > 0 && n >= 1 && auth->valuestring[n - 1] == '=') {
			len--;
			n--;
		}
		plain[len] = '\0';
		colon = strchr(plain, ':');
		if (!colon) {
			r = -EBADMSG;
			goto out;
		}
		*ret_user = strndup(plain, (size_t)(colon - plain));
		*ret_password = strdup(colon + 1);
		r = 0;
	} else if (cJSON_IsString(user) && cJSON_IsString(pass)) {
		*ret_user = strdup(user->valuestring);
		*ret_password = strdup(pass->valuestring);
		r = 0;
	}
	if (r == 0 && (!*ret_user || !*ret_password)) {
		free(*ret_user);
		secret_free(*ret_password);
		r = -ENOMEM;
	}
out:
	json_wipe(j);
	return r;
}

int agent_registry_auth(struct agent *a)
{
	enum registry_auth mode = a->cfg->registry_auth;
	const char *host = a->ref.domain;
	_cleanup_free_ char *user = NULL, *account = NULL;
	_cleanup_secret_ char *password = NULL;
	int r;

	if (mode == REGISTRY_AUTH_NONE)
		return 0;
	if (!host) {
		if (mode == REGISTRY_AUTH_AUTO)
			return 0;
		host = "docker.io";
	}
	if (mode == REGISTRY_AUTH_AUTO) {
		if (ecr_parse_host(host, NULL) == 0)
			mode = REGISTRY_AUTH_ECR;
		else {
			r = docker_config_credentials(a->cfg->docker_config, host, &user,
			                              &password);
			if (r == -ENOENT || r == -EACCES) {
				log_debug("no credentials for '%s' in '%s': pulling anonymously",
				          host, a->cfg->docker_config);
				return 0;
			}
			if (r < 0)
				return log_error_errno(r, "reading '%s': %s", a->cfg->docker_config,
				                       strerror(-r));
			mode = REGISTRY_AUTH_DOCKER_CONFIG;
		}
	}
	if (mode == REGISTRY_AUTH_ECR) {
		_cleanup_ecr_auth_ struct ecr_auth e = { 0 };
		struct aws_error err = { 0 };

		(void)ecr_parse_host(host, &account);
		r = ecr_get_authorization_token(a->aws, account, &e, &err);
		if (r < 0) {
			log_error_errno(r, "ECR GetAuthorizationToken: %s%s%s",
			                err.code ? err.code : "", err.code ? ": " : "",
			                err.message ? err.message : strerror(-r));
			aws_error_clear(&err);
			return r;
		}
		aws_error_clear(&err);
		user = TAKE_PTR(e.username);
		password = TAKE_PTR(e.password);
		log_info("registry credentials for '%s' from ECR", host);
	} else if (mode == REGISTRY_AUTH_DOCKER_CONFIG && !user) {
		r = docker_config_credentials(a->cfg->docker_config, host, &user, &password);
		if (r < 0)
			return log_error_errno(r, "no credentials for '%s' in '%s': %s", host,
			                       a->cfg->docker_config, strerror(-r));
		log_info("registry credentials for '%s' from '%s'", host, a->cfg->docker_config);
	} else if (mode == REGISTRY_AUTH_DOCKER_CONFIG) {
		log_info("registry credentials for '%s' from '%s'", host, a->cfg->docker_config);
	}
	r = docker_registry_auth(user, password, host, &a->registry_auth);
	if (r < 0)
		return log_error_errno(r, "encoding registry credentials: %s", strerror(-r));
	return 0;
}
