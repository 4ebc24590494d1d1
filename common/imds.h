/*
 * IMDSv2 client: a session token from PUT /latest/api/token, reused until it nears its TTL
 * and renewed on 401; no IMDSv1 fallback. Short timeouts and a few attempts, so that a
 * machine without IMDS fails fast. AWS_EC2_METADATA_SERVICE_ENDPOINT moves it (tests),
 * AWS_EC2_METADATA_DISABLED=true turns it off.
 */
#ifndef ASGSWAP_IMDS_H
#define ASGSWAP_IMDS_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "macro.h"

#define IMDS_ENDPOINT_DEFAULT "http://169.254.169.254"
#define IMDS_TOKEN_TTL_S      21600
#define IMDS_ATTEMPTS         3
#define IMDS_MAX_RESPONSE     ((size_t)64 << 10)

struct imds_client;

/* http is borrowed and must outlive the client. */
int imds_client_new(struct http_client *http, struct imds_client **ret);
struct imds_client *imds_client_free(struct imds_client *c);
DEFINE_POINTER_CLEANUP_FUNC(struct imds_client, imds_client_free)

/*
 * GETs path (e.g. "/latest/meta-data/instance-id"). 0 with the body (NUL-terminated, to
 * free()); -ENOENT for 404, -EACCES for 403 (IMDS turned off for the instance), -EPERM when a
 * fresh token is refused too, -ENODEV when disabled by the environment, -EBADMSG for another
 * status, or a transport error (-ETIMEDOUT, -ECONNREFUSED, ...) after IMDS_ATTEMPTS.
 */
int imds_get(struct imds_client *c, const char *path, char **ret);

#endif
