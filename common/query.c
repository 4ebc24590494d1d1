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

	(void)snprintf(v, sizeof(v), "%llu", value);
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

/* The call that sends q. */
static struct aws_call query_call(const struct query *q)
{
	return (struct aws_call){
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
}

/* The document of a 2xx answer: XML whose root is <ActionResponse>, as every Query and EC2
 * answer is; anything else (a proxy's or a captive portal's page) is no answer. */
static int parse_answer(const struct http_response *resp, const char *action, xmlDoc **ret,
                        struct aws_error *err)
{
	const xmlNode *root;
	size_t n = strlen(action);
	int r;

	*ret = NULL;
	r = xml_parse(resp->body.data ? resp->body.data : "", resp->body.len, ret);
	if (r < 0)
		return aws_error_set(err, r, NULL, "%s: the response is not XML", action);
	root = xmlDocGetRootElement(*ret);
	if (!root->name || strncmp((const char *)root->name, action, n) != 0 ||
	    !streq((const char *)root->name + n, "Response")) {
		xmlFreeDoc(*ret);
		*ret = NULL;
		return aws_error_set(err, -EBADMSG, NULL,
		                     "%s: the response is not XML of %sResponse", action, action);
	}
	return 0;
}

int aws_query(struct aws_client *c, struct query *q, xmlDoc **ret, struct aws_error *err)
{
	struct http_response resp;
	int r;

	if (q->error)
		return aws_error_set(err, q->error, NULL, "building %s: %s", q->action,
		                     strerror(-q->error));
	struct aws_call call = query_call(q);
	r = aws_call(c, &call, &resp, err);
	if (r == 0)
		r = parse_answer(&resp, q->action, ret, err);
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

/* ---- Additions for the controller's typed calls ---- */

void query_items_done(struct query_items *items)
{
	if (!items)
		return;
	for (size_t i = 0; i < items->n_docs; i++)
		xmlFreeDoc(items->docs[i]);
	free(items->docs);
	free(items->nodes);
	*items = (struct query_items){ 0 };
}

struct items_ctx {
	const char *list_element;
	struct query_items *items;
};

static int items_page(xmlDoc *doc, void *userdata)
{
	struct items_ctx *ctx = userdata;

	return query_items_add(ctx->items, doc, ctx->list_element);
}

int query_items_add(struct query_items *it, xmlDoc *doc, const char *list_element)
{
	xmlNode *list;
	xmlDoc **docs;
	xmlDoc *copy;

	/* aws_query_pages frees each page after the callback: keep a copy of this one. */
	copy = xmlCopyDoc(doc, 1);
	if (!copy)
		return -ENOMEM;
	docs = realloc(it->docs, (it->n_docs + 1) * sizeof(*docs));
	if (!docs) {
		xmlFreeDoc(copy);
		return -ENOMEM;
	}
	it->docs = docs;
	it->docs[it->n_docs++] = copy;
	list = xml_find(xmlDocGetRootElement(copy), list_element);
	XML_FOREACH_CHILD(m, list, "member") {
		xmlNode **nodes = realloc(it->nodes, (it->n + 1) * sizeof(*nodes));

		if (!nodes)
			return -ENOMEM;
		it->nodes = nodes;
		it->nodes[it->n++] = m;
	}
	return 0;
}

int aws_query_items(struct aws_client *c, struct query *q, const char *token_param,
                    const char *token_element, const char *list_element, struct query_items *ret,
                    struct aws_error *err)
{
	struct query_items items = { 0 };
	struct items_ctx ctx = { list_element, &items };
	int r;

	r = aws_query_pages(c, q, token_param, token_element, 0, items_page, &ctx, err);
	if (r < 0) {
		query_items_done(&items);
		return r;
	}
	*ret = items;
	return 0;
}

#define QUERY_MAX_PAGES 1000

int aws_query_items_many(struct aws_client *c, struct query *const *qs, size_t n,
                         const char *token_param, const char *token_element,
                         const char *const *list_elements, struct query_items *items,
                         struct aws_error *errs, int *results)
{
	_cleanup_free_ size_t *base = calloc(n ? n : 1, sizeof(*base));
	_cleanup_free_ size_t *idx = calloc(n ? n : 1, sizeof(*idx));
	_cleanup_free_ char **tokens = calloc(n ? n : 1, sizeof(*tokens));
	_cleanup_free_ struct query **sub = calloc(n ? n : 1, sizeof(*sub));
	_cleanup_free_ xmlDoc **docs = calloc(n ? n : 1, sizeof(*docs));
	_cleanup_free_ struct aws_error *es = calloc(n ? n : 1, sizeof(*es));
	_cleanup_free_ int *res = calloc(n ? n : 1, sizeof(*res));
	int r = 0;

	if (!base || !idx || !tokens || !sub || !docs || !es || !res)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		base[i] = qs[i]->body.len;
		items[i] = (struct query_items){ 0 };
		aws_error_clear(&errs[i]);
		results[i] = 1; /* pending */
	}
	for (unsigned page = 0; r == 0; page++) {
		size_t m = 0;

		for (size_t i = 0; i < n; i++) {
			if (results[i] != 1)
				continue;
			if (page == QUERY_MAX_PAGES) {
				results[i] = aws_error_set(&errs[i], -ELOOP, NULL,
				                           "%s: more than %u pages", qs[i]->action,
				                           QUERY_MAX_PAGES);
				continue;
			}
			if (tokens[i])
				query_add(qs[i], token_param, tokens[i]);
			sub[m] = qs[i];
			idx[m++] = i;
		}
		if (m == 0)
			break;
		r = aws_query_many(c, sub, m, docs, es, res);
		for (size_t k = 0; k < m; k++) {
			size_t i = idx[k];
			int e = r < 0 ? r : res[k];

			qs[i]->body.len = base[i];
			if (qs[i]->body.data)
				qs[i]->body.data[base[i]] = '\0';
			if (e == 0) {
				free(tokens[i]);
				tokens[i] = xml_text(
				        xml_find(xmlDocGetRootElement(docs[k]), token_element));
				e = query_items_add(&items[i], docs[k], list_elements[i]);
			}
			if (e < 0) {
				results[i] = e;
				errs[i] = es[k];
				es[k] = (struct aws_error){ 0 };
			} else if (!tokens[i] || !*tokens[i]) {
				results[i] = 0;
			}
			if (docs[k])
				xmlFreeDoc(docs[k]);
			docs[k] = NULL;
			aws_error_clear(&es[k]);
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(tokens[i]);
		if (r < 0 && results[i] == 1)
			results[i] = r;
		if (results[i] < 0)
			query_items_done(&items[i]);
	}
	return r;
}

static bool has_element_children(const xmlNode *n)
{
	for (const xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return true;
	return false;
}

static bool in_list(const char *const *list, const char *s)
{
	for (; list && *list; list++)
		if (streq(*list, s))
			return true;
	return false;
}

/* Structures in AWS responses nest a few levels (metric math: Metrics.member.N.MetricStat.
 * Metric.Dimensions.member.N.Name); the cap only guards against hostile documents. */
#define QUERY_XML_MAX_DEPTH 16

static int add_from_xml(struct query *q, const char *key, const xmlNode *node,
                        const char *const *skip, query_rewrite_fn rewrite, void *userdata,
                        unsigned depth)
{
	bool ec2 = q->service == AWS_SVC_EC2;
	int r;

	if (depth > QUERY_XML_MAX_DEPTH)
		return -ELOOP;
	if (!has_element_children(node)) {
		_cleanup_free_ char *text = xml_text(node);
		const char *v;

		if (!text)
			return -ENOMEM;
		if (!*text || !key)
			return 0;
		v = rewrite ? rewrite(userdata, key, (const char *)node->name, text) : text;
		if (v)
			query_add(q, key, v);
		return q->error;
	}
	if (xml_child(node, "member") || xml_child(node, "item")) {
		const char *elem = xml_child(node, "member") ? "member" : "item";
		size_t i = 0;

		XML_FOREACH_CHILD(m, node, elem) {
			_cleanup_free_ char *k = NULL;

			if (asprintf(&k, ec2 ? "%s.%zu" : "%s.member.%zu", key ? key : "", ++i) < 0)
				return -ENOMEM;
			r = add_from_xml(q, k, m, skip, rewrite, userdata, depth + 1);
			if (r < 0)
				return r;
		}
		return 0;
	}
	for (const xmlNode *c = node->children; c; c = c->next) {
		_cleanup_free_ char *k = NULL;

		if (c->type != XML_ELEMENT_NODE || in_list(skip, (const char *)c->name))
			continue;
		if (key ? asprintf(&k, "%s.%s", key, (const char *)c->name) < 0
		        : !(k = strdup((const char *)c->name)))
			return -ENOMEM;
		r = add_from_xml(q, k, c, skip, rewrite, userdata, depth + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

int query_add_from_xml(struct query *q, const char *prefix, const xmlNode *node,
                       const char *const *skip, query_rewrite_fn rewrite, void *userdata)
{
	int r;

	if (!node)
		return -EINVAL;
	r = add_from_xml(q, prefix, node, skip, rewrite, userdata, 0);
	if (r < 0 && !q->error)
		q->error = r;
	return r < 0 ? r : q->error;
}

int aws_query_many(struct aws_client *c, struct query *const *qs, size_t n, xmlDoc **docs,
                   struct aws_error *errs, int *results)
{
	_cleanup_free_ struct aws_call *calls = calloc(n ? n : 1, sizeof(*calls));
	_cleanup_free_ struct http_response *resps = calloc(n ? n : 1, sizeof(*resps));
	_cleanup_free_ int *res = calloc(n ? n : 1, sizeof(*res));
	_cleanup_free_ size_t *idx = calloc(n ? n : 1, sizeof(*idx));
	_cleanup_free_ struct aws_error *es = calloc(n ? n : 1, sizeof(*es));
	size_t m = 0;
	int r = 0;

	if (!calls || !resps || !res || !idx || !es)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct query *q = qs[i];

		docs[i] = NULL;
		aws_error_clear(&errs[i]);
		if (q->error) {
			results[i] = aws_error_set(&errs[i], q->error, NULL, "building %s: %s",
			                           q->action, strerror(-q->error));
			continue;
		}
		calls[m] = query_call(q);
		idx[m++] = i;
	}
	if (m)
		r = aws_call_many(c, calls, m, resps, es, res);
	for (size_t k = 0; k < m; k++) {
		size_t i = idx[k];

		results[i] = r < 0 ? r : res[k];
		if (results[i] == 0)
			results[i] = parse_answer(&resps[k], qs[i]->action, &docs[i], &es[k]);
		errs[i] = es[k];
		es[k] = (struct aws_error){ 0 };
		http_response_done(&resps[k]);
	}
	return r;
}
