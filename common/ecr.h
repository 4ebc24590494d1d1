/*
 * ECR GetAuthorizationToken over the JSON 1.1 protocol (signing name "ecr"). The token is
 * base64 of "AWS:password"; both the token and the password are secrets, kept in buffers
 * that are wiped when freed and never put in an error message.
 */
#ifndef ASGSWAP_ECR_H
#define ASGSWAP_ECR_H

#include <time.h>

#include "aws.h"
#include "macro.h"

struct ecr_auth {
	char *username;       /* "AWS" */
	char *password;       /* secret */
	char *proxy_endpoint; /* https://ACCOUNT.dkr.ecr.REGION.amazonaws.com */
	time_t expires_at;    /* 0 when not reported */
};
void ecr_auth_done(struct ecr_auth *a);
#define _cleanup_ecr_auth_ _cleanup_(ecr_auth_done)

/* registry_id: the account of the registry, or NULL for the caller's. -EBADMSG for an answer
 * without a usable token. */
int ecr_get_authorization_token(struct aws_client *c, const char *registry_id, struct ecr_auth *ret,
                                struct aws_error *err);

/* The GetAuthorizationToken answer: {"authorizationData": [{"authorizationToken",
 * "proxyEndpoint", "expiresAt"}]}. -EBADMSG (err set) without a usable token. */
int ecr_auth_from_json(const char *text, size_t len, struct ecr_auth *ret, struct aws_error *err);

/* Whether host is ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]; ret_account (may be NULL) gets
 * the account id. */
int ecr_parse_host(const char *host, char **ret_account);

#endif
