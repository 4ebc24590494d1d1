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

/* 1 when found, 0 when the environment has none, negative on error. */
static int from_environment(struct aws_credentials *ret, struct aws_error *err)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");
	int r;

	if (!nonempty(id) && !nonempty(secret))
		return 0;
	if (!nonempty(id) || !nonempty(secret))
		return aws_error_set(err, -EINVAL, NULL,
		                     "partial credentials in the environment: %s is not set",
		                     nonempty(id) ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	if (!nonempty(token))
		token = getenv("AWS_SECURITY_TOKEN");
	r = set_keys(ret, id, secret, token, 0, "environment");
	return r < 0 ? r : 1;
}

static int static_keys(const struct aws_config *cfg, const char *profile,
                       struct aws_credentials *ret, struct aws_error *err)
{
	const char *id = aws_config_get(cfg, profile, "aws_access_key_id");
	const char *secret = aws_config_get(cfg, profile, "aws_secret_access_key");
	const char *token = aws_config_get(cfg, profile, "aws_session_token");
	int r;

	if (!nonempty(id) && !nonempty(secret))
		return 0;
	if (!nonempty(id) || !nonempty(secret))
		return aws_error_set(err, -EINVAL, NULL,
		                     "partial credentials in profile '%s': %s is missing", profile,
		                     nonempty(id) ? "aws_secret_access_key" : "aws_access_key_id");
	if (!nonempty(token))
		token = aws_config_get(cfg, profile, "aws_security_token");
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

static int from_web_identity(struct aws_client *c, const char *token_file, const char *role_arn,
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
		                     "web identity token file '%s' without a role ARN", token_file);
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

static int from_container(struct aws_client *c, struct aws_credentials *ret, struct aws_error *err);
static int from_imds(struct aws_client *c, struct aws_credentials *ret, struct aws_error *err);
static int from_profile(struct aws_client *c, const char *profile, unsigned depth,
                        struct aws_credentials *ret, struct aws_error *err);

static int assume_role(struct aws_client *c, const char *profile, const char *role_arn,
                       unsigned depth, struct aws_credentials *ret, struct aws_error *err)
{
	const struct aws_config *cfg = aws_client_config(c);
	const char *source = aws_config_get(cfg, profile, "source_profile");
	const char *csource = aws_config_get(cfg, profile, "credential_source");
	const char *ext = aws_config_get(cfg, profile, "external_id");
	const char *duration = aws_config_get(cfg, profile, "duration_seconds");
	_cleanup_(aws_credentials_done) struct aws_credentials base = { 0 };
	_cleanup_query_ struct query *qp = NULL;
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	struct query q;
	char name[64];
	unsigned secs;
	int r;

	if (nonempty(aws_config_get(cfg, profile, "mfa_serial")))
		return aws_error_set(err, -EOPNOTSUPP, NULL,
		                     "profile '%s' needs an MFA code (mfa_serial): not supported",
		                     profile);
	if (nonempty(source) == nonempty(csource))
		return aws_error_set(err, -EINVAL, NULL,
		                     "profile '%s' has role_arn and needs exactly one of "
		                     "source_profile and credential_source",
		                     profile);
	if (nonempty(source)) {
		if (!aws_config_has_profile(cfg, source))
			return aws_error_set(err, -EINVAL, NULL,
			                     "source_profile '%s' of profile '%s' does not exist",
			                     source, profile);
		if (depth >= CREDS_MAX_ROLE_CHAIN)
			return aws_error_set(err, -ELOOP, NULL,
			                     "profile '%s': source_profile chain longer than %d "
			                     "(a cycle?)",
			                     profile, CREDS_MAX_ROLE_CHAIN);
		/* A profile that is its own source uses its static keys (botocore). */
		r = streq(source, profile) ? static_keys(cfg, source, &base, err)
		                           : from_profile(c, source, depth + 1, &base, err);
		if (r == 0)
			r = aws_error_set(err, -ENOKEY, NULL,
			                  "source profile '%s' of '%s' has no credentials", source,
			                  profile);
	} else if (strcasecmp(csource, "Environment") == 0) {
		r = from_environment(&base, err);
		if (r == 0)
			r = aws_error_set(err, -ENOKEY, NULL,
			                  "credential_source Environment, but no keys in the "
			                  "environment");
	} else if (strcasecmp(csource, "EcsContainer") == 0) {
		r = from_container(c, &base, err);
	} else if (strcasecmp(csource, "Ec2InstanceMetadata") == 0) {
		r = from_imds(c, &base, err);
	} else {
		r = aws_error_set(err, -EINVAL, NULL,
		                  "profile '%s': unknown credential_source '%s'", profile, csource);
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

/* 1 when the profile gave credentials, 0 when it names none, negative on error. */
static int from_profile(struct aws_client *c, const char *profile, unsigned depth,
                        struct aws_credentials *ret, struct aws_error *err)
{
	const struct aws_config *cfg = aws_client_config(c);
	const char *role_arn = aws_config_get(cfg, profile, "role_arn");
	const char *token_file = aws_config_get(cfg, profile, "web_identity_token_file");
	int r;

	if (nonempty(role_arn) && !nonempty(token_file)) {
		r = assume_role(c, profile, role_arn, depth, ret, err);
		return r < 0 ? r : 1;
	}
	if (nonempty(token_file)) {
		r = from_web_identity(c, token_file, role_arn,
		                      aws_config_get(cfg, profile, "role_session_name"), ret, err);
		return r < 0 ? r : 1;
	}
	if (nonempty(aws_config_get(cfg, profile, "sso_start_url")) ||
	    nonempty(aws_config_get(cfg, profile, "sso_session")))
		return aws_error_set(err, -EOPNOTSUPP, NULL,
		                     "profile '%s' uses SSO: not supported yet; export keys or "
		                     "use another profile",
		                     profile);
	if (nonempty(aws_config_get(cfg, profile, "credential_process")))
		return aws_error_set(err, -EOPNOTSUPP, NULL,
		                     "profile '%s' uses credential_process: not supported yet",
		                     profile);
	return static_keys(cfg, profile, ret, err);
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
		return aws_error_set(err, -EACCES, NULL, "%s credentials: %s", source, code);
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
			r = aws_error_set(err, -EACCES, NULL,
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
	if (r < 0)
		return aws_error_set(err, r == -ENOENT ? -ENOKEY : r, NULL,
		                     "no credentials: none in the environment or profile, and "
		                     "instance metadata %s",
		                     r == -ENOENT   ? "has no IAM role"
		                     : r == -ENODEV ? "is disabled (AWS_EC2_METADATA_DISABLED)"
		                                    : strerror(-r));
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

int aws_credentials_chain(struct aws_client *c, struct aws_credentials *ret, struct aws_error *err)
{
	const struct aws_config *cfg = aws_client_config(c);
	const char *wi_file = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	int r;

	/* An explicit --profile outranks keys in the environment (botocore). */
	if (!aws_client_profile_explicit(c)) {
		r = from_environment(ret, err);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	r = from_profile(c, cfg->profile, 0, ret, err);
	if (r != 0)
		return r < 0 ? r : 0;
	if (nonempty(wi_file))
		return from_web_identity(c, wi_file, getenv("AWS_ROLE_ARN"),
		                         getenv("AWS_ROLE_SESSION_NAME"), ret, err);
	if (nonempty(getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) ||
	    nonempty(getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")))
		return from_container(c, ret, err);
	return from_imds(c, ret, err);
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
	if (r < 0)
		return aws_error_set(
		        err, r, NULL,
		        "no region: set --region or AWS_REGION (instance metadata: %s)",
		        r == -ENODEV ? "disabled" : strerror(-r));
	strstrip(region);
	if (!*region || region[strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-")]) {
		free(region);
		return aws_error_set(err, -EBADMSG, NULL, "instance metadata gave a bad region");
	}
	*ret = region;
	return 0;
}
