/* STS GetCallerIdentity: who a release was made by, for the release history. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "strutil.h"
#include "sts.h"
#include "xml.h"
#include "banned.h"

/* IAM ARNs stay far below this; anything longer is not one. */
#define STS_MAX_ARN 2048

int sts_caller_arn_from_xml(xmlDoc *doc, char **ret, struct aws_error *err)
{
	xmlNode *res = xml_find(xmlDocGetRootElement(doc), "GetCallerIdentityResult");
	_cleanup_free_ char *arn = NULL;

	if (!res || xml_child_text(res, "Arn", &arn) < 0 || !startswith(arn, "arn:") ||
	    strlen(arn) > STS_MAX_ARN)
		return aws_error_set(err, -EBADMSG, NULL,
		                     "GetCallerIdentity answered without an ARN");
	for (const char *p = arn; *p; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f)
			return aws_error_set(err, -EBADMSG, NULL,
			                     "GetCallerIdentity answered with an unprintable ARN");
	*ret = TAKE_PTR(arn);
	return 0;
}

int sts_get_caller_arn(struct aws_client *c, char **ret, struct aws_error *err)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	struct query q = { 0 };
	_cleanup_query_ struct query *qp = &q;
	int r;

	r = query_init(&q, AWS_SVC_STS, "GetCallerIdentity");
	if (r < 0)
		return r;
	r = aws_query(c, &q, &doc, err);
	if (r < 0)
		return r;
	return sts_caller_arn_from_xml(doc, ret, err);
}
