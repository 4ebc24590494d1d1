/*
 * Secrets Manager GetSecretValue over the JSON 1.1 protocol (signing name
 * "secretsmanager"). Values are secrets: kept in buffers wiped when freed and never put in
 * an error message; secret ids and JSON keys are not.
 */
#ifndef ASGSWAP_SECRETSMANAGER_H
#define ASGSWAP_SECRETSMANAGER_H

#include "aws.h"

#define SECRETSMANAGER_VALUE_MAX ((size_t)64 << 10) /* AWS's own limit */

struct cJSON;

/*
 * The SecretString of secret_id (a name or an ARN), its AWSCURRENT version; with json_key,
 * that key of the JSON object it holds. *ret is a secret: free it with secret_free(). 0;
 * -EREMOTEIO with err->code "ResourceNotFoundException" when there is no such secret; -ENOENT
 * (err set) when the object has no such key; -EMEDIUMTYPE (err set) for a binary secret, a
 * secret that is no JSON object or a key whose value is not a string; what aws_call()
 * returns; -EBADMSG (err set) for an answer that is not one.
 */
int secretsmanager_get_secret_value(struct aws_client *c, const char *secret_id,
                                    const char *json_key, char **ret, struct aws_error *err);

/* The answer, {"SecretString": "..."} or {"SecretBinary": "..."}, parsed as above. */
int secretsmanager_value_from_json(const struct cJSON *j, const char *secret_id,
                                   const char *json_key, char **ret, struct aws_error *err);

#endif
