/* The container's secret environment: env_ssm (SSM parameters under a path) and env_secret
 * (Secrets Manager secrets), read at boot and handed to Docker. Values are never logged;
 * names, paths and secret ids are. */
#include <errno.h>
#include <string.h>

#include "agent.h"
#include "agent_secrets.h"
#include "log.h"
#include "secretsmanager.h"
#include "ssm.h"
#include "strutil.h"
#include "banned.h"

#define ITEM_MAX 2048

static bool env_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 255 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static bool chars_ok(const char *s, size_t n, const char *extra)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || (s[i] && strchr(extra, s[i]))))
			return false;
	return true;
}

/* SSM's rules for a path: /-separated components of [a-zA-Z0-9_.-], at most 2048. */
static bool ssm_path_ok(const char *s, size_t n)
{
	if (n < 2 || n > ITEM_MAX || s[0] != '/' || !chars_ok(s, n, "/_.-"))
		return false;
	for (size_t i = 1; i < n; i++)
		if (s[i] == '/' && s[i - 1] == '/')
			return false;
	return true;
}

int agent_secrets_split(const char *spec, char **ret_name, char **ret_id, char **ret_key)
{
	const char *eq = strchr(spec, '='), *id, *colon;
	size_t fields = 0;

	if (!eq || !env_name_ok(spec, (size_t)(eq - spec)))
		return -EINVAL;
	id = eq + 1;
	/* An ARN has six ':' of its own (arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:
	 * NAME): the JSON key starts after a seventh; after a name, after the first. */
	colon = id;
	if (startswith(id, "arn:")) {
		for (colon = id; colon && fields < 6; fields++)
			colon = strchr(colon, ':') ? strchr(colon, ':') + 1 : NULL;
		if (!colon)
			return -EINVAL;
	}
	colon = strchr(colon, ':');
	if (!*id || colon == id || (colon && !colon[1]))
		return -EINVAL;
	if (!chars_ok(id, colon ? (size_t)(colon - id) : strlen(id), "/_+=.@-:"))
		return -EINVAL;
	/* A JSON key may be any printable text but the list's ','. */
	for (const char *k = colon ? colon + 1 : ""; *k; k++)
		if (*k < 0x20 || *k > 0x7e || *k == ',' || k - colon > 255)
			return -EINVAL;
	if (ret_name) {
		*ret_name = strndup(spec, (size_t)(eq - spec));
		*ret_id = colon ? strndup(id, (size_t)(colon - id)) : strdup(id);
		*ret_key = colon ? strdup(colon + 1) : NULL;
		if (!*ret_name || !*ret_id || (colon && !*ret_key)) {
			free(*ret_name);
			free(*ret_id);
			free(*ret_key);
			*ret_name = *ret_id = *ret_key = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

int agent_secrets_config(char ***list, bool ssm, const char *v, const char **why)
{
	_cleanup_strv_free_ char **items = NULL;
	const char *p = v;

	if (!*v) {
		*list = strv_free(*list);
		return 0;
	}
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		_cleanup_free_ char *item = strndup(p, n);
		int r;

		if (!item)
			return -ENOMEM;
		strstrip(item);
		if (ssm ? !ssm_path_ok(item, strlen(item))
		        : strlen(item) > ITEM_MAX ||
		                    agent_secrets_split(item, NULL, NULL, NULL) < 0) {
			*why = ssm ? "expected an SSM path (/a/b), comma-separated"
			           : "expected NAME=SECRET_ID[:JSON_KEY], comma-separated";
			return -EINVAL;
		}
		r = strv_push(&items, TAKE_PTR(item));
		if (r < 0)
			return r;
		p += n + (comma ? 1 : 0);
	}
	STRV_FOREACH(s, items) {
		int r = strv_extend(list, *s);

		if (r < 0)
			return r;
	}
	if (strv_length(*list) > AGENT_SECRETS_MAX) {
		*why = "too many entries";
		return -EINVAL;
	}
	return 0;
}

char **agent_env_free(char **env)
{
	STRV_FOREACH(s, env)
		secret_free(*s);
	free(env);
	return NULL;
}

/* "NAME=value" in a buffer of its exact size (no growing copy left behind). */
static int env_push(char ***env, const char *name, const char *value)
{
	size_t n = strlen(name), m = strlen(value);
	char *s = malloc(n + 1 + m + 1);

	if (!s)
		return -ENOMEM;
	memcpy(s, name, n);
	s[n] = '=';
	memcpy(s + n + 1, value, m);
	s[n + 1 + m] = '\0';
	return strv_push(env, s);
}

static bool env_has(char *const *env, const char *name)
{
	size_t n = strlen(name);

	STRV_FOREACH(s, env)
		if (!strncmp(*s, name, n) && (*s)[n] == '=')
			return true;
	return false;
}

/* Logs "WHAT: CODE: message" once; returns r. */
static int aws_failed(int r, struct aws_error *err, const char *what)
{
	log_error_errno(r, "%s: %s%s%s", what, err->code ? err->code : "", err->code ? ": " : "",
	                err->message ? err->message : strerror(-r));
	aws_error_clear(err);
	return r;
}

static int from_ssm(struct agent *a, const char *path, char ***env)
{
	_cleanup_ssm_parameters_ struct ssm_parameters p = { 0 };
	struct aws_error err = { 0 };
	int r;

	r = ssm_get_parameters_by_path(a->aws, path, &p, &err);
	if (r < 0) {
		_cleanup_free_ char *what = NULL;

		if (asprintf(&what, "env_ssm: parameters under '%s': GetParametersByPath", path) <
		    0)
			what = NULL;
		return aws_failed(r, &err, what ? what : "env_ssm");
	}
	aws_error_clear(&err);
	if (p.n == 0)
		return log_error_errno(-ENOENT, "env_ssm: no SSM parameter under '%s'", path);
	for (size_t i = 0; i < p.n; i++) {
		const char *name = ssm_parameter_basename(p.v[i].name);

		if (!env_name_ok(name, strlen(name)))
			return log_error_errno(-EINVAL,
			                       "env_ssm: parameter '%s' does not end in a variable "
			                       "name ([A-Za-z_][A-Za-z0-9_]*)",
			                       p.v[i].name);
		if (env_has(*env, name))
			return log_error_errno(-EEXIST, "env_ssm: parameter '%s' sets '%s' twice",
			                       p.v[i].name, name);
		r = env_push(env, name, p.v[i].value);
		if (r < 0)
			return r;
		log_debug("environment: '%s' from SSM parameter '%s'", name, p.v[i].name);
	}
	log_info("environment: %zu variables from SSM under '%s'", p.n, path);
	return 0;
}

static int from_secret(struct agent *a, const char *spec, char ***env)
{
	_cleanup_free_ char *name = NULL, *id = NULL, *key = NULL, *what = NULL;
	_cleanup_secret_ char *value = NULL;
	struct aws_error err = { 0 };
	int r;

	r = agent_secrets_split(spec, &name, &id, &key);
	if (r < 0)
		return r == -ENOMEM ? r : log_error_errno(r, "env_secret: bad entry");
	if (asprintf(&what, key ? "'%s' (key '%s')" : "'%s'", id, key) < 0)
		return -ENOMEM;
	if (env_has(*env, name))
		return log_error_errno(-EEXIST, "env_secret: secret %s sets '%s' twice", what,
		                       name);
	r = secretsmanager_get_secret_value(a->aws, id, key, &value, &err);
	if (r == -EREMOTEIO && aws_error_is(&err, "ResourceNotFoundException")) {
		aws_error_clear(&err);
		return log_error_errno(-ENOENT, "env_secret: secret %s does not exist", what);
	}
	if (r < 0 && r != -EREMOTEIO && err.message) {
		log_error_errno(r, "env_secret: %s", err.message);
		aws_error_clear(&err);
		return r;
	}
	if (r < 0) {
		_cleanup_free_ char *msg = NULL;

		if (asprintf(&msg, "env_secret: secret %s: GetSecretValue", what) < 0)
			msg = NULL;
		return aws_failed(r, &err, msg ? msg : "env_secret");
	}
	aws_error_clear(&err);
	r = env_push(env, name, value);
	if (r < 0)
		return r;
	log_info("environment: '%s' from secret %s", name, what);
	return 0;
}

int agent_secrets_resolve(struct agent *a, char ***env)
{
	int r;

	STRV_FOREACH(p, a->cfg->env_ssm) {
		r = from_ssm(a, *p, env);
		if (r < 0)
			return r;
	}
	STRV_FOREACH(s, a->cfg->env_secret) {
		r = from_secret(a, *s, env);
		if (r < 0)
			return r;
	}
	return 0;
}
