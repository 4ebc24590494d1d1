#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "agent_container.h"
#include "jsonutil.h"
#include "strutil.h"
#include "banned.h"

#define LIST_MAX      128
#define COMMAND_MAX   256
#define MEMORY_MIN    ((int64_t)6 << 20) /* dockerd refuses less */
#define MEMORY_MAX    ((int64_t)1 << 40)
#define CPUS_MAX      1024
#define PIDS_MAX      4194304 /* the kernel's pid_max ceiling */
#define STOP_MAX_S    3600
#define NAME_MAX_LEN  128
#define VALUE_MAX_LEN 1024

const char *const agent_container_keys[] = {
	"log_driver", "log_opts",  "mounts",       "memory",      "cpus",           "pids_limit",
	"user",       "read_only", "init",         "cap_drop",    "cap_add",        "extra_hosts",
	"labels",     "command",   "stop_timeout", "stop_signal", "terminate_hook", NULL,
};

/* The signals a stop_signal may name: those a service is commonly told to stop with. */
static const char *const signal_names[] = {
	"SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGKILL",
};

int agent_container_config_init(struct agent_container_config *c)
{
	*c = (struct agent_container_config){ .stop_timeout = AGENT_STOP_TIMEOUT_DEFAULT };
	c->log_driver = strdup("journald");
	c->stop_signal = strdup("SIGTERM");
	c->terminate_hook = strdup("auto");
	if (!c->log_driver || !c->stop_signal || !c->terminate_hook)
		return -ENOMEM;
	return 0;
}

void agent_container_config_done(struct agent_container_config *c)
{
	free(c->log_driver);
	strv_free(c->log_opts);
	strv_free(c->mounts);
	free(c->user);
	strv_free(c->cap_drop);
	strv_free(c->cap_add);
	strv_free(c->extra_hosts);
	strv_free(c->labels);
	strv_free(c->command);
	free(c->stop_signal);
	free(c->terminate_hook);
	*c = (struct agent_container_config){ 0 };
}

static bool only(const char *s, size_t n, const char *extra)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || (s[i] && strchr(extra, s[i]))))
			return false;
	return true;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* "key=value" with a key of name characters and a printable value. */
static bool valid_kv(const char *s, const char *key_extra)
{
	const char *eq = strchr(s, '=');

	return eq && eq > s && (size_t)(eq - s) <= NAME_MAX_LEN &&
	       only(s, (size_t)(eq - s), key_extra) && strlen(eq + 1) <= VALUE_MAX_LEN &&
	       printable(eq + 1);
}

static bool valid_label(const char *s)
{
	/* asgswap.* labels are how the agent recognises its container: never the operator's. */
	return valid_kv(s, "._/-") && !startswith(s, "asgswap.");
}

static bool valid_log_opt(const char *s)
{
	return valid_kv(s, "._-");
}

static bool valid_cap(const char *s)
{
	return *s && strlen(s) <= 64 && only(s, strlen(s), "_");
}

/* An absolute path without a `..` component, a ':' or a control character. */
static bool valid_bind_path(const char *s, size_t n)
{
	const char *p = s, *end = s + n;

	if (n < 2 || s[0] != '/' || n > 4096)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == ':')
			return false;
	while (p < end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t len = slash ? (size_t)(slash - p) : (size_t)(end - p);

		if (len == 2 && p[0] == '.' && p[1] == '.')
			return false;
		p += len + 1;
	}
	return true;
}

static bool valid_mount(const char *s)
{
	const char *c1 = strchr(s, ':'), *c2;

	if (!c1)
		return false;
	c2 = strchr(c1 + 1, ':');
	if (c2 && !streq(c2 + 1, "ro"))
		return false;
	return valid_bind_path(s, (size_t)(c1 - s)) &&
	       valid_bind_path(c1 + 1, c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1));
}

static bool valid_extra_host(const char *s)
{
	const char *colon = strchr(s, ':');
	unsigned char addr[16];
	size_t n;

	if (!colon)
		return false;
	n = (size_t)(colon - s);
	if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.' || !only(s, n, ".-"))
		return false;
	colon++;
	return streq(colon, "host-gateway") || inet_pton(AF_INET, colon, addr) == 1 ||
	       inet_pton(AF_INET6, colon, addr) == 1;
}

/* A comma-separated list (blanks around entries allowed), each entry checked by valid;
 * empty means none. unique_keys: KEY=VALUE entries, each key once, for dockerd would pick
 * one of two silently. */
static int parse_list(const char *v, bool (*valid)(const char *), bool unique_keys, char ***ret)
{
	_cleanup_strv_free_ char **list = NULL;
	const char *p = v;
	size_t n = 0;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		_cleanup_free_ char *item = strndup(p, len);
		char *s;
		int r;

		if (!item)
			return -ENOMEM;
		s = strstrip(item);
		if (!valid(s) || ++n > LIST_MAX)
			return -EINVAL;
		r = strv_extend(&list, s);
		if (r < 0)
			return r;
		if (!end)
			break;
		p = end + 1;
		if (!*p)
			return -EINVAL; /* trailing comma */
	}
	for (size_t i = 0; unique_keys && i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			size_t ki = strcspn(list[i], "="), kj = strcspn(list[j], "=");

			if (ki == kj && strncmp(list[i], list[j], ki) == 0)
				return -EINVAL;
		}
	strv_free(*ret);
	*ret = TAKE_PTR(list);
	return 0;
}

/* Docker's notation: a whole number of bytes with an optional b, k, m, g or t suffix. */
static int parse_memory(const char *v, int64_t *ret)
{
	size_t digits = strspn(v, "0123456789");
	char num[20];
	uint64_t u, mult = 1;
	const char *suffix = v + digits;

	if (digits == 0 || digits >= sizeof(num))
		return -EINVAL;
	memcpy(num, v, digits);
	num[digits] = '\0';
	if (safe_atou64(num, &u) < 0)
		return -EINVAL;
	if (*suffix) {
		const char *units = "bkmgt";
		const char *at = suffix[1] ? NULL : strchr(units, suffix[0] | 0x20);

		if (!at)
			return -EINVAL;
		mult = (uint64_t)1 << (10 * (at - units));
	}
	if (u > (uint64_t)MEMORY_MAX / mult || (int64_t)(u * mult) < MEMORY_MIN)
		return -EINVAL;
	*ret = (int64_t)(u * mult);
	return 0;
}

/* A decimal such as 0.5 or 2, at most 9 decimals: Docker's NanoCpus is cpus * 10^9. */
static int parse_cpus(const char *v, int64_t *ret)
{
	size_t whole = strspn(v, "0123456789"), frac = 0;
	int64_t n = 0;

	if (whole == 0 || whole > 4)
		return -EINVAL;
	for (size_t i = 0; i < whole; i++)
		n = n * 10 + (v[i] - '0');
	n *= 1000000000;
	if (v[whole] == '.') {
		const char *f = v + whole + 1;
		int64_t scale = 100000000;

		frac = strspn(f, "0123456789");
		if (frac == 0 || frac > 9 || f[frac])
			return -EINVAL;
		for (size_t i = 0; i < frac; i++, scale /= 10)
			n += (f[i] - '0') * scale;
	} else if (v[whole]) {
		return -EINVAL;
	}
	if (n <= 0 || n > (int64_t)CPUS_MAX * 1000000000)
		return -EINVAL;
	*ret = n;
	return 0;
}

static int parse_bool(const char *v, bool *ret)
{
	if (streq(v, "true"))
		*ret = true;
	else if (streq(v, "false"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

/* A JSON array of strings, the container's argv: never a string for a shell to split. */
static int parse_command(const char *v, char ***ret)
{
	_cleanup_json_ cJSON *j = NULL;
	_cleanup_strv_free_ char **argv = NULL;
	const cJSON *item;
	int r;

	if (!*v) {
		*ret = strv_free(*ret);
		return 0;
	}
	/* cJSON would end the string at an escaped NUL and hide the rest of it. */
	if (strstr(v, "\\u0000"))
		return -EINVAL;
	j = cJSON_Parse(v);
	if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) < 1 || cJSON_GetArraySize(j) > COMMAND_MAX)
		return -EINVAL;
	cJSON_ArrayForEach(item, j)
	{
		if (!cJSON_IsString(item))
			return -EINVAL;
		r = strv_extend(&argv, item->valuestring);
		if (r < 0)
			return r;
	}
	strv_free(*ret);
	*ret = TAKE_PTR(argv);
	return 0;
}

static int set_string(char **field, const char *v)
{
	char *n = strdup(v);

	if (!n)
		return -ENOMEM;
	free(*field);
	*field = n;
	return 0;
}

/* Each key's check and the message for a value that fails it. */
static int set_key(struct agent_container_config *c, const char *key, const char *v,
                   const char **why)
{
	unsigned u;

	if (streq(key, "log_driver")) {
		*why = "expected a log driver name such as journald, awslogs or json-file";
		if (!*v || strlen(v) > 64 || !only(v, strlen(v), "_.:/-"))
			return -EINVAL;
		return set_string(&c->log_driver, v);
	}
	if (streq(key, "log_opts")) {
		*why = "expected KEY=VALUE options, comma-separated, each key once";
		return parse_list(v, valid_log_opt, true, &c->log_opts);
	}
	if (streq(key, "mounts")) {
		*why = "expected HOST:CONTAINER[:ro] binds of absolute paths without '..', "
		       "comma-separated";
		return parse_list(v, valid_mount, false, &c->mounts);
	}
	if (streq(key, "memory")) {
		*why = "expected a size such as 64m or 1g (6m to 1t)";
		if (!*v) {
			c->memory = 0;
			return 0;
		}
		return parse_memory(v, &c->memory);
	}
	if (streq(key, "cpus")) {
		*why = "expected a number of CPUs such as 0.5 or 2 (at most 1024, 9 decimals)";
		if (!*v) {
			c->nano_cpus = 0;
			return 0;
		}
		return parse_cpus(v, &c->nano_cpus);
	}
	if (streq(key, "pids_limit")) {
		*why = "expected a number of processes (1 to 4194304)";
		if (!*v) {
			c->pids_limit = 0;
			return 0;
		}
		if (safe_atou(v, &u) < 0 || u == 0 || u > PIDS_MAX)
			return -EINVAL;
		c->pids_limit = u;
		return 0;
	}
	if (streq(key, "user")) {
		const char *colon = strchr(v, ':');

		*why = "expected USER[:GROUP], names or numeric ids";
		if (!*v) {
			free(c->user);
			c->user = NULL;
			return 0;
		}
		if (strlen(v) > 64 || v[0] == '-' || v[0] == ':' || !only(v, strlen(v), "_.-:") ||
		    (colon && (strchr(colon + 1, ':') || !colon[1] || colon[1] == '-')))
			return -EINVAL;
		return set_string(&c->user, v);
	}
	if (streq(key, "read_only") || streq(key, "init")) {
		*why = "expected true or false";
		return parse_bool(v, streq(key, "init") ? &c->init : &c->read_only);
	}
	if (streq(key, "cap_drop") || streq(key, "cap_add")) {
		*why = "expected capability names such as NET_RAW or ALL, comma-separated";
		return parse_list(v, valid_cap, false,
		                  streq(key, "cap_add") ? &c->cap_add : &c->cap_drop);
	}
	if (streq(key, "extra_hosts")) {
		*why = "expected HOST:IP entries, comma-separated";
		return parse_list(v, valid_extra_host, false, &c->extra_hosts);
	}
	if (streq(key, "labels")) {
		*why = "expected KEY=VALUE labels, comma-separated, each key once, none asgswap.*";
		return parse_list(v, valid_label, true, &c->labels);
	}
	if (streq(key, "command")) {
		*why = "expected a JSON array of strings such as [\"httpd\", \"-f\"]";
		return parse_command(v, &c->command);
	}
	if (streq(key, "stop_timeout")) {
		*why = "expected a number of seconds (0 to 3600)";
		if (safe_atou(v, &u) < 0 || u > STOP_MAX_S)
			return -EINVAL;
		c->stop_timeout = u;
		return 0;
	}
	if (streq(key, "stop_signal")) {
		*why = "expected a signal name: SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, "
		       "SIGUSR2, "
		       "SIGWINCH or SIGKILL";
		for (size_t i = 0; i < ELEMENTSOF(signal_names); i++)
			if (streq(v, signal_names[i]))
				return set_string(&c->stop_signal, v);
		return -EINVAL;
	}
	if (streq(key, "terminate_hook")) {
		*why = "expected auto, none or a lifecycle hook name";
		if (!*v || strlen(v) > 255 || !only(v, strlen(v), "-_/."))
			return -EINVAL;
		return set_string(&c->terminate_hook, v);
	}
	return -ENOENT;
}

int agent_container_config_set(struct agent_container_config *c, const char *key, const char *v,
                               const char **why)
{
	int r = set_key(c, key, v, why);

	if (r != -EINVAL)
		*why = NULL;
	return r;
}

void agent_container_spec(const struct agent_container_config *c, struct docker_create *spec)
{
	spec->cmd = c->command;
	spec->user = c->user;
	spec->stop_signal = c->stop_signal;
	spec->has_stop_timeout = true;
	spec->stop_timeout = c->stop_timeout;
	spec->log_driver = c->log_driver;
	spec->log_opts = c->log_opts;
	spec->binds = c->mounts;
	spec->memory = c->memory;
	spec->nano_cpus = c->nano_cpus;
	spec->pids_limit = c->pids_limit;
	spec->read_only = c->read_only;
	spec->init = c->init;
	spec->cap_add = c->cap_add;
	spec->cap_drop = c->cap_drop;
	spec->extra_hosts = c->extra_hosts;
}
