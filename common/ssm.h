/*
 * SSM Parameter Store GetParametersByPath over the JSON 1.1 protocol (signing name "ssm"),
 * recursive and with decryption, every page. Values are secrets: kept in buffers wiped when
 * freed and never put in an error message; parameter names are not.
 */
#ifndef ASGSWAP_SSM_H
#define ASGSWAP_SSM_H

#include "aws.h"
#include "macro.h"

#define SSM_MAX_PARAMETERS 1000
#define SSM_MAX_PAGES      200
#define SSM_VALUE_MAX      ((size_t)64 << 10)

struct cJSON;

struct ssm_parameter {
	char *name;  /* the full name: /path/to/NAME */
	char *value; /* secret */
};
struct ssm_parameters {
	struct ssm_parameter *v;
	size_t n;
};
void ssm_parameters_done(struct ssm_parameters *p);
#define _cleanup_ssm_parameters_ _cleanup_(ssm_parameters_done)

/* Every parameter under path ("/a/b", without or with a final '/'), in the order SSM gives
 * them. 0 (also for none), or what aws_call() returns, -EBADMSG (err set) for an answer that
 * is not one, -E2BIG past SSM_MAX_PARAMETERS or SSM_MAX_PAGES. */
int ssm_get_parameters_by_path(struct aws_client *c, const char *path, struct ssm_parameters *ret,
                               struct aws_error *err);

/* One page's answer, {"Parameters": [{"Name", "Value", ...}], "NextToken"}: appends its
 * parameters to p (each must be a string Name under path and a string Value) and sets
 * *ret_next to the NextToken or NULL. -EBADMSG (err set, naming the parameter) otherwise. */
int ssm_page_from_json(const struct cJSON *j, const char *path, struct ssm_parameters *p,
                       char **ret_next, struct aws_error *err);

/* The last component of a parameter's name ("/a/b/DB_URL" -> "DB_URL"). */
const char *ssm_parameter_basename(const char *name);

#endif
