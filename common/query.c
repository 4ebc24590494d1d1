#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "query.h"
#include "strutil.h"
#include "banned.h"

#define QUERY_MAX_BODY ((size_t)1 << 20)

int query_init(struct query *q, enum aws_service service, const char *action)
{
	*q = (struct query){ .service = service };
	buf_init(&q->body, QUERY_MAX_BODY);
	q->action = strdup(action);
	if (!q->action)
		return -ENOMEM;
	query_add(q, "Action", action);
	query_add(q, "Version", aws_service_info(service)->api_version);
	return q->error;
}

int query_init_sensitive(struct query *q, enum aws_service service, const char *action)
{
	int r = query_init(q, service, action);

	q->sensitive = true;
	q->body.secret = true;
	return r;
}

void query_done(struct query *q)
{
	if (!q)
		return;
	free(q->action);
	q->action = NULL;
	buf_free(&q->body);
}

void query_add(struct query *q, const char *key, const char *value)
{
	int r = 0;

	if (q->error)
		return;
	if (q->body.len)
		r = buf_putc(&q->body, '&');
	if (r == 0)
		r = form_encode(&q->body, key, strlen(key));
	if (r == 0)
		r = buf_putc(&q->body, '=');
	if (r == 0)
		r = form_encode(&q->body, value, strlen(value));
	q->error = r;
}

void query_addf(struct query *q, const char *value, const char *keyfmt, ...)
{
	_cleanup_free_ char *key = NULL;
	va_list ap;
	int n;

	va_start(ap, keyfmt);
	n = vasprintf(&key, keyfmt, ap);
	va_end(ap);
	if (n < 0) {
		key = NULL;
		if (!q->error)
			q->error = -ENOMEM;
		return;
	}
	query_add(q, key, value);
}

void query_add_uint(struct query *q, const char *key, unsigned long long value)
{
	char v[32];

	snprintf(v, sizeof(v), "%llu", value);
	query_add(q, key, v);
}

void query_add_bool(struct query *q, const char *key, bool value)
{
	query_add(q, key, value ? "true" : "false");
}

void query_add_list(struct query *q, const char *name, char *const *values)
{
	bool ec2 = q->service == AWS_SVC_EC2;
	size_t i = 0;

	STRV_FOREACH(v, values)
		query_addf(q, *v, ec2 ? "%s.%zu" : "%s.member.%zu", name, ++i);
}

void query_parse_error(const struct http_response *r, struct aws_error *err)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	xmlNode *root, *e;

	if (!r->body.data || xml_parse(r->body.data, r->body.len, &doc) < 0) {
		aws_error_set(err, 0, NULL, "HTTP %ld with a body that is not an AWS error",
		              r->status);
		return;
	}
	root = xmlDocGetRootElement(doc);
	e = xml_find(root, "Error");
	if (e) {
		free(err->code);
		err->code = NULL;
		(void)xml_child_text(e, "Code", &err->code);
		free(err->message);
		err->message = NULL;
		(void)xml_child_text(e, "Message", &err->message);
	}
	if (!err->request_id && xml_child_text(root, "RequestId", &err->request_id) < 0)
		(void)xml_child_text(root, "RequestID", &err->request_id);
	if (!err->code && !err->message)
		aws_error_set(err, 0, NULL, "HTTP %ld with a body that is not an AWS error",
		              r->status);
}

int aws_query(struct aws_client *c, struct query *q, xmlDoc **ret, struct aws_error *err)
{
	struct http_response resp;
	int r;

	if (q->error)
		return aws_error_set(err, q->error, NULL, "building %s: %s", q->action,
		                     strerror(-q->error));
	struct aws_call call = {
		.service = q->service,
		.action = q->action,
		.content_type = "application/x-www-form-urlencoded; charset=utf-8",
		.body = q->body.data,
		.body_len = q->body.len,
		.anonymous = q->anonymous,
		.sensitive = q->sensitive,
		.credentials = q->credentials,
		.deadline_ms = q->deadline_ms,
		.max_response = XML_MAX_DOCUMENT,
		.parse_error = query_parse_error,
	};
	r = aws_call(c, &call, &resp, err);
	if (r == 0) {
		r = xml_parse(resp.body.data ? resp.body.data : "", resp.body.len, ret);
		if (r < 0)
			aws_error_set(err, r, NULL, "%s: the response is not XML", q->action);
	}
	http_response_done(&resp);
	return r;
}

int aws_query_pages(struct aws_client *c, struct query *q, const char *token_param,
                    const char *token_element, unsigned max_pages,
                    int (*page)(xmlDoc *doc, void *userdata), void *userdata, struct aws_error *err)
{
	size_t base_len = q->body.len;
	_cleanup_free_ char *token = NULL;
	int r = 0;

	for (unsigned n = 0; n < (max_pages ? max_pages : 1000); n++) {
		_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;

		q->body.len = base_len;
		q->body.data[base_len] = '\0';
		if (token)
			query_add(q, token_param, token);
		r = aws_query(c, q, &doc, err);
		if (r < 0)
			break;
		r = page(doc, userdata);
		if (r < 0)
			break;
		free(token);
		token = xml_text(xml_find(xmlDocGetRootElement(doc), token_element));
		if (!token || !*token) {
			r = 0;
			break;
		}
		if (n + 1 == (max_pages ? max_pages : 1000))
			r = aws_error_set(err, -ELOOP, NULL, "%s: more than %u pages", q->action,
			                  n + 1);
	}
	q->body.len = base_len;
	q->body.data[base_len] = '\0';
	return r;
}
