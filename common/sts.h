/* Typed STS calls (API 2011-06-15) other than the credential providers' own. */
#ifndef ASGSWAP_STS_H
#define ASGSWAP_STS_H

#include <libxml/tree.h>

#include "aws.h"

/* GetCallerIdentity: the ARN of whoever signs with the client's credentials. -EBADMSG for
 * an answer without a printable arn: ARN. */
int sts_get_caller_arn(struct aws_client *c, char **ret, struct aws_error *err);
/* The ARN from a GetCallerIdentity answer (exposed for the tests). */
int sts_caller_arn_from_xml(xmlDoc *doc, char **ret, struct aws_error *err);

#endif
