#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "strutil.h"
#include "banned.h"

#define PATH_EXPANDED_MAX ((size_t)64 << 10)
#define PASSWD_BUF_MAX    ((size_t)1 << 20)

struct service_row {
	struct aws_service_info info;
	const char *env; /* AWS_ENDPOINT_URL_ + info.endpoint_env */
};

/* Names as botocore derives them from each service's serviceId (checked with
 * ConfiguredEndpointProvider); API versions and signing names from its service models. */
static const struct service_row services[_AWS_SVC_MAX] = {
	[AWS_SVC_AUTOSCALING] = { { "autoscaling", "AUTO_SCALING", "auto_scaling", "autoscaling",
	                            "autoscaling", "2011-01-01" },
	                          "AWS_ENDPOINT_URL_AUTO_SCALING" },
	[AWS_SVC_ELB] = { { "elb", "ELASTIC_LOAD_BALANCING", "elastic_load_balancing",
	                    "elasticloadbalancing", "elasticloadbalancing", "2012-06-01" },
	                  "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING" },
	[AWS_SVC_ELBV2] = { { "elbv2", "ELASTIC_LOAD_BALANCING_V2", "elastic_load_balancing_v2",
	                      "elasticloadbalancing", "elasticloadbalancing", "2015-12-01" },
	                    "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2" },
	[AWS_SVC_EC2] = { { "ec2", "EC2", "ec2", "ec2", "ec2", "2016-11-15" },
	                  "AWS_ENDPOINT_URL_EC2" },
	[AWS_SVC_STS] = { { "sts", "STS", "sts", "sts", "sts", "2011-06-15" },
	                  "AWS_ENDPOINT_URL_STS" },
	[AWS_SVC_CLOUDWATCH] = { { "cloudwatch", "CLOUDWATCH", "cloudwatch", "monitoring",
	                           "monitoring", "2010-08-01" },
	                         "AWS_ENDPOINT_URL_CLOUDWATCH" },
	[AWS_SVC_ECR] = { { "ecr", "ECR", "ecr", "api.ecr", "ecr", "2015-09-21" },
	                  "AWS_ENDPOINT_URL_ECR" },
	[AWS_SVC_SSM] = { { "ssm", "SSM", "ssm", "ssm", "ssm", "2014-11-06" },
	                  "AWS_ENDPOINT_URL_SSM" },
	[AWS_SVC_SECRETSMANAGER] = { { "secretsmanager", "SECRETS_MANAGER", "secrets_manager",
	                               "secretsmanager", "secretsmanager", "2017-10-17" },
	                             "AWS_ENDPOINT_URL_SECRETS_MANAGER" },
	[AWS_SVC_DYNAMODB] = { { "dynamodb", "DYNAMODB", "dynamodb", "dynamodb", "dynamodb",
	                         "2012-08-10" },
	                       "AWS_ENDPOINT_URL_DYNAMODB" },
	/* serviceId "EventBridge": the endpoint prefix and signing name stay "events". */
	[AWS_SVC_EVENTS] = { { "events", "EVENTBRIDGE", "eventbridge", "events", "events",
	                       "2015-10-07" },
	                     "AWS_ENDPOINT_URL_EVENTBRIDGE" },
};

const struct aws_service_info *aws_service_info(enum aws_service s)
{
	return (unsigned)s < _AWS_SVC_MAX ? &services[s].info : NULL;
}

static bool is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* posixpath.expandvars: $NAME and ${NAME} for set variables, anything else left alone. */
static int expand_vars(const char *path, struct buf *out)
{
	for (const char *p = path; *p;) {
		const char *name = NULL, *next = p + 1;
		size_t n = 0;
		int r;

		if (p[0] == '$' && is_word_char(p[1])) {
			name = p + 1;
			while (is_word_char(name[n]))
				n++;
			next = name + n;
		} else if (p[0] == '$' && p[1] == '{' && strchr(p + 2, '}')) {
			name = p + 2;
			n = (size_t)(strchr(name, '}') - name);
			next = name + n + 1;
		}
		if (name) {
			_cleanup_free_ char *var = strndup(name, n);
			const char *value;

			if (!var)
				return -ENOMEM;
			value = getenv(var);
			r = value ? buf_puts(out, value) : buf_append(out, p, (size_t)(next - p));
		} else {
			r = buf_putc(out, *p);
		}
		if (r < 0)
			return r;
		p = next;
	}
	return 0;
}

/* The home directory of uid (name NULL) or of a user name; -ENOENT when unknown. */
static int passwd_home(const char *name, char **ret)
{
	long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t size = hint > 0 ? (size_t)hint : 1024;

	for (;;) {
		_cleanup_free_ char *b = malloc(size);
		struct passwd pw, *res = NULL;
		int r;

		if (!b)
			return -ENOMEM;
		r = name ? getpwnam_r(name, &pw, b, size, &res)
		         : getpwuid_r(getuid(), &pw, b, size, &res);
		if (r == ERANGE && size < PASSWD_BUF_MAX) {
			size *= 2;
			continue;
		}
		if (r != 0 || !res || !pw.pw_dir)
			return -ENOENT;
		*ret = strdup(pw.pw_dir);
		return *ret ? 0 : -ENOMEM;
	}
}

/* posixpath.expanduser: "~" and "~/x" from $HOME (or the password database), "~user/x". */
static int expand_user(const char *path, char **ret)
{
	_cleanup_free_ char *home = NULL;
	const char *slash, *h;
	size_t n;
	struct buf b;
	int r;

	if (path[0] != '~') {
		*ret = strdup(path);
		return *ret ? 0 : -ENOMEM;
	}
	slash = strchrnul(path + 1, '/');
	h = slash == path + 1 ? getenv("HOME") : NULL;
	if (h) {
		home = strdup(h);
		r = home ? 0 : -ENOMEM;
	} else if (slash == path + 1) {
		r = passwd_home(NULL, &home);
	} else {
		_cleanup_free_ char *user = strndup(path + 1, (size_t)(slash - path - 1));

		r = user ? passwd_home(user, &home) : -ENOMEM;
	}
	if (r == -ENOENT) {
		*ret = strdup(path);
		return *ret ? 0 : -ENOMEM;
	}
	if (r < 0)
		return r;
	h = home;
	n = strlen(h);
	while (n > 0 && h[n - 1] == '/')
		n--;
	buf_init(&b, PATH_EXPANDED_MAX);
	r = buf_append(&b, h, n);
	if (r >= 0)
		r = buf_puts(&b, slash);
	if (r >= 0 && b.len == 0)
		r = buf_putc(&b, '/');
	if (r < 0) {
		buf_free(&b);
		return r == -E2BIG ? -ENAMETOOLONG : r;
	}
	*ret = buf_steal(&b);
	return *ret ? 0 : -ENOMEM;
}

/* The path of a shared file as raw_config_parse opens it: $VAR expanded, then ~. NULL when
 * the variable is set but empty (botocore then finds no file). */
static int file_path(const char *env, const char *fallback, char **ret)
{
	const char *p = getenv(env);
	struct buf b;
	char *path;
	int r;

	if (!p)
		p = fallback;
	if (!*p) {
		*ret = NULL;
		return 0;
	}
	buf_init(&b, PATH_EXPANDED_MAX);
	r = expand_vars(p, &b);
	if (r >= 0 && !b.data)
		r = buf_puts(&b, "");
	if (r >= 0)
		r = expand_user(b.data, &path);
	buf_free(&b);
	if (r < 0)
		return r == -E2BIG ? -ENAMETOOLONG : r;
	*ret = path;
	return 0;
}

/*
 * Whether shlex.split(s) (POSIX mode, no comments), as botocore's _parse_section applies it
 * to section names, gives exactly two words, the second being name. An unbalanced quote or
 * a trailing backslash makes shlex fail, and the section is then skipped.
 */
static bool second_word_is(const char *s, const char *name)
{
	unsigned count = 0;
	size_t pos = 0; /* how much of name the second word matched so far */
	bool match = true;
	char state = ' ', escaped_state = 'a';

	for (const char *p = s;; p++) {
		char c = *p, add[2];
		size_t n_add = 0;
		bool ws = c == ' ' || c == '\t' || c == '\r' || c == '\n';

		if (state == ' ' || state == 'a') {
			if (c == '\0' || ws) {
				if (state == 'a' && ++count == 2 && !(match && name[pos] == '\0'))
					return false;
				state = ' ';
			} else if (c == '\'' || c == '"') {
				state = c;
			} else if (c == '\\') {
				escaped_state = 'a';
				state = '\\';
			} else {
				add[n_add++] = c;
				state = 'a';
			}
		} else if (state == '\'' || state == '"') {
			if (c == '\0')
				return false; /* No closing quotation */
			if (c == state) {
				state = 'a';
			} else if (c == '\\' && state == '"') {
				escaped_state = state;
				state = '\\';
			} else {
				add[n_add++] = c;
			}
		} else {
			if (c == '\0')
				return false; /* No escaped character */
			/* within quotes only the quote and the backslash itself are escaped */
			if (escaped_state != 'a' && c != '\\' && c != escaped_state)
				add[n_add++] = '\\';
			add[n_add++] = c;
			state = escaped_state;
		}
		if (count == 1)
			for (size_t i = 0; i < n_add; i++) {
				match = match && name[pos] == add[i];
				pos += match;
			}
		if (count > 2)
			return false;
		if (c == '\0')
			return count == 2;
	}
}

/*
 * The config file section that build_profile_map files under `name` in the map named by
 * prefix ("profile" or "services"): a section starting with prefix that splits into two
 * words, the second being name; for profiles also [default]. The last one wins.
 */
static const char *find_named_section(const struct ini *ini, const char *prefix, const char *name)
{
	const char *found = NULL;

	for (size_t i = 0; i < ini_section_count(ini); i++) {
		const char *s = ini_section_name(ini, i);

		if (startswith(s, "profile") || startswith(s, "sso-session") ||
		    startswith(s, "services")) {
			if (startswith(s, prefix) && second_word_is(s, name))
				found = s;
		} else if (streq(prefix, "profile") && streq(s, "default") &&
		           streq(name, "default")) {
			found = s;
		}
	}
	return found;
}

bool aws_config_has_profile(const struct aws_config *c, const char *profile)
{
	return c && profile &&
	       (ini_has_section(c->credentials_file, profile) ||
	        find_named_section(c->config_file, "profile", profile));
}

const char *aws_config_get(const struct aws_config *c, const char *profile, const char *key)
{
	const char *section;

	if (!c || !profile || !key)
		return NULL;
	/* botocore updates the config file's profile with the credentials file's keys */
	if (ini_has_key(c->credentials_file, profile, key))
		return ini_get(c->credentials_file, profile, key);
	section = find_named_section(c->config_file, "profile", profile);
	return section ? ini_get(c->config_file, section, key) : NULL;
}

bool aws_config_has(const struct aws_config *c, const char *profile, const char *key)
{
	const char *section;

	if (!c || !profile || !key)
		return false;
	if (ini_has_key(c->credentials_file, profile, key))
		return true;
	section = find_named_section(c->config_file, "profile", profile);
	return section && ini_has_key(c->config_file, section, key);
}

bool aws_config_file_has(const struct aws_config *c, enum aws_config_file f, const char *profile,
                         const char *key)
{
	const char *section;

	if (!c || !profile || !key)
		return false;
	if (f == AWS_FILE_CREDENTIALS)
		return ini_has_key(c->credentials_file, profile, key);
	section = find_named_section(c->config_file, "profile", profile);
	return section && ini_has_key(c->config_file, section, key);
}

const char *aws_config_file_get(const struct aws_config *c, enum aws_config_file f,
                                const char *profile, const char *key)
{
	const char *section;

	if (!c || !profile || !key)
		return NULL;
	if (f == AWS_FILE_CREDENTIALS)
		return ini_get(c->credentials_file, profile, key);
	section = find_named_section(c->config_file, "profile", profile);
	return section ? ini_get(c->config_file, section, key) : NULL;
}

const char *aws_config_file_path(const struct aws_config *c, enum aws_config_file f)
{
	return !c ? NULL : f == AWS_FILE_CREDENTIALS ? c->credentials_path : c->config_path;
}

static bool profile_has(const struct aws_config *c, const char *key)
{
	return ini_has_key(c->credentials_file, c->profile, key) ||
	       (c->profile_section && ini_has_key(c->config_file, c->profile_section, key));
}

const char *aws_config_profile_get(const struct aws_config *c, const char *key)
{
	return c ? aws_config_get(c, c->profile, key) : NULL;
}

bool aws_region_is_valid(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-' || strspn(s, "0123456789") == n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A DNS name as botocore's is_valid_endpoint_url accepts it: labels of letters, digits and
 * inner '-', 1-63 long, an optional final '.', 255 at most. IPv4 addresses pass too. */
static bool is_hostname(const char *h, size_t n)
{
	size_t label = 0;

	if (n > 0 && h[n - 1] == '.')
		n--;
	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || h[i] == '.') {
			if (label == 0 || label > 63 || h[i - 1] == '-')
				return false;
			label = 0;
		} else if (is_alnum(h[i]) || (h[i] == '-' && label > 0)) {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

/*
 * http:// or https:// (any case), a host name, [IPv6] or IPv4 address, an optional port
 * 1-65535 and an optional path. Stricter than botocore on purpose: no user:password@, no
 * query or fragment, nothing outside printable ASCII.
 */
bool aws_endpoint_url_is_valid(const char *s)
{
	const char *h, *end, *port = NULL;

	if (!s)
		return false;
	h = startswith_no_case(s, "https://");
	if (!h)
		h = startswith_no_case(s, "http://");
	if (!h)
		return false;
	for (const char *p = s; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '?' || *p == '#' || *p == '@' || *p == '\\')
			return false;
	end = strchrnul(h, '/');
	if (h < end && h[0] == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));
		bool colon = false;

		if (!close || close == h + 1)
			return false;
		for (const char *p = h + 1; p < close; p++) {
			if (!(is_alnum(*p) || *p == ':' || *p == '.'))
				return false;
			colon = colon || *p == ':';
		}
		if (!colon)
			return false;
		if (close + 1 < end && close[1] != ':')
			return false;
		port = close + 1 < end ? close + 1 : NULL;
	} else {
		port = memchr(h, ':', (size_t)(end - h));
		if (!is_hostname(h, (size_t)((port ? port : end) - h)))
			return false;
	}
	if (port) {
		unsigned v = 0;

		if (port + 1 == end || end - port > 6)
			return false;
		for (const char *p = port + 1; p < end; p++) {
			if (*p < '0' || *p > '9')
				return false;
			v = v * 10 + (unsigned)(*p - '0');
		}
		if (v == 0 || v > 65535)
			return false;
	}
	return true;
}

enum endpoint_source {
	EP_NONE,
	EP_OPTION,
	EP_ENV_SERVICE,
	EP_ENV_GLOBAL,
	EP_SERVICES_SECTION,
	EP_PROFILE,
	EP_NO_SERVICES_SECTION, /* the profile names a services section that is not there */
};

/* The configured endpoint of s, in botocore's ConfiguredEndpointProvider order; empty
 * values count as unset as there. */
static int configured_endpoint(const struct aws_config *c, enum aws_service s, const char **ret_url,
                               enum endpoint_source *ret_source)
{
	const char *v, *svc, *section = NULL;

	*ret_url = NULL;
	*ret_source = EP_NONE;
	if (c->endpoint_url) {
		*ret_url = c->endpoint_url;
		*ret_source = EP_OPTION;
		return 0;
	}
	if (c->ignore_configured_endpoints)
		return 0;
	v = getenv(services[s].env);
	if (v && *v) {
		*ret_url = v;
		*ret_source = EP_ENV_SERVICE;
		return 0;
	}
	v = getenv("AWS_ENDPOINT_URL");
	if (v && *v) {
		*ret_url = v;
		*ret_source = EP_ENV_GLOBAL;
		return 0;
	}
	if (profile_has(c, "services")) {
		svc = aws_config_profile_get(c, "services");
		if (svc)
			section = find_named_section(c->config_file, "services", svc);
		/* botocore also refuses a services section without keys */
		if (!section || ini_section_size(c->config_file, section) == 0) {
			*ret_source = EP_NO_SERVICES_SECTION;
			return -EINVAL;
		}
		v = ini_get_sub(c->config_file, section, services[s].info.services_key,
		                "endpoint_url");
		if (v && *v) {
			*ret_url = v;
			*ret_source = EP_SERVICES_SECTION;
			return 0;
		}
	}
	v = aws_config_profile_get(c, "endpoint_url");
	if (v && *v) {
		*ret_url = v;
		*ret_source = EP_PROFILE;
	}
	return 0;
}

/* The DNS suffix of the region's partition (botocore endpoints.json regionRegex, each
 * `^prefix-\w+-\d+$`); the aws partition's for anything else. */
static const char *dns_suffix(const char *region)
{
	static const struct {
		const char *prefix, *suffix;
	} partitions[] = {
		{ "cn-", "amazonaws.com.cn" },    { "us-iso-", "c2s.ic.gov" },
		{ "us-isob-", "sc2s.sgov.gov" },  { "eu-isoe-", "cloud.adc-e.uk" },
		{ "us-isof-", "csp.hci.ic.gov" }, { "eusc-de-", "amazonaws.eu" },
	};

	for (size_t i = 0; i < ELEMENTSOF(partitions); i++) {
		const char *p = startswith(region, partitions[i].prefix);
		size_t w = 0, d = 0;

		if (!p)
			continue;
		while (is_alnum(p[w]))
			w++;
		if (w == 0 || p[w] != '-')
			continue;
		while (p[w + 1 + d] >= '0' && p[w + 1 + d] <= '9')
			d++;
		if (d > 0 && p[w + 1 + d] == '\0')
			return partitions[i].suffix;
	}
	return "amazonaws.com";
}

int aws_config_endpoint(const struct aws_config *c, enum aws_service s, const char *region,
                        char **ret_url)
{
	enum endpoint_source source;
	const char *url;
	struct buf b;
	int r;

	if (!c || (unsigned)s >= _AWS_SVC_MAX)
		return -EINVAL;
	r = configured_endpoint(c, s, &url, &source);
	if (r < 0)
		return r;
	if (url) {
		char *u;

		if (!aws_endpoint_url_is_valid(url))
			return -EINVAL;
		u = strdup(url);
		if (!u)
			return -ENOMEM;
		*ret_url = u;
		return 0;
	}
	if (!region)
		region = c->region;
	if (!aws_region_is_valid(region))
		return -EINVAL;
	buf_init(&b, 1024);
	r = buf_printf(&b, "https://%s.%s.%s", services[s].info.host_prefix, region,
	               dns_suffix(region));
	if (r < 0) {
		buf_free(&b);
		return r;
	}
	*ret_url = buf_steal(&b);
	return *ret_url ? 0 : -ENOMEM;
}

struct aws_config *aws_config_free(struct aws_config *c)
{
	if (!c)
		return NULL;
	free(c->profile);
	free(c->region);
	free(c->endpoint_url);
	free(c->ca_bundle);
	free(c->config_path);
	free(c->credentials_path);
	ini_free(c->config_file);
	ini_free(c->credentials_file);
	free(c);
	return NULL;
}

static int load_file(const char *path, struct ini **ret, char **ret_error)
{
	struct ini_error e = { 0 };
	int r;

	*ret = NULL;
	if (!path)
		return 0;
	r = ini_load(path, ret, &e);
	/* botocore's configparser.read() skips a file it cannot open, so the AWS CLI goes on
	 * to the environment's keys or the next provider: so do we. */
	if (r == -ENOENT || r == -EACCES || r == -EPERM)
		return 0;
	if ((r == -EINVAL || r == -E2BIG) && e.line > 0)
		return set_errorf(ret_error, -EINVAL, "unable to parse '%s': line %u: %s", path,
		                  e.line, e.reason);
	if (r == -EINVAL || r == -E2BIG)
		return set_errorf(ret_error, -EINVAL, "unable to parse '%s': %s", path, e.reason);
	if (r < 0)
		return set_errorf(ret_error, r, "cannot read '%s': %s", path, strerror(-r));
	return 0;
}

static int dup_setting(char **dst, const char *v)
{
	if (!v)
		return 0;
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

/* Each service's configured endpoint, checked now so that the error names its source. */
static int check_endpoints(const struct aws_config *c, char **ret_error)
{
	for (enum aws_service s = 0; s < _AWS_SVC_MAX; s++) {
		enum endpoint_source source;
		const char *url;
		int r = configured_endpoint(c, s, &url, &source);

		if (r < 0 && source == EP_NO_SERVICES_SECTION)
			return set_errorf(ret_error, r,
			                  "profile '%s' uses services section '%s', which does not "
			                  "exist or is empty",
			                  c->profile, aws_config_profile_get(c, "services") ?: "");
		if (r < 0)
			return r;
		if (!url || aws_endpoint_url_is_valid(url))
			continue;
		switch (source) {
		case EP_OPTION:
			return set_errorf(ret_error, -EINVAL,
			                  "invalid --endpoint-url '%s': need http:// or https:// "
			                  "and a host",
			                  url);
		case EP_ENV_SERVICE:
			return set_errorf(ret_error, -EINVAL,
			                  "invalid %s '%s': need http:// or https:// and a host",
			                  services[s].env, url);
		case EP_ENV_GLOBAL:
			return set_errorf(ret_error, -EINVAL,
			                  "invalid AWS_ENDPOINT_URL '%s': need http:// or https:// "
			                  "and a host",
			                  url);
		case EP_SERVICES_SECTION:
			return set_errorf(ret_error, -EINVAL,
			                  "invalid %s.endpoint_url '%s' in the services section of "
			                  "profile '%s': need http:// or https:// and a host",
			                  services[s].info.services_key, url, c->profile);
		default:
			return set_errorf(ret_error, -EINVAL,
			                  "invalid endpoint_url '%s' in profile '%s': need http:// "
			                  "or https:// and a host",
			                  url, c->profile);
		}
	}
	return 0;
}

int aws_config_load(const struct aws_config_options *o, struct aws_config **ret, char **ret_error)
{
	static const struct aws_config_options none = { 0 };
	_cleanup_(aws_config_freep) struct aws_config *c = NULL;
	const char *v, *source = NULL;
	int r;

	if (!o)
		o = &none;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;

	r = file_path("AWS_CONFIG_FILE", "~/.aws/config", &c->config_path);
	if (r >= 0)
		r = file_path("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials",
		              &c->credentials_path);
	if (r < 0)
		return set_errorf(ret_error, r, "cannot find the shared AWS files: %s",
		                  strerror(-r));
	r = load_file(c->config_path, &c->config_file, ret_error);
	if (r < 0)
		return r;
	r = load_file(c->credentials_path, &c->credentials_file, ret_error);
	if (r < 0)
		return r;

	v = o->profile;
	if (!v)
		v = getenv("AWS_DEFAULT_PROFILE");
	if (!v)
		v = getenv("AWS_PROFILE");
	c->profile_explicit = v != NULL;
	r = dup_setting(&c->profile, v ? v : "default");
	if (r < 0)
		return r;
	c->profile_section = find_named_section(c->config_file, "profile", c->profile);
	if (c->profile_explicit && !aws_config_has_profile(c, c->profile))
		return set_errorf(ret_error, -EINVAL, "the config profile '%s' could not be found",
		                  c->profile);

	if (o->region) {
		v = o->region;
		source = "--region";
	} else if ((v = getenv("AWS_REGION"))) {
		source = "AWS_REGION";
	} else if ((v = getenv("AWS_DEFAULT_REGION"))) {
		source = "AWS_DEFAULT_REGION";
	} else {
		v = aws_config_profile_get(c, "region");
		source = "the profile's region";
	}
	if (v && !aws_region_is_valid(v))
		return set_errorf(ret_error, -EINVAL, "invalid region '%s' from %s", v, source);
	r = dup_setting(&c->region, v);
	if (r < 0)
		return r;

	c->max_attempts = AWS_MAX_ATTEMPTS_DEFAULT;
	v = getenv("AWS_MAX_ATTEMPTS");
	source = "AWS_MAX_ATTEMPTS";
	if (!v) {
		v = aws_config_profile_get(c, "max_attempts");
		source = "max_attempts of the profile";
	}
	if (v && (safe_atou(v, &c->max_attempts) < 0 || c->max_attempts == 0))
		return set_errorf(ret_error, -EINVAL,
		                  "invalid %s '%s': need a whole number of 1 or more", source, v);
	c->max_attempts_set = v != NULL;

	c->retry_mode = AWS_RETRY_STANDARD;
	v = getenv("AWS_RETRY_MODE");
	source = "AWS_RETRY_MODE";
	if (!v) {
		v = aws_config_profile_get(c, "retry_mode");
		source = "retry_mode of the profile";
	}
	if (v && streq(v, "adaptive"))
		c->retry_mode = AWS_RETRY_ADAPTIVE;
	else if (v && !streq(v, "standard") && !streq(v, "legacy"))
		return set_errorf(ret_error, -EINVAL,
		                  "invalid %s: need standard, adaptive or legacy", source);
	c->retry_mode_set = v != NULL;

	v = getenv("AWS_CA_BUNDLE");
	if (!v)
		v = aws_config_profile_get(c, "ca_bundle");
	r = dup_setting(&c->ca_bundle, v && *v ? v : NULL);
	if (r < 0)
		return r;

	v = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	if (!v)
		v = aws_config_profile_get(c, "ignore_configured_endpoint_urls");
	c->ignore_configured_endpoints = v && strcasecmp(v, "true") == 0;

	r = dup_setting(&c->endpoint_url, o->endpoint_url);
	if (r < 0)
		return r;
	r = check_endpoints(c, ret_error);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(c);
	return 0;
}
