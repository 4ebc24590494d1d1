/*
 * The AWS JSON protocols, 1.1 (ECR, SSM, Secrets Manager) and 1.0 (DynamoDB), which differ
 * only in the Content-Type: a POST of a JSON document to the
 * service endpoint with X-Amz-Target PREFIX.ACTION, an answer that is one JSON document,
 * errors as {"__type": "...#Code", "message": "..."}.
 */
#ifndef ASGSWAP_AWSJSON_H
#define ASGSWAP_AWSJSON_H

#include "aws.h"

struct cJSON;

/*
 * Sends request (NULL: {}) as target_prefix.action and parses the answer into *ret (free
 * with cJSON_Delete; after json_wipe() when sensitive). sensitive: the answer holds a
 * secret, its buffers are wiped. 0, -EBADMSG (err set) for an answer that is not a JSON
 * object, or what aws_call() returns.
 */
int awsjson_call(struct aws_client *c, enum aws_service service, const char *target_prefix,
                 const char *action, const struct cJSON *request, size_t max_response,
                 bool sensitive, struct cJSON **ret, struct aws_error *err);

/* awsjson_call() of an answer without secrets, every attempt within deadline_ms (0: the
 * default deadline) and at most max_attempts of them (0: the client's): for a call that
 * must not hold up the caller for long. */
int awsjson_call_within(struct aws_client *c, enum aws_service service, const char *target_prefix,
                        const char *action, const struct cJSON *request, size_t max_response,
                        long deadline_ms, unsigned max_attempts, struct cJSON **ret,
                        struct aws_error *err);

/* The same over JSON 1.0. */
int awsjson10_call(struct aws_client *c, enum aws_service service, const char *target_prefix,
                   const char *action, const struct cJSON *request, size_t max_response,
                   bool sensitive, struct cJSON **ret, struct aws_error *err);

/* Fills err from a JSON protocol error body. */
void awsjson_parse_error(const struct http_response *r, struct aws_error *err);

#endif
