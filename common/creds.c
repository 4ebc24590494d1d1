#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "creds.h"
#include "fileio.h"
#include "jsonutil.h"
#include "query.h"
#include "strutil.h"
#include "timeutil.h"
#include "banned.h"

#define CREDS_FILE_MAX ((size_t)64 << 10)

static bool nonempty(const char *s)
{
	return s && *s;
}

static int set_keys(struct aws_credentials *ret, const char *id, const char *secret,
                    const char *token, time_t expiration, const char *source)
{
	struct aws_credentials c = { .expiration = expiration, .source = source };

	c.access_key_id = strdup(id);
	c.secret_access_key = strdup(secret);
	c.session_token = nonempty(token) ? strdup(token) : NULL;
	if (!c.access_key_id || !c.secret_access_key || (nonempty(token) && !c.session_token)) {
		aws_credentials_done(&c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

/* Keys from a peer (STS, IMDS, a container endpoint) go into HTTP headers: a control
 * character or a space there would split or forge a header line. */
static bool keys_printable(const char *id, const char *secret, const char *token)
{
	const char *const v[] = { id, secret, token };

	for (size_t i = 0; i < ELEMENTSOF(v); i++)
		for (const char *p = v[i]; p && *p; p++)
			if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
				return false;
	return true;
}

/*
 * 1 when found, 0 when the environment has none, negative on error. As botocore's
 * EnvProvider: no AWS_ACCESS_KEY_ID (or an empty one) means no keys here, whatever else is
 * set; a key id without a secret is an error. AWS_SECURITY_TOKEN is read first.
 */
static int from_environment(struct aws_credentials *ret, struct aws_error *err)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SECURITY_TOKEN");
	int r;

	if (!nonempty(id))
		return 0;
	if (!nonempty(secret))
		return aws_error_set(err, -EINVAL, NULL,
		                     "partial credentials in the environment: AWS_ACCESS_KEY_ID is "
		                     "set but AWS_SECRET_ACCESS_KEY is not; set both or neither");
	if (!nonempty(token))
		token = getenv("AWS_SESSION_TOKEN");
	r = set_keys(ret, id, secret, token, 0, "environment");
	return r < 0 ? r : 1;
}

/*
 * The static keys of profile in one file (botocore SharedCredentialProvider, ConfigProvider):
 * 1 when found, 0 when that file gives the profile no aws_access_key_id, negative on error.
 * An aws_security_token key, even empty, hides aws_session_token, as there.
 */
static int file_keys(const struct aws_config *cfg, enum aws_config_file f, const char *profile,
                     struct aws_credentials *ret, struct aws_error *err)
{
	const char *what = f == AWS_FILE_CREDENTIALS ? "credentials file" : "config file";
	const char *path = aws_config_file_path(cfg, f);
	const char *id, *secret, *token;
	int r;

	if (!aws_config_file_has(cfg, f, profile, "aws_access_key_id"))
		return 0;
	id = aws_config_file_get(cfg, f, profile, "aws_access_key_id");
	secret = aws_config_file_get(cfg, f, profile, "aws_secret_access_key");
	if (!aws_config_file_has(cfg, f, profile, "aws_secret_access_key"))
		return aws_error_set(err, -EINVAL, NULL,
		                     "partial credentials in profile '%s' of the %s '%s': "
		                     "aws_access_key_id without aws_secret_access_key in the same "
		                     "file",
		                     profile, what, path ? path : "");
	/* botocore would sign with an empty key; nothing good can come of that */
	if (!nonempty(id) || !nonempty(secret))
		return aws_error_set(err, -EINVAL, NULL,
		                     "profile '%s' of the %s '%s' has an empty %s", profile, what,
		                     path ? path : "",
		                     nonempty(id) ? "aws_secret_access_key" : "aws_access_key_id");
	if (aws_config_file_has(cfg, f, profile, "aws_security_token"))
		token = aws_config_file_get(cfg, f, profile, "aws_security_token");
	else
		token = aws_config_file_get(cfg, f, profile, "aws_session_token");
	r = set_keys(ret, id, secret, token, 0, "profile");
	return r < 0 ? r : 1;
}

/* A token file's contents as a string to be freed with secret_free(). */
static int read_token_file(const char *path, char **ret)
{
	_cleanup_buf_ struct buf b = { 0 };
	int r = read_small_file(path, CREDS_FILE_MAX, READ_FILE_SECRET, &b);

	if (r < 0)
		return r;
	*ret = buf_steal(&b);
	return *ret ? 0 : -ENOMEM;
}

int aws_credentials_from_sts(xmlDoc *doc, const char *source, struct aws_credentials *ret,
                             struct aws_error *err)
{
	xmlNode *cr = xml_find(xmlDocGetRootElement(doc), "Credentials");
	_cleanup_secret_ char *id = NULL, *secret = NULL, *token = NULL;
	_cleanup_free_ char *exp = NULL;
	time_t expiration = 0;

	if (!cr || xml_child_text(cr, "AccessKeyId", &id) < 0 ||
	    xml_child_text(cr, "SecretAccessKey", &secret) < 0 ||
	    xml_child_text(cr, "SessionToken", &token) < 0 ||
	    xml_child_text(cr, "Expiration", &exp) < 0 || parse_iso8601(exp, &expiration) < 0 ||
	    !*id || !*secret || !keys_printable(id, secret, token))
		return aws_error_set(err, -EBADMSG, NULL,
		                     "STS answered without usable credentials");
	return set_keys(ret, id, secret, token, expiration, source);
}

static const char *session_name(const char *configured, char *buf, size_t n)
{
	if (nonempty(configured))
		return configured;
	(void)snprintf(buf, n, "asgswap-%lld", (long long)time(NULL));
	return buf;
}

static int web_identity_call(struct aws_client *c, const char *token_file, const char *role_arn,
                             const char *configured_name, struct aws_credentials *ret,
                             struct aws_error *err)
{
	_cleanup_secret_ char *token = NULL;
	_cleanup_query_ struct query *qp = NULL;
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	struct query q;
	char name[64];
	int r;

	if (!nonempty(role_arn))
		return aws_error_set(err, -EINVAL, NULL,
		                     "web identity token file '%s' but no role: set AWS_ROLE_ARN "
		                     "or role_arn in the profile",
		                     token_file);
	r = read_token_file(token_file, &token);
	if (r < 0)
		return aws_error_set(err, r, NULL, "reading web identity token '%s': %s",
		                     token_file, strerror(-r));
	strstrip(token);
	r = query_init_sensitive(&q, AWS_SVC_STS, "AssumeRoleWithWebIdentity");
	qp = &q;
	if (r < 0)
		return r;
	query_add(&q, "RoleArn", role_arn);
	query_add(&q, "RoleSessionName", session_name(configured_name, name, sizeof(name)));
	query_add(&q, "WebIdentityToken", token);
	q.anonymous = true; /* the token is the proof */
	r = aws_query(c, &q, &doc, err);
	if (r < 0)
		return r;
	return aws_credentials_from_sts(doc, "web-identity", ret, err);
}

/*
 * A web identity setting as botocore's AssumeRoleWithWebIdentityProvider reads it: the
 * environment variable when set (even empty) and allowed, else the profile's key.
 */
static const char *wi_setting(const struct aws_config *cfg, const char *profile, bool env,
                              const char *var, const char *key)
{
	const char *v = env ? getenv(var) : NULL;

	return v ? v : aws_config_get(cfg, profile, key);
}

/* 1 when the profile (or, when env, the environment) configures web identity. */
static int from_web_identity(struct aws_client *c, const char *profile, bool env,
                             struct aws_credentials *ret, struct aws_error *err)
{
	const struct aws_config *cfg = aws_client_config(c);
	const char *file = wi_setting(cfg, profile, env, "AWS_WEB_IDENTITY_TOKEN_FILE",
	                              "web_identity_token_file");
	int r;

	if (!nonempty(file))
		return 0;
	r = web_identity_call(
	        c, file, wi_setting(cfg, profile, env, "AWS_ROLE_ARN", "role_arn"),
	        wi_setting(cfg, profile, env, "AWS_ROLE_SESSION_NAME", "role_session_name"), ret,
	        err);
	return r < 0 ? r : 1;
}

static int from_container(struct aws_client *c, struct aws_credentials *ret, struct aws_error *err);
static int from_imds(struct aws_client *c, struct aws_credentials *ret, struct aws_error *err);

/*
 * The providers botocore runs on one profile (ProfileProviderBuilder): web identity, SSO
 * (refused), the credentials file's keys, credential_process (refused), the config file's
 * keys. env: whether the web identity environment variables count (not for a source
 * profile, nor under --profile). 1, 0 when none applies, or negative.
 */
static int profile_providers(struct aws_client *c, const char *profile, bool env,
                             struct aws_credentials *ret, struct aws_error *err)
{
	const struct aws_config *cfg = aws_client_config(c);
	int r;

	r = from_web_identity(c, profile, env, ret, err);
	if (r != 0)
		return r;
	if (aws_config_has(cfg, profile, "sso_start_url") ||
	    aws_config_has(cfg, profile, "sso_session"))
		return aws_error_set(
		        err, -EOPNOTSUPP, NULL,
		        "profile '%s' uses SSO, which asgswap does not support: export "
		        "keys (aws configure export-credentials) or use another profile",
		        profile);
	r = file_keys(cfg, AWS_FILE_CREDENTIALS, profile, ret, err);
	if (r != 0)
		return r;
	if (aws_config_has(cfg, profile, "credential_process"))
		return aws_error_set(err, -EOPNOTSUPP, NULL,
		                     "profile '%s' uses credential_process, which asgswap does not "
		                     "support: export keys or use another profile",
		                     profile);
	return file_keys(cfg, AWS_FILE_CONFIG, profile, ret, err);
}

/* botocore's AssumeRoleProvider takes a profile that has a role_arn key and no
 * web_identity_token_file key. */
static bool assume_role_applies(const struct aws_config *cfg, const char *profile)
{
	return aws_config_has(cfg, profile, "role_arn") &&
	       !aws_config_has(cfg, profile, "web_identity_token_file");
}

static bool has_static_keys(const struct aws_config *cfg, const char *profile)
{
	return aws_config_has(cfg, profile, "aws_access_key_id") ||
	       aws_config_has(cfg, profile, "aws_secret_access_key");
}

/* The profiles visited along a source_profile chain, for loops and their message. */
struct visited {
	const char *name[CREDS_MAX_ROLE_CHAIN + 1];
	size_t n;
};

static bool visited_has(const struct visited *v, const char *name)
{
	for (size_t i = 0; i < v->n; i++)
		if (streq(v->name[i], name))
			return true;
	return false;
}

static int loop_error(const struct visited *v, const char *next, struct aws_error *err)
{
	struct buf b;
	int r = 0;

	buf_init(&b, 4096);
	for (size_t i = 0; i < v->n && r >= 0; i++)
		r = buf_printf(&b, "%s -> ", v->name[i]);
	if (r >= 0)
		r = buf_puts(&b, next);
	if (r < 0) {
		buf_free(&b);
		return r == -E2BIG ? aws_error_set(err, -ELOOP, NULL, "source_profile loop") : r;
	}
	r = aws_error_set(err, -ELOOP, NULL,
	                  "source_profile loop: %s; give one of these profiles static keys or "
	                  "a credential_source",
	                  b.data);
	buf_free(&b);
	return r;
}

static int assume_role(struct aws_client *c, const char *profile, struct visited *v,
                       struct aws_credentials *ret, struct aws_error *err);

/* The credentials of a source profile (AssumeRoleProvider._resolve_credentials_from_profile):
 * its own providers when it has static keys or no role of its own, else its role. */
static int from_source_profile(struct aws_client *c, const char *parent, const char *source,
                               struct visited *v, struct aws_credentials *ret,
                               struct aws_error *err)
{
	const struct aws_config *cfg = aws_client_config(c);
	int r;

	if (has_static_keys(cfg, source) || !assume_role_applies(cfg, source)) {
		r = profile_providers(c, source, false, ret, err);
		if (r == 0)
			r = aws_error_set(err, -ENOKEY, NULL,
			                  "source profile '%s' of profile '%s' has no credentials: "
			                  "looked for aws_access_key_id in '%s' and '%s'",
			                  source, parent,
			                  aws_config_file_path(cfg, AWS_FILE_CREDENTIALS) ?: "",
			                  aws_config_file_path(cfg, AWS_FILE_CONFIG) ?: "");
		return r;
	}
	return assume_role(c, source, v, ret, err);
}

/* Credentials of one named credential_source; only botocore's three names, exactly. */
static int from_credential_source(struct aws_client *c, const char *profile, const char *csource,
                                  struct aws_credentials *ret, struct aws_error *err)
{
	int r;

	if (streq(csource, "Environment")) {
		r = from_environment(ret, err);
		if (r == 0)
			r = aws_error_set(err, -ENOKEY, NULL,
			                  "profile '%s' has credential_source Environment, but "
			                  "AWS_ACCESS_KEY_ID is not set",
			                  profile);
		return r;
	}
	if (streq(csource, "EcsContainer"))
		return from_container(c, ret, err);
	if (streq(csource, "Ec2InstanceMetadata"))
		return from_imds(c, ret, err);
	return aws_error_set(err, -EINVAL, NULL,
	                     "profile '%s': credential_source '%s' is not one of Environment, "
	                     "EcsContainer, Ec2InstanceMetadata",
	                     profile, csource);
}

static int assume_role(struct aws_client *c, const char *profile, struct visited *v,
                       struct aws_credentials *ret, struct aws_error *err)
{
	const struct aws_config *cfg = aws_client_config(c);
	const char *role_arn = aws_config_get(cfg, profile, "role_arn");
	bool has_source = aws_config_has(cfg, profile, "source_profile");
	bool has_csource = aws_config_has(cfg, profile, "credential_source");
	const char *source = aws_config_get(cfg, profile, "source_profile");
	const char *ext = aws_config_get(cfg, profile, "external_id");
	const char *duration = aws_config_get(cfg, profile, "duration_seconds");
	_cleanup_(aws_credentials_done) struct aws_credentials base = { 0 };
	_cleanup_query_ struct query *qp = NULL;
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	struct query q;
	char name[64];
	unsigned secs;
	int r;

	if (has_source && has_csource)
		return aws_error_set(err, -EINVAL, NULL,
		                     "profile '%s' has both source_profile and credential_source: "
		                     "keep one",
		                     profile);
	if (!has_source && !has_csource)
		return aws_error_set(err, -EINVAL, NULL,
		                     "profile '%s' has role_arn but neither source_profile nor "
		                     "credential_source",
		                     profile);
	if (!nonempty(role_arn))
		return aws_error_set(err, -EINVAL, NULL, "profile '%s' has an empty role_arn",
		                     profile);
	if (aws_config_has(cfg, profile, "mfa_serial"))
		return aws_error_set(err, -EOPNOTSUPP, NULL,
		                     "profile '%s' needs an MFA code (mfa_serial), which asgswap "
		                     "cannot prompt for",
		                     profile);
	if (has_csource) {
		r = from_credential_source(c, profile,
		                           aws_config_get(cfg, profile, "credential_source") ?: "",
		                           &base, err);
	} else {
		if (!source || !aws_config_has_profile(cfg, source))
			return aws_error_set(err, -EINVAL, NULL,
			                     "source_profile '%s' of profile '%s' does not exist",
			                     source ? source : "", profile);
		/* a profile may be its own source only to use its own static keys */
		if (visited_has(v, source) &&
		    (!streq(source, profile) || !has_static_keys(cfg, source)))
			return loop_error(v, source, err);
		if (v->n >= CREDS_MAX_ROLE_CHAIN)
			return aws_error_set(err, -ELOOP, NULL,
			                     "profile '%s': source_profile chain longer than %d "
			                     "profiles",
			                     profile, CREDS_MAX_ROLE_CHAIN);
		v->name[v->n++] = source;
		r = from_source_profile(c, profile, source, v, &base, err);
	}
	if (r < 0)
		return r;

	r = query_init_sensitive(&q, AWS_SVC_STS, "AssumeRole");
	qp = &q;
	if (r < 0)
		return r;
	query_add(&q, "RoleArn", role_arn);
	query_add(&q, "RoleSessionName",
	          session_name(aws_config_get(cfg, profile, "role_session_name"), name,
	                       sizeof(name)));
	if (nonempty(ext))
		query_add(&q, "ExternalId", ext);
	if (nonempty(duration)) {
		if (safe_atou(duration, &secs) < 0 || secs < 900 || secs > 43200)
			return aws_error_set(
			        err, -EINVAL, NULL,
			        "profile '%s': duration_seconds '%s' is not 900..43200", profile,
			        duration);
		query_add_uint(&q, "DurationSeconds", secs);
	}
	q.credentials = &base;
	r = aws_query(c, &q, &doc, err);
	if (r < 0)
		return r;
	return aws_credentials_from_sts(doc, "assume-role", ret, err);
}

int aws_credentials_from_json(const char *text, const char *source, struct aws_credentials *ret,
                              struct aws_error *err)
{
	_cleanup_(cJSON_Deletep) cJSON *j = cJSON_Parse(text);
	const char *id, *secret, *token, *exp, *code;
	time_t expiration = 0;

	if (!cJSON_IsObject(j))
		return aws_error_set(err, -EBADMSG, NULL, "%s credentials are not JSON", source);
	code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Code"));
	if (code && !streq(code, "Success"))
		return aws_error_set(err, -EPROTO, NULL, "%s credentials: %s", source, code);
	id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "AccessKeyId"));
	secret = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "SecretAccessKey"));
	token = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Token"));
	exp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "Expiration"));
	if (!nonempty(id) || !nonempty(secret) || (exp && parse_iso8601(exp, &expiration) < 0))
		return aws_error_set(err, -EBADMSG, NULL, "%s credentials are incomplete", source);
	if (!keys_printable(id, secret, token))
		return aws_error_set(err, -EBADMSG, NULL,
		                     "%s credentials hold characters that no key has", source);
	return set_keys(ret, id, secret, token, expiration, source);
}

/* FULL_URI may name only a loopback or the ECS/EKS link-local hosts over plain HTTP
 * (botocore ContainerMetadataFetcher). */
static bool container_host_allowed(const char *url)
{
	static const char *const allowed[] = {
		"http://127.",
		"http://localhost/",
		"http://localhost:",
		"http://[::1]",
		"http://169.254.170.2/",
		"http://169.254.170.2:",
		"http://169.254.170.23/",
		"http://169.254.170.23:",
		"http://[fd00:ec2::23]",
	};

	if (startswith_no_case(url, "https://"))
		return true;
	for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
		if (startswith_no_case(url, allowed[i]))
			return true;
	return false;
}

static int from_container(struct aws_client *c, struct aws_credentials *ret, struct aws_error *err)
{
	const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *tok = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char *tok_file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	_cleanup_free_ char *url = NULL;
	_cleanup_secret_ char *file_token = NULL;
	_cleanup_strv_free_ char **headers = NULL;
	struct http_response resp;
	int r;

	if (nonempty(rel)) {
		if (asprintf(&url, "%s%s", CONTAINER_CREDENTIALS_HOST, rel) < 0)
			return -ENOMEM;
	} else if (nonempty(full)) {
		if (!container_host_allowed(full))
			return aws_error_set(err, -EINVAL, NULL,
			                     "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or "
			                     "a loopback or container host");
		url = strdup(full);
		if (!url)
			return -ENOMEM;
	} else {
		return aws_error_set(err, -ENOKEY, NULL, "no container credentials configured");
	}
	if (nonempty(tok_file)) {
		r = read_token_file(tok_file, &file_token);
		if (r < 0)
			return aws_error_set(err, r, NULL, "reading '%s': %s", tok_file,
			                     strerror(-r));
		tok = strstrip(file_token);
	}
	if (nonempty(tok)) {
		if (strpbrk(tok, "\r\n"))
			return aws_error_set(err, -EINVAL, NULL,
			                     "container authorization token has a line break");
		if (strv_pushf(&headers, "Authorization: %s", tok) < 0)
			return -ENOMEM;
	}
	for (unsigned attempt = 0;; attempt++) {
		struct http_request req = {
			.url = url,
			.headers = headers,
			.max_response = CREDS_FILE_MAX,
			.connect_timeout_ms = 1000,
			.timeout_ms = 2000,
			.no_proxy = true,
			.sensitive = true,
		};
		r = http_request(aws_client_http(c), &req, &resp);
		if ((r == 0 && resp.status < 500) || attempt + 1 >= 3)
			break;
		http_response_done(&resp);
	}
	STRV_FOREACH(h, headers)
		explicit_bzero(*h, strlen(*h));
	if (r < 0 || resp.status != 200) {
		if (r == 0)
			r = aws_error_set(err, -EPROTO, NULL,
			                  "container credentials endpoint answered HTTP %ld",
			                  resp.status);
		else
			aws_error_set(err, r, NULL, "container credentials: %s", strerror(-r));
		http_response_done(&resp);
		return r;
	}
	r = aws_credentials_from_json(resp.body.data ? resp.body.data : "", "container", ret, err);
	http_response_done(&resp);
	return r;
}

static int from_imds(struct aws_client *c, struct aws_credentials *ret, struct aws_error *err)
{
	static const char base[] = "/latest/meta-data/iam/security-credentials/";
	_cleanup_free_ char *roles = NULL, *path = NULL;
	_cleanup_secret_ char *json = NULL;
	struct imds_client *imds;
	size_t n;
	int r;

	r = aws_client_imds(c, &imds);
	if (r < 0)
		return r;
	r = imds_get(imds, base, &roles);
	if (r < 0) {
		/* disabled, no role, or nothing listening: nothing more to find (botocore:
		 * NoCredentialsError); an IMDS that connects but never answers is a failed call */
		bool none = r == -ENOENT || r == -ENODEV || r == -ECONNREFUSED ||
		            r == -EHOSTUNREACH || r == -ENETUNREACH;

		return aws_error_set(err, none ? -ENOKEY : r, NULL, "instance metadata: %s",
		                     r == -ENOENT   ? "no IAM role"
		                     : r == -ENODEV ? "disabled by AWS_EC2_METADATA_DISABLED"
		                                    : strerror(-r));
	}
	n = strcspn(roles, "\r\n");
	roles[n] = '\0';
	if (!n || roles[strcspn(roles, "/?#%")])
		return aws_error_set(err, -EBADMSG, NULL, "instance metadata names no usable role");
	if (asprintf(&path, "%s%s", base, roles) < 0)
		return -ENOMEM;
	r = imds_get(imds, path, &json);
	if (r < 0)
		return aws_error_set(err, r, NULL, "instance role credentials: %s", strerror(-r));
	return aws_credentials_from_json(json, "imds", ret, err);
}

bool aws_config_error(int r)
{
	return r == -EINVAL || r == -ENOKEY || r == -ELOOP || r == -EOPNOTSUPP || r == -ENOENT ||
	       r == -EACCES || r == -EISDIR;
}

int aws_credentials_chain(struct aws_client *c, struct aws_credentials *ret, struct aws_error *err)
{
	const struct aws_config *cfg = aws_client_config(c);
	bool explicit = aws_client_profile_explicit(c);
	int r;

	/* botocore's default chain; --profile takes the environment's keys and web identity
	 * out of it */
	if (!explicit) {
		r = from_environment(ret, err);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	if (assume_role_applies(cfg, cfg->profile)) {
		struct visited v = { .name = { cfg->profile }, .n = 1 };

		return assume_role(c, cfg->profile, &v, ret, err);
	}
	r = profile_providers(c, cfg->profile, !explicit, ret, err);
	if (r != 0)
		return r < 0 ? r : 0;
	if (nonempty(getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) ||
	    nonempty(getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")))
		return from_container(c, ret, err);
	r = from_imds(c, ret, err);
	if (r == -ENOKEY) {
		const char *why =
		        err ? startswith(err->message ?: "", "instance metadata: ") : NULL;

		return aws_error_set(
		        err, r, NULL,
		        "no credentials: looked at %sprofile '%s' in '%s' and '%s', %s"
		        "container credentials and instance metadata (%s); set %s",
		        explicit ? "" : "AWS_ACCESS_KEY_ID, ", cfg->profile,
		        aws_config_file_path(cfg, AWS_FILE_CREDENTIALS) ?: "",
		        aws_config_file_path(cfg, AWS_FILE_CONFIG) ?: "",
		        explicit ? "" : "AWS_WEB_IDENTITY_TOKEN_FILE, ", why ? why : "none",
		        explicit ? "keys in that profile"
		                 : "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile "
		                   "with keys (--profile, AWS_PROFILE)");
	}
	return r;
}

int aws_imds_region(struct aws_client *c, char **ret, struct aws_error *err)
{
	struct imds_client *imds;
	char *region = NULL;
	int r;

	r = aws_client_imds(c, &imds);
	if (r == 0)
		r = imds_get(imds, "/latest/meta-data/placement/region", &region);
	if (r >= 0 && !region)
		r = -EBADMSG;
	if (r < 0 && r != -EBADMSG && r != -ENOMEM && r != -EINTR) {
		const struct aws_config *cfg = aws_client_config(c);

		return aws_error_set(err, -ENOKEY, NULL,
		                     "no region: set --region, AWS_REGION, AWS_DEFAULT_REGION or "
		                     "region in profile '%s' of '%s' (instance metadata: %s)",
		                     cfg->profile, aws_config_file_path(cfg, AWS_FILE_CONFIG) ?: "",
		                     r == -ENODEV ? "disabled" : strerror(-r));
	}
	if (r < 0)
		return aws_error_set(err, r, NULL, "no region: instance metadata: %s",
		                     strerror(-r));
	strstrip(region);
	if (!*region || region[strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-")]) {
		free(region);
		return aws_error_set(err, -EBADMSG, NULL, "instance metadata gave a bad region");
	}
	*ret = region;
	return 0;
}
