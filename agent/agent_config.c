#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent_config.h"
#include "agent_secrets.h"
#include "fileio.h"
#include "strutil.h"
#include "banned.h"

#define CONFIG_FILE_MAX ((size_t)1 << 20)
#define KEY_VALUE_MAX   4096

static const char *const auth_names[] = {
	[REGISTRY_AUTH_AUTO] = "auto",
	[REGISTRY_AUTH_ECR] = "ecr",
	[REGISTRY_AUTH_DOCKER_CONFIG] = "docker-config",
	[REGISTRY_AUTH_NONE] = "none",
};

const char *registry_auth_to_string(enum registry_auth a)
{
	return (size_t)a < ELEMENTSOF(auth_names) ? auth_names[a] : "?";
}

struct agent_config *agent_config_free(struct agent_config *c)
{
	if (!c)
		return NULL;
	free(c->registry);
	free(c->container_name);
	free(c->ports);
	free(c->env_file);
	strv_free(c->env_ssm);
	strv_free(c->env_secret);
	free(c->restart);
	free(c->network);
	free(c->health_url);
	free(c->lifecycle_hook);
	free(c->docker_socket);
	free(c->name_tag);
	free(c->version_tag);
	free(c->docker_config);
	agent_container_config_done(&c->container);
	free(c);
	return NULL;
}

static bool chars_in(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(extra, *s)))
			return false;
	return true;
}

static int set_str(char **field, const char *v)
{
	char *n = strdup(v);

	if (!n)
		return -ENOMEM;
	free(*field);
	*field = n;
	return 0;
}

/* Empty means unset for optional strings. */
static int set_opt_str(char **field, const char *v)
{
	if (!*v) {
		free(*field);
		*field = NULL;
		return 0;
	}
	return set_str(field, v);
}

static int set_seconds(unsigned *field, const char *v, bool zero_ok, const char **why)
{
	unsigned u;

	if (safe_atou(v, &u) < 0 || u > 86400 * 7 || (!zero_ok && u == 0)) {
		*why = zero_ok ? "expected a number of seconds (0 to 604800)"
		               : "expected a number of seconds (1 to 604800)";
		return -EINVAL;
	}
	*field = u;
	return 0;
}

static int parse_port_number(const char *s, size_t n, unsigned *ret)
{
	char tmp[8];
	unsigned u;

	if (n == 0 || n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (safe_atou(tmp, &u) < 0 || u == 0 || u > 65535)
		return -EINVAL;
	*ret = u;
	return 0;
}

/* "HOST:CONTAINER[/tcp|/udp]" entries, comma-separated; blanks around entries allowed. */
static int parse_ports(const char *v, struct docker_port **ret, size_t *ret_n)
{
	_cleanup_free_ struct docker_port *ports = NULL;
	size_t n = 0;
	const char *p = v;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		_cleanup_free_ char *item = strndup(p, len);
		char *s, *colon, *slash;
		struct docker_port port = { .proto = "tcp" };
		struct docker_port *np;

		if (!item)
			return -ENOMEM;
		s = strstrip(item);
		colon = strchr(s, ':');
		if (!colon)
			return -EINVAL;
		slash = strchr(colon, '/');
		if (slash) {
			if (streq(slash + 1, "tcp"))
				port.proto = "tcp";
			else if (streq(slash + 1, "udp"))
				port.proto = "udp";
			else
				return -EINVAL;
		}
		if (parse_port_number(s, (size_t)(colon - s), &port.host) < 0 ||
		    parse_port_number(colon + 1,
		                      slash ? (size_t)(slash - colon - 1) : strlen(colon + 1),
		                      &port.container) < 0)
			return -EINVAL;
		if (n >= 1024)
			return -EINVAL;
		np = reallocarray(ports, n + 1, sizeof(*ports));
		if (!np)
			return -ENOMEM;
		ports = np;
		ports[n++] = port;
		if (!end)
			break;
		p = end + 1;
		if (!*p)
			return -EINVAL; /* trailing comma */
	}
	*ret = TAKE_PTR(ports);
	*ret_n = n;
	return 0;
}

/* Sets key to value. -ENOENT for an unknown key; -EINVAL with *why for a bad value. */
static int config_set(struct agent_config *c, const char *key, const char *v, const char **why)
{
	*why = NULL;
	if (strlen(v) > KEY_VALUE_MAX) {
		*why = "value too long";
		return -EINVAL;
	}
	if (streq(key, "registry")) {
		if (*v && (!chars_in(v, ".-:_/[]") || v[0] == '/' || strlen(v) > 255)) {
			*why = "expected a registry host[:port][/path]";
			return -EINVAL;
		}
		return set_opt_str(&c->registry, v);
	}
	if (streq(key, "container_name")) {
		if (!*v || !chars_in(v, "_.-") || strchr("_.-", v[0]) || strlen(v) > 128) {
			*why = "expected a container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)";
			return -EINVAL;
		}
		return set_str(&c->container_name, v);
	}
	if (streq(key, "ports")) {
		struct docker_port *p = NULL;
		size_t n = 0;
		int r = parse_ports(v, &p, &n);

		if (r == -EINVAL)
			*why = "expected HOST:CONTAINER[/tcp|/udp], comma-separated";
		if (r < 0)
			return r;
		free(c->ports);
		c->ports = p;
		c->n_ports = n;
		return 0;
	}
	if (streq(key, "env_file")) {
		if (*v && v[0] != '/') {
			*why = "expected an absolute path";
			return -EINVAL;
		}
		return set_opt_str(&c->env_file, v);
	}
	if (streq(key, "env_ssm") || streq(key, "env_secret"))
		return agent_secrets_config(streq(key, "env_ssm") ? &c->env_ssm : &c->env_secret,
		                            streq(key, "env_ssm"), v, why);
	if (streq(key, "restart")) {
		if (!streq(v, "always") && !streq(v, "unless-stopped") && !streq(v, "on-failure") &&
		    !streq(v, "no")) {
			*why = "expected always, unless-stopped, on-failure or no";
			return -EINVAL;
		}
		return set_str(&c->restart, v);
	}
	if (streq(key, "network")) {
		if (!*v || !chars_in(v, "_.-") || strlen(v) > 128) {
			*why = "expected a network name";
			return -EINVAL;
		}
		return set_str(&c->network, v);
	}
	if (streq(key, "health_url")) {
		if (*v && !startswith(v, "http://") && !startswith(v, "https://")) {
			*why = "expected an http:// or https:// URL";
			return -EINVAL;
		}
		if (*v && !chars_in(v, "-._~:/?#[]@!$&'()*+,;=%")) {
			*why = "the URL has a character that needs percent-encoding";
			return -EINVAL;
		}
		return set_opt_str(&c->health_url, v);
	}
	if (streq(key, "health_timeout"))
		return set_seconds(&c->health_timeout, v, false, why);
	if (streq(key, "tag_timeout"))
		return set_seconds(&c->tag_timeout, v, false, why);
	if (streq(key, "unhealthy_grace"))
		return set_seconds(&c->unhealthy_grace, v, true, why);
	if (streq(key, "lifecycle_hook")) {
		if (!*v || strlen(v) > 255 || !chars_in(v, "-_/.")) {
			*why = "expected auto, none or a lifecycle hook name";
			return -EINVAL;
		}
		return set_str(&c->lifecycle_hook, v);
	}
	if (streq(key, "docker_socket") || streq(key, "docker_config")) {
		if (v[0] != '/') {
			*why = "expected an absolute path";
			return -EINVAL;
		}
		return set_str(streq(key, "docker_socket") ? &c->docker_socket : &c->docker_config,
		               v);
	}
	if (streq(key, "registry_auth")) {
		for (size_t i = 0; i < ELEMENTSOF(auth_names); i++)
			if (streq(v, auth_names[i])) {
				c->registry_auth = (enum registry_auth)i;
				return 0;
			}
		*why = "expected auto, ecr, docker-config or none";
		return -EINVAL;
	}
	if (streq(key, "name_tag") || streq(key, "version_tag")) {
		if (!*v || strlen(v) > 128) {
			*why = "expected a tag key of 1 to 128 characters";
			return -EINVAL;
		}
		return set_str(streq(key, "name_tag") ? &c->name_tag : &c->version_tag, v);
	}
	return agent_container_config_set(&c->container, key, v, why);
}

static const char *const keys[] = {
	"registry",      "container_name", "ports",          "env_file",    "restart",
	"network",       "health_url",     "health_timeout", "tag_timeout", "lifecycle_hook",
	"docker_socket", "registry_auth",  "name_tag",       "version_tag", "unhealthy_grace",
	"docker_config", "env_ssm",        "env_secret",
};

static int config_defaults(struct agent_config *c)
{
	const char *dh = getenv("DOCKER_HOST");
	const char *sock = DOCKER_SOCKET_DEFAULT;

	if (dh && *dh) {
		sock = startswith(dh, "unix://");
		if (!sock || sock[0] != '/')
			return -EPROTONOSUPPORT;
	}
	c->container_name = strdup("app");
	c->restart = strdup("always");
	c->network = strdup("bridge");
	c->lifecycle_hook = strdup("auto");
	c->docker_socket = strdup(sock);
	c->name_tag = strdup("docker:image:name");
	c->version_tag = strdup("docker:image:version");
	c->docker_config = strdup(AGENT_DOCKER_CONFIG);
	c->health_timeout = 300;
	c->tag_timeout = 600;
	c->unhealthy_grace = 60;
	c->registry_auth = REGISTRY_AUTH_AUTO;
	if (agent_container_config_init(&c->container) < 0)
		return -ENOMEM;
	if (!c->container_name || !c->restart || !c->network || !c->lifecycle_hook ||
	    !c->docker_socket || !c->name_tag || !c->version_tag || !c->docker_config)
		return -ENOMEM;
	return 0;
}

/* text holds len_all bytes: a NUL inside is an error on its line, never the end of the file. */
static int parse_file(struct agent_config *c, const char *path, const char *text, size_t len_all,
                      char **ret_error)
{
	unsigned lineno = 0;
	const char *p = text, *end = text + len_all;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		_cleanup_free_ char *line = strndup(p, len);
		char *s, *eq, *key, *value;
		const char *why;
		int r;

		lineno++;
		p += len + (nl ? 1 : 0);
		if (!line)
			return -ENOMEM;
		if (strlen(line) != len)
			return set_errorf(ret_error, -EINVAL, "%s:%u: a NUL byte in the line", path,
			                  lineno);
		s = strstrip(line);
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq)
			return set_errorf(ret_error, -EINVAL, "%s:%u: expected 'key = value'", path,
			                  lineno);
		*eq = '\0';
		key = strstrip(s);
		value = strstrip(eq + 1);
		r = config_set(c, key, value, &why);
		if (r == -ENOENT)
			return set_errorf(ret_error, -EINVAL, "%s:%u: unknown key '%s'", path,
			                  lineno, key);
		if (r == -EINVAL)
			return set_errorf(ret_error, -EINVAL, "%s:%u: bad value for '%s': %s", path,
			                  lineno, key, why);
		if (r < 0)
			return r;
	}
	return 0;
}

static int apply_env_key(struct agent_config *c, const char *key, char **ret_error)
{
	char var[64];
	const char *v, *why;
	size_t j;
	int r;

	r = snprintf(var, sizeof(var), "ASGSWAP_%s", key);
	if (r < 0 || (size_t)r >= sizeof(var))
		return -ENAMETOOLONG;
	for (j = 8; var[j]; j++)
		if (var[j] >= 'a' && var[j] <= 'z')
			var[j] = (char)(var[j] - 'a' + 'A');
	v = getenv(var);
	if (!v)
		return 0;
	/* The variable replaces the file's entries of a repeatable key. */
	if (streq(key, "env_ssm"))
		c->env_ssm = strv_free(c->env_ssm);
	if (streq(key, "env_secret"))
		c->env_secret = strv_free(c->env_secret);
	r = config_set(c, key, v, &why);
	if (r == -EINVAL)
		return set_errorf(ret_error, r, "%s: bad value: %s", var, why);
	return r;
}

static int apply_env(struct agent_config *c, char **ret_error)
{
	int r;

	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		r = apply_env_key(c, keys[i], ret_error);
		if (r < 0)
			return r;
	}
	for (const char *const *k = agent_container_keys; *k; k++) {
		r = apply_env_key(c, *k, ret_error);
		if (r < 0)
			return r;
	}
	return 0;
}

int agent_config_load(const char *path, bool explicit_path, struct agent_config **ret,
                      char **ret_error)
{
	_cleanup_(agent_config_freep) struct agent_config *c = calloc(1, sizeof(*c));
	_cleanup_buf_ struct buf text = { 0 };
	int r;

	if (!c)
		return -ENOMEM;
	r = config_defaults(c);
	if (r == -EPROTONOSUPPORT)
		return set_errorf(ret_error, -EINVAL,
		                  "DOCKER_HOST: only unix:///path is supported");
	if (r < 0)
		return r;
	r = read_small_file(path, CONFIG_FILE_MAX, READ_FILE_SECRET, &text);
	if (r == -ENOENT && !explicit_path)
		r = 0;
	else if (r < 0)
		return set_errorf(ret_error, r == -E2BIG ? -EINVAL : r, "%s: %s", path,
		                  r == -E2BIG ? "larger than 1 MiB" : strerror(-r));
	else
		r = parse_file(c, path, text.data, text.len, ret_error);
	if (r < 0)
		return r;
	r = apply_env(c, ret_error);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

static bool env_name_valid(const char *s, size_t n)
{
	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

int agent_env_file_read(const char *path, char ***ret, char **ret_error)
{
	_cleanup_buf_ struct buf text = { 0 };
	_cleanup_strv_free_ char **env = NULL;
	unsigned lineno = 0;
	const char *p;
	int r;

	r = read_small_file(path, CONFIG_FILE_MAX, READ_FILE_SECRET, &text);
	if (r < 0)
		return set_errorf(ret_error, r, "%s: %s", path, strerror(-r));
	/* The lines below end at a NUL: one inside would hide the rest of the file. */
	if (!text.data || memchr(text.data, '\0', text.len))
		return set_errorf(ret_error, -EINVAL, "%s: a NUL byte in the file", path);
	p = text.data;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		const char *start = p;
		char *entry;

		lineno++;
		p += len + (nl ? 1 : 0);
		while (len > 0 && start[len - 1] == '\r')
			len--;
		while (len > 0 && (*start == ' ' || *start == '\t')) {
			start++;
			len--;
		}
		if (len == 0 || *start == '#')
			continue;
		if (!eq || !env_name_valid(start, (size_t)(eq - start)))
			return set_errorf(ret_error, -EINVAL, "%s:%u: expected KEY=VALUE", path,
			                  lineno);
		entry = strndup(start, len);
		if (!entry)
			return -ENOMEM;
		r = strv_push(&env, entry);
		if (r < 0)
			return r;
	}
	if (!env) {
		env = calloc(1, sizeof(char *));
		if (!env)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(env);
	return 0;
}
