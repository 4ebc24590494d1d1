/*
 * The default credential chain, in botocore's order: environment; the profile's assume-role
 * (role_arn with source_profile or credential_source, through STS AssumeRole); web identity
 * (STS AssumeRoleWithWebIdentity, from the profile or AWS_WEB_IDENTITY_TOKEN_FILE); static
 * keys of the profile (credentials file, then config file); container credentials; IMDSv2
 * role credentials. SSO and credential_process profiles fail with -EOPNOTSUPP, never falling
 * through to another source. No secret ever reaches an error message.
 */
#ifndef ASGSWAP_CREDS_H
#define ASGSWAP_CREDS_H

#include "aws.h"
#include "imds.h"
#include "xml.h"

#define CREDS_MAX_ROLE_CHAIN       32
#define CONTAINER_CREDENTIALS_HOST "http://169.254.170.2"

int aws_credentials_chain(struct aws_client *c, struct aws_credentials *ret, struct aws_error *err);

/*
 * Whether r, from aws_client_new(), aws_client_region() or aws_client_credentials(), says
 * that the configuration is missing or wrong (no region, no keys, a source_profile loop, a
 * profile that cannot work, a token file that cannot be read) rather than that a peer
 * failed: -EINVAL, -ENOKEY, -ELOOP, -EOPNOTSUPP, -ENOENT, -EACCES, -EISDIR.
 */
bool aws_config_error(int r);

/* Region from IMDS (/latest/meta-data/placement/region). */
int aws_imds_region(struct aws_client *c, char **ret, struct aws_error *err);

/* The client's IMDS client, made on first use. */
int aws_client_imds(struct aws_client *c, struct imds_client **ret);

/* Credentials from the JSON of IMDS and container endpoints
 * ({AccessKeyId, SecretAccessKey, Token, Expiration[, Code]}). */
int aws_credentials_from_json(const char *text, const char *source, struct aws_credentials *ret,
                              struct aws_error *err);

/* Credentials out of the <Credentials> element of an STS AssumeRole or
 * AssumeRoleWithWebIdentity answer. */
int aws_credentials_from_sts(xmlDoc *doc, const char *source, struct aws_credentials *ret,
                             struct aws_error *err);

#endif
