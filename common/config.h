/*
 * Where AWS calls go and how: profile, region, endpoints, attempts, CA bundle. Resolved as
 * botocore (configprovider.py, session.py) resolves them, from command-line options, the
 * environment (read with getenv only) and the shared config and credentials files.
 */
#ifndef ASGSWAP_CONFIG_H
#define ASGSWAP_CONFIG_H

#include <stdbool.h>

#include "ini.h"
#include "macro.h"

enum aws_service {
	AWS_SVC_AUTOSCALING,
	AWS_SVC_ELB,
	AWS_SVC_ELBV2,
	AWS_SVC_EC2,
	AWS_SVC_STS,
	AWS_SVC_CLOUDWATCH,
	AWS_SVC_ECR,
	AWS_SVC_SSM,
	AWS_SVC_SECRETSMANAGER,
	AWS_SVC_DYNAMODB,
	AWS_SVC_EVENTS,
	_AWS_SVC_MAX
};

struct aws_service_info {
	const char *name;         /* for logs: "autoscaling" */
	const char *endpoint_env; /* AWS_ENDPOINT_URL_<this>: "AUTO_SCALING" */
	const char *services_key; /* key in a [services x] section: "auto_scaling" */
	const char *host_prefix;  /* <this>.<region>.amazonaws.com: "autoscaling" */
	const char *signing_name; /* SigV4 service: "autoscaling" */
	const char *api_version;  /* "2011-01-01" */
};

/* NULL for a value out of range. */
const struct aws_service_info *aws_service_info(enum aws_service s);

/* Command-line overrides; any may be NULL. */
struct aws_config_options {
	const char *region;
	const char *profile;
	const char *endpoint_url;
};

enum aws_retry_mode {
	AWS_RETRY_STANDARD,
	AWS_RETRY_ADAPTIVE, /* standard plus client-side rate limiting on throttling */
};

struct aws_config {
	/* --profile, AWS_DEFAULT_PROFILE, AWS_PROFILE (botocore checks the legacy name first),
	 * else "default" */
	char *profile;
	bool profile_explicit; /* named by option or environment; then it must exist */
	/* --region, AWS_REGION, AWS_DEFAULT_REGION, the profile's region; NULL when unknown */
	char *region;
	char *endpoint_url;    /* --endpoint-url, for every service */
	unsigned max_attempts; /* AWS_MAX_ATTEMPTS, the profile's max_attempts, else 3 */
	bool max_attempts_set; /* by the environment or the profile, not the default */
	/* AWS_RETRY_MODE, the profile's retry_mode ("legacy" reads as standard) */
	enum aws_retry_mode retry_mode;
	bool retry_mode_set;
	char *ca_bundle; /* AWS_CA_BUNDLE, the profile's ca_bundle; NULL for none */
	/* AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, else the profile's
	 * ignore_configured_endpoint_urls; "true" in any case means true */
	bool ignore_configured_endpoints;
	char *config_path, *credentials_path;       /* after ~ and $VAR expansion */
	struct ini *config_file, *credentials_file; /* NULL when the file is absent */
	/* the config file's section of the profile ("profile X", "default"); NULL when none */
	const char *profile_section;
};

#define AWS_MAX_ATTEMPTS_DEFAULT 3U

/*
 * 0, or -EINVAL with *ret_error (may be NULL) set to a one-line reason: an unparsable
 * file (with its path and line), a named profile found in neither file, a bad region,
 * AWS_MAX_ATTEMPTS, retry mode or endpoint URL, a `services` section that does not exist. Other
 * negative errno values for files that exist but cannot be read, and -ENOMEM.
 */
int aws_config_load(const struct aws_config_options *o, struct aws_config **ret, char **ret_error);
struct aws_config *aws_config_free(struct aws_config *c);
DEFINE_POINTER_CLEANUP_FUNC(struct aws_config, aws_config_free)

/*
 * A plain value of the active profile: the credentials file's section of that name first,
 * then the config file's [profile X] (or [default]), as botocore merges them. NULL when
 * unset, or when the credentials file sets the key as a sub-section.
 */
const char *aws_config_profile_get(const struct aws_config *c, const char *key);
/* The same for any profile (a source_profile, say), and whether it exists in either file. */
const char *aws_config_get(const struct aws_config *c, const char *profile, const char *key);
bool aws_config_has_profile(const struct aws_config *c, const char *profile);
/* Whether key is set in profile in either file, empty or as a sub-section included: botocore
 * decides on a key's presence, not on its value. */
bool aws_config_has(const struct aws_config *c, const char *profile, const char *key);

/* One file's view of a profile: botocore reads a profile's static keys from one file at a
 * time, never combining a key id from one with a secret or a token from the other. */
enum aws_config_file {
	AWS_FILE_CREDENTIALS,
	AWS_FILE_CONFIG,
};
bool aws_config_file_has(const struct aws_config *c, enum aws_config_file f, const char *profile,
                         const char *key);
const char *aws_config_file_get(const struct aws_config *c, enum aws_config_file f,
                                const char *profile, const char *key);
/* The path of that file (for messages); NULL when AWS_CONFIG_FILE or
 * AWS_SHARED_CREDENTIALS_FILE is set but empty. */
const char *aws_config_file_path(const struct aws_config *c, enum aws_config_file f);

/*
 * The endpoint of service s: --endpoint-url; then, unless configured endpoints are ignored,
 * AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the profile's `services` section, the
 * profile's endpoint_url (botocore's order); else https://<host_prefix>.<region>.<suffix>.
 * region overrides the configured one (NULL: use it). -EINVAL without a region, with a
 * bad region, or a configured URL that is not http(s)://host.
 */
int aws_config_endpoint(const struct aws_config *c, enum aws_service s, const char *region,
                        char **ret_url);

/* Whether s is an http:// or https:// URL with a host (exposed for the tests). */
bool aws_endpoint_url_is_valid(const char *s);
/* Whether s is a region name botocore accepts: a DNS label of letters, digits and '-', not
 * all digits; unlike botocore, never empty. */
bool aws_region_is_valid(const char *s);

#endif
