#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "awsjson.h"
#include "dynamodb.h"
#include "jsonutil.h"
#include "strutil.h"
#include "banned.h"

#define DDB_TARGET_PREFIX "DynamoDB_20120810"

static void value_done(struct ddb_value *v)
{
	free(v->s);
	for (size_t i = 0; i < v->n; i++)
		value_done(&v->l[i]);
	free(v->l);
	v->m = ddb_item_free(v->m);
	*v = (struct ddb_value){ 0 };
}

struct ddb_item *ddb_item_new(void)
{
	return calloc(1, sizeof(struct ddb_item));
}

struct ddb_item *ddb_item_free(struct ddb_item *it)
{
	if (!it)
		return NULL;
	for (size_t i = 0; i < it->n; i++) {
		free(it->v[i].name);
		value_done(&it->v[i].v);
	}
	free(it->v);
	free(it);
	return NULL;
}

void ddb_items_done(struct ddb_items *items)
{
	if (!items)
		return;
	for (size_t i = 0; i < items->n; i++)
		ddb_item_free(items->v[i]);
	free(items->v);
	*items = (struct ddb_items){ 0 };
}

/* Attribute names: printable, since they end up in messages. */
static bool name_is_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > DDB_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

bool ddb_number_is_valid(const char *s)
{
	const char *p = s;
	size_t digits = 0;

	if (!s || strlen(s) > DDB_MAX_NUMBER)
		return false;
	if (*p == '-')
		p++;
	for (; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (*p == '.') {
		p++;
		for (; *p >= '0' && *p <= '9'; p++)
			digits++;
	}
	if (digits == 0)
		return false;
	if (*p == 'e' || *p == 'E') {
		size_t exp = 0;

		p++;
		if (*p == '+' || *p == '-')
			p++;
		for (; *p >= '0' && *p <= '9'; p++)
			exp++;
		if (exp == 0)
			return false;
	}
	return *p == '\0';
}

const struct ddb_value *ddb_item_get(const struct ddb_item *it, const char *name)
{
	if (!it || !name)
		return NULL;
	for (size_t i = 0; i < it->n; i++)
		if (streq(it->v[i].name, name))
			return &it->v[i].v;
	return NULL;
}

const char *ddb_item_get_s(const struct ddb_item *it, const char *name)
{
	const struct ddb_value *v = ddb_item_get(it, name);

	return v && v->type == DDB_S ? v->s : NULL;
}

int ddb_item_get_i64(const struct ddb_item *it, const char *name, int64_t *ret)
{
	const struct ddb_value *v = ddb_item_get(it, name);

	if (!v || v->type != DDB_N)
		return -ENOENT;
	return safe_atoi64(v->s, ret) < 0 ? -EBADMSG : 0;
}

/* A new attribute at the end of it, of type t and no content yet. */
static int add_attr(struct ddb_item *it, const char *name, enum ddb_type t, struct ddb_value **ret)
{
	struct ddb_attr *v;
	char *copy;

	if (!it || !name_is_valid(name))
		return -EINVAL;
	if (ddb_item_get(it, name))
		return -EEXIST;
	if (it->n >= DDB_MAX_ATTRS)
		return -E2BIG;
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	v = reallocarray(it->v, it->n + 1, sizeof(*v));
	if (!v) {
		free(copy);
		return -ENOMEM;
	}
	it->v = v;
	v[it->n] = (struct ddb_attr){ .name = copy, .v = { .type = t } };
	*ret = &v[it->n++].v;
	return 0;
}

static int add_text(struct ddb_item *it, const char *name, enum ddb_type t, const char *s)
{
	struct ddb_value *v;
	char *copy;
	int r;

	if (!s || strlen(s) > DDB_MAX_STRING || (t == DDB_N && !ddb_number_is_valid(s)))
		return -EINVAL;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	r = add_attr(it, name, t, &v);
	if (r < 0) {
		free(copy);
		return r;
	}
	v->s = copy;
	return 0;
}

int ddb_item_add_s(struct ddb_item *it, const char *name, const char *s)
{
	return add_text(it, name, DDB_S, s);
}

int ddb_item_add_n(struct ddb_item *it, const char *name, const char *n)
{
	return add_text(it, name, DDB_N, n);
}

int ddb_item_add_i64(struct ddb_item *it, const char *name, int64_t v)
{
	char text[32];

	(void)snprintf(text, sizeof(text), "%" PRId64, v);
	return add_text(it, name, DDB_N, text);
}

int ddb_item_add_l(struct ddb_item *it, const char *name, struct ddb_value **ret_list)
{
	return add_attr(it, name, DDB_L, ret_list);
}

int ddb_list_append_m(struct ddb_value *list, struct ddb_item **ret_map)
{
	struct ddb_value *l;
	struct ddb_item *m;

	if (!list || list->type != DDB_L)
		return -EINVAL;
	if (list->n >= DDB_MAX_LIST)
		return -E2BIG;
	m = ddb_item_new();
	if (!m)
		return -ENOMEM;
	l = reallocarray(list->l, list->n + 1, sizeof(*l));
	if (!l) {
		ddb_item_free(m);
		return -ENOMEM;
	}
	list->l = l;
	l[list->n++] = (struct ddb_value){ .type = DDB_M, .m = m };
	*ret_map = m;
	return 0;
}

/* ---- JSON ---- */

static cJSON *value_to_json(const struct ddb_value *v);

static cJSON *map_to_json(const struct ddb_item *it)
{
	cJSON *j = cJSON_CreateObject();

	if (!j)
		return NULL;
	for (size_t i = 0; it && i < it->n; i++) {
		cJSON *v = value_to_json(&it->v[i].v);

		if (!v || !cJSON_AddItemToObject(j, it->v[i].name, v)) {
			cJSON_Delete(v);
			cJSON_Delete(j);
			return NULL;
		}
	}
	return j;
}

static cJSON *value_to_json(const struct ddb_value *v)
{
	_cleanup_json_ cJSON *j = cJSON_CreateObject();
	cJSON *inner = NULL;

	if (!j)
		return NULL;
	switch (v->type) {
	case DDB_S:
		inner = cJSON_AddStringToObject(j, "S", v->s);
		break;
	case DDB_N:
		inner = cJSON_AddStringToObject(j, "N", v->s);
		break;
	case DDB_L:
		inner = cJSON_AddArrayToObject(j, "L");
		for (size_t i = 0; inner && i < v->n; i++) {
			cJSON *e = value_to_json(&v->l[i]);

			if (!e || !cJSON_AddItemToArray(inner, e)) {
				cJSON_Delete(e);
				inner = NULL;
			}
		}
		break;
	case DDB_M:
		inner = map_to_json(v->m);
		if (inner && !cJSON_AddItemToObject(j, "M", inner)) {
			cJSON_Delete(inner);
			inner = NULL;
		}
		break;
	}
	return inner ? TAKE_PTR(j) : NULL;
}

int ddb_item_to_json(const struct ddb_item *it, cJSON **ret)
{
	cJSON *j = map_to_json(it);

	if (!j)
		return -ENOMEM;
	*ret = j;
	return 0;
}

static int map_from_json(const cJSON *j, unsigned depth, struct ddb_item **ret,
                         struct aws_error *err);

static int value_from_json(const cJSON *j, const char *name, unsigned depth, struct ddb_value *ret,
                           struct aws_error *err)
{
	const cJSON *t = cJSON_IsObject(j) ? j->child : NULL;
	struct ddb_value v = { 0 };
	int r;

	if (!t || t->next || !t->string)
		return aws_error_set(err, -EBADMSG, NULL,
		                     "attribute '%s' is not one typed DynamoDB value", name);
	if (streq(t->string, "S") || streq(t->string, "N")) {
		v.type = streq(t->string, "S") ? DDB_S : DDB_N;
		if (!cJSON_IsString(t) || strlen(t->valuestring) > DDB_MAX_STRING ||
		    (v.type == DDB_N && !ddb_number_is_valid(t->valuestring)))
			return aws_error_set(err, -EBADMSG, NULL,
			                     "attribute '%s' has no valid %s value", name,
			                     t->string);
		v.s = strdup(t->valuestring);
		if (!v.s)
			return -ENOMEM;
	} else if (streq(t->string, "L")) {
		const cJSON *e;
		int count = cJSON_IsArray(t) ? cJSON_GetArraySize(t) : -1;

		if (count < 0 || (size_t)count > DDB_MAX_LIST || depth >= DDB_MAX_DEPTH)
			return aws_error_set(err, -EBADMSG, NULL,
			                     "attribute '%s' is not a list within the limits",
			                     name);
		v.type = DDB_L;
		if (count > 0 && !(v.l = calloc((size_t)count, sizeof(*v.l))))
			return -ENOMEM;
		cJSON_ArrayForEach(e, t)
		{
			r = value_from_json(e, name, depth + 1, &v.l[v.n], err);
			if (r < 0) {
				value_done(&v);
				return r;
			}
			v.n++;
		}
	} else if (streq(t->string, "M")) {
		if (depth >= DDB_MAX_DEPTH)
			return aws_error_set(err, -EBADMSG, NULL,
			                     "attribute '%s' nests deeper than %d", name,
			                     DDB_MAX_DEPTH);
		v.type = DDB_M;
		r = map_from_json(t, depth + 1, &v.m, err);
		if (r < 0)
			return r;
	} else {
		return aws_error_set(err, -EBADMSG, NULL,
		                     "attribute '%s' is of a type other than S, N, L or M", name);
	}
	*ret = v;
	return 0;
}

static int map_from_json(const cJSON *j, unsigned depth, struct ddb_item **ret,
                         struct aws_error *err)
{
	_cleanup_(ddb_item_freep) struct ddb_item *it = NULL;
	const cJSON *a;
	int count = cJSON_IsObject(j) ? cJSON_GetArraySize(j) : -1;
	int r;

	if (count < 0)
		return aws_error_set(err, -EBADMSG, NULL, "an item that is not a JSON object");
	if ((size_t)count > DDB_MAX_ATTRS)
		return aws_error_set(err, -EBADMSG, NULL, "an item with more than %d attributes",
		                     DDB_MAX_ATTRS);
	it = ddb_item_new();
	if (!it)
		return -ENOMEM;
	if (count > 0 && !(it->v = calloc((size_t)count, sizeof(*it->v))))
		return -ENOMEM;
	cJSON_ArrayForEach(a, j)
	{
		struct ddb_attr *at = &it->v[it->n];

		if (!name_is_valid(a->string))
			return aws_error_set(err, -EBADMSG, NULL,
			                     "an attribute name that is empty, too long or not "
			                     "printable");
		if (ddb_item_get(it, a->string))
			return aws_error_set(err, -EBADMSG, NULL, "attribute '%s' appears twice",
			                     a->string);
		r = value_from_json(a, a->string, depth, &at->v, err);
		if (r < 0)
			return r;
		at->name = strdup(a->string);
		it->n++;
		if (!at->name)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(it);
	return 0;
}

int ddb_item_from_json(const cJSON *j, struct ddb_item **ret, struct aws_error *err)
{
	return map_from_json(j, 0, ret, err);
}

/* ---- requests ---- */

bool ddb_table_name_is_valid(const char *table)
{
	size_t n = table ? strlen(table) : 0;

	return n >= 3 && n <= 255 &&
	       strspn(table, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                     "0123456789_.-") == n;
}

static int check_table(const char *table, struct aws_error *err)
{
	if (!ddb_table_name_is_valid(table))
		return aws_error_set(err, -EINVAL, NULL, "'%s' is not a DynamoDB table name",
		                     table ? table : "");
	return 0;
}

static cJSON *object_of(cJSON *req, const char *field)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(req, field);

	return o ? o : cJSON_AddObjectToObject(req, field);
}

/* Puts e's expression in field and merges its names and values into the request's. */
static int add_expr(cJSON *req, const char *field, const struct ddb_expr *e, struct aws_error *err)
{
	cJSON *names, *values;

	if (!e || !e->expression)
		return 0;
	if (!*e->expression || strlen(e->expression) > 4096)
		return aws_error_set(err, -EINVAL, NULL, "%s: empty or too long", field);
	if (!cJSON_AddStringToObject(req, field, e->expression))
		return -ENOMEM;
	for (const char *const *p = e->names; p && p[0]; p += 2) {
		if (!p[1] || p[0][0] != '#' || !name_is_valid(p[0]) || !name_is_valid(p[1]))
			return aws_error_set(err, -EINVAL, NULL, "%s: a bad attribute name pair",
			                     field);
		names = object_of(req, "ExpressionAttributeNames");
		if (!names)
			return -ENOMEM;
		if (cJSON_GetObjectItemCaseSensitive(names, p[0]))
			return aws_error_set(err, -EINVAL, NULL, "%s: name '%s' given twice", field,
			                     p[0]);
		if (!cJSON_AddStringToObject(names, p[0], p[1]))
			return -ENOMEM;
	}
	for (size_t i = 0; e->values && i < e->values->n; i++) {
		const struct ddb_attr *a = &e->values->v[i];
		cJSON *v;

		if (a->name[0] != ':')
			return aws_error_set(err, -EINVAL, NULL,
			                     "%s: value '%s' does not start with ':'", field,
			                     a->name);
		values = object_of(req, "ExpressionAttributeValues");
		if (!values)
			return -ENOMEM;
		if (cJSON_GetObjectItemCaseSensitive(values, a->name))
			return aws_error_set(err, -EINVAL, NULL, "%s: value '%s' given twice",
			                     field, a->name);
		v = value_to_json(&a->v);
		if (!v || !cJSON_AddItemToObject(values, a->name, v)) {
			cJSON_Delete(v);
			return -ENOMEM;
		}
	}
	return 0;
}

static int add_map(cJSON *req, const char *field, const struct ddb_item *it)
{
	cJSON *j = map_to_json(it);

	if (!j || !cJSON_AddItemToObject(req, field, j)) {
		cJSON_Delete(j);
		return -ENOMEM;
	}
	return 0;
}

/* A request with TableName, or NULL (err set, *r the reason). */
static cJSON *request_new(const char *table, int *r, struct aws_error *err)
{
	cJSON *req;

	*r = check_table(table, err);
	if (*r < 0)
		return NULL;
	req = cJSON_CreateObject();
	if (!req || !cJSON_AddStringToObject(req, "TableName", table)) {
		cJSON_Delete(req);
		*r = -ENOMEM;
		return NULL;
	}
	return req;
}

/* One call, with the DynamoDB errors callers act on mapped to their own codes. */
static int ddb_call(struct aws_client *c, const char *action, const cJSON *req, cJSON **ret,
                    struct aws_error *err)
{
	_cleanup_json_ cJSON *resp = NULL;
	int r;

	r = awsjson10_call(c, AWS_SVC_DYNAMODB, DDB_TARGET_PREFIX, action, req, DDB_MAX_RESPONSE,
	                   false, &resp, err);
	if (r == -EREMOTEIO) {
		if (aws_error_is(err, "ConditionalCheckFailedException"))
			return -EEXIST;
		if (aws_error_is(err, "ResourceNotFoundException"))
			return -ENOENT;
		if (aws_error_is(err, "ResourceInUseException"))
			return -EALREADY;
	}
	if (r < 0)
		return r;
	if (ret)
		*ret = TAKE_PTR(resp);
	return 0;
}

/* PutItem and DeleteItem: the table, one attribute map (Item or Key) and a condition. */
static int map_request(const char *table, const char *name, const struct ddb_item *map,
                       const struct ddb_expr *cond, cJSON **ret, struct aws_error *err)
{
	_cleanup_json_ cJSON *req = NULL;
	int r;

	req = request_new(table, &r, err);
	if (!req)
		return r;
	r = add_map(req, name, map);
	if (r >= 0)
		r = add_expr(req, "ConditionExpression", cond, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(req);
	return 0;
}

int ddb_put_request(const char *table, const struct ddb_item *item, const struct ddb_expr *cond,
                    cJSON **ret, struct aws_error *err)
{
	return map_request(table, "Item", item, cond, ret, err);
}

int ddb_update_request(const char *table, const struct ddb_item *key, const struct ddb_expr *update,
                       const struct ddb_expr *cond, cJSON **ret, struct aws_error *err)
{
	_cleanup_json_ cJSON *req = NULL;
	int r;

	if (!update || !update->expression)
		return aws_error_set(err, -EINVAL, NULL, "UpdateItem without an update");
	req = request_new(table, &r, err);
	if (!req)
		return r;
	r = add_map(req, "Key", key);
	if (r >= 0)
		r = add_expr(req, "UpdateExpression", update, err);
	if (r >= 0)
		r = add_expr(req, "ConditionExpression", cond, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(req);
	return 0;
}

int ddb_delete_request(const char *table, const struct ddb_item *key, const struct ddb_expr *cond,
                       cJSON **ret, struct aws_error *err)
{
	return map_request(table, "Key", key, cond, ret, err);
}

int ddb_put_item(struct aws_client *c, const char *table, const struct ddb_item *item,
                 const struct ddb_expr *cond, struct aws_error *err)
{
	_cleanup_json_ cJSON *req = NULL;
	int r = ddb_put_request(table, item, cond, &req, err);

	return r < 0 ? r : ddb_call(c, "PutItem", req, NULL, err);
}

int ddb_update_item(struct aws_client *c, const char *table, const struct ddb_item *key,
                    const struct ddb_expr *update, const struct ddb_expr *cond,
                    struct aws_error *err)
{
	_cleanup_json_ cJSON *req = NULL;
	int r = ddb_update_request(table, key, update, cond, &req, err);

	return r < 0 ? r : ddb_call(c, "UpdateItem", req, NULL, err);
}

int ddb_delete_item(struct aws_client *c, const char *table, const struct ddb_item *key,
                    const struct ddb_expr *cond, struct aws_error *err)
{
	_cleanup_json_ cJSON *req = NULL;
	int r = ddb_delete_request(table, key, cond, &req, err);

	return r < 0 ? r : ddb_call(c, "DeleteItem", req, NULL, err);
}

int ddb_get_item(struct aws_client *c, const char *table, const struct ddb_item *key,
                 struct ddb_item **ret, struct aws_error *err)
{
	_cleanup_json_ cJSON *req = NULL, *resp = NULL;
	const cJSON *item;
	int r;

	req = request_new(table, &r, err);
	if (!req)
		return r;
	r = add_map(req, "Key", key);
	if (r < 0 || !cJSON_AddTrueToObject(req, "ConsistentRead"))
		return -ENOMEM;
	r = ddb_call(c, "GetItem", req, &resp, err);
	if (r < 0)
		return r;
	item = cJSON_GetObjectItemCaseSensitive(resp, "Item");
	if (!item)
		return -ENOENT;
	return ddb_item_from_json(item, ret, err);
}

int ddb_query_page_from_json(const cJSON *j, struct ddb_items *items, size_t max,
                             struct ddb_item **ret_last, struct aws_error *err)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "Items");
	const cJSON *last = cJSON_GetObjectItemCaseSensitive(j, "LastEvaluatedKey");
	_cleanup_(ddb_item_freep) struct ddb_item *key = NULL;
	const cJSON *e;
	int count = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1;
	int r;

	if (count < 0)
		return aws_error_set(err, -EBADMSG, NULL, "Query: no Items list in the answer");
	if ((size_t)count > max - MIN(max, items->n))
		return aws_error_set(err, -E2BIG, NULL, "Query: more than %zu items", max);
	if (last && !cJSON_IsNull(last)) {
		r = ddb_item_from_json(last, &key, err);
		if (r < 0)
			return r;
		if (key->n == 0)
			return aws_error_set(err, -EBADMSG, NULL,
			                     "Query: an empty LastEvaluatedKey");
	}
	if (count > 0) {
		struct ddb_item **v = reallocarray(items->v, items->n + (size_t)count, sizeof(*v));

		if (!v)
			return -ENOMEM;
		items->v = v;
	}
	cJSON_ArrayForEach(e, list)
	{
		r = ddb_item_from_json(e, &items->v[items->n], err);
		if (r < 0)
			return r;
		items->n++;
	}
	*ret_last = TAKE_PTR(key);
	return 0;
}

int ddb_query_request(const struct ddb_query *q, const struct ddb_item *start, size_t limit,
                      cJSON **ret, struct aws_error *err)
{
	_cleanup_json_ cJSON *req = NULL;
	int r;

	if (!q->key.expression)
		return aws_error_set(err, -EINVAL, NULL, "Query without a key condition");
	req = request_new(q->table, &r, err);
	if (!req)
		return r;
	r = add_expr(req, "KeyConditionExpression", &q->key, err);
	if (r < 0)
		return r;
	if (!cJSON_AddBoolToObject(req, "ScanIndexForward", q->forward) ||
	    (limit && !cJSON_AddNumberToObject(req, "Limit", (double)limit)) ||
	    (start && add_map(req, "ExclusiveStartKey", start) < 0))
		return -ENOMEM;
	*ret = TAKE_PTR(req);
	return 0;
}

int ddb_query(struct aws_client *c, const struct ddb_query *q, struct ddb_items *ret,
              unsigned *ret_pages, struct aws_error *err)
{
	_cleanup_ddb_items_ struct ddb_items items = { 0 };
	_cleanup_(ddb_item_freep) struct ddb_item *start = NULL;
	size_t max = q->max_items && q->max_items < DDB_MAX_ITEMS ? q->max_items : DDB_MAX_ITEMS;
	unsigned page;
	int r;

	for (page = 0; items.n < max; page++) {
		_cleanup_json_ cJSON *req = NULL, *resp = NULL;
		size_t limit = max - items.n;
		struct ddb_item *last = NULL;

		if (page >= DDB_MAX_PAGES)
			return aws_error_set(err, -E2BIG, NULL, "Query: more than %d pages",
			                     DDB_MAX_PAGES);
		if (q->page_size && q->page_size < limit)
			limit = q->page_size;
		r = ddb_query_request(q, start, q->page_size || q->max_items ? limit : 0, &req,
		                      err);
		if (r < 0)
			return r;
		r = ddb_call(c, "Query", req, &resp, err);
		if (r < 0)
			return r;
		r = ddb_query_page_from_json(resp, &items, max, &last, err);
		if (r < 0)
			return r;
		ddb_item_free(start);
		start = last;
		if (!start) {
			page++;
			break;
		}
	}
	if (ret_pages)
		*ret_pages = page;
	*ret = items;
	items = (struct ddb_items){ 0 };
	return 0;
}

int ddb_create_table_request(const char *table, const char *pk, const char *sk, cJSON **ret,
                             struct aws_error *err)
{
	_cleanup_json_ cJSON *req = NULL;
	cJSON *defs, *schema;
	const char *keys[2][3] = { { pk, "S", "HASH" }, { sk, "N", "RANGE" } };
	int r;

	if (!name_is_valid(pk) || (sk && !name_is_valid(sk)))
		return aws_error_set(err, -EINVAL, NULL, "a bad key attribute name");
	req = request_new(table, &r, err);
	if (!req)
		return r;
	defs = cJSON_AddArrayToObject(req, "AttributeDefinitions");
	schema = cJSON_AddArrayToObject(req, "KeySchema");
	if (!defs || !schema || !cJSON_AddStringToObject(req, "BillingMode", "PAY_PER_REQUEST"))
		return -ENOMEM;
	for (size_t i = 0; i < (sk ? 2U : 1U); i++) {
		cJSON *d = cJSON_CreateObject(), *k = cJSON_CreateObject();

		if (!cJSON_AddItemToArray(defs, d)) {
			cJSON_Delete(d);
			d = NULL;
		}
		if (!cJSON_AddItemToArray(schema, k)) {
			cJSON_Delete(k);
			k = NULL;
		}
		if (!d || !k || !cJSON_AddStringToObject(d, "AttributeName", keys[i][0]) ||
		    !cJSON_AddStringToObject(d, "AttributeType", keys[i][1]) ||
		    !cJSON_AddStringToObject(k, "AttributeName", keys[i][0]) ||
		    !cJSON_AddStringToObject(k, "KeyType", keys[i][2]))
			return -ENOMEM;
	}
	*ret = TAKE_PTR(req);
	return 0;
}

int ddb_create_table(struct aws_client *c, const char *table, const char *pk, const char *sk,
                     struct aws_error *err)
{
	_cleanup_json_ cJSON *req = NULL;
	int r = ddb_create_table_request(table, pk, sk, &req, err);

	return r < 0 ? r : ddb_call(c, "CreateTable", req, NULL, err);
}

static const char *const table_status_names[] = {
	[DDB_TABLE_CREATING] = "CREATING",
	[DDB_TABLE_UPDATING] = "UPDATING",
	[DDB_TABLE_DELETING] = "DELETING",
	[DDB_TABLE_ACTIVE] = "ACTIVE",
	[DDB_TABLE_INACCESSIBLE_ENCRYPTION_CREDENTIALS] = "INACCESSIBLE_ENCRYPTION_CREDENTIALS",
	[DDB_TABLE_ARCHIVING] = "ARCHIVING",
	[DDB_TABLE_ARCHIVED] = "ARCHIVED",
};

const char *ddb_table_status_name(enum ddb_table_status s)
{
	return (unsigned)s < ELEMENTSOF(table_status_names) ? table_status_names[s] : NULL;
}

int ddb_table_status_from_json(const cJSON *j, enum ddb_table_status *ret, struct aws_error *err)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "Table");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(t, "TableStatus");

	if (cJSON_IsString(s))
		for (size_t i = 0; i < ELEMENTSOF(table_status_names); i++)
			if (streq(s->valuestring, table_status_names[i])) {
				*ret = (enum ddb_table_status)i;
				return 0;
			}
	return aws_error_set(err, -EBADMSG, NULL, "DescribeTable: no known TableStatus");
}

void ddb_table_info_done(struct ddb_table_info *t)
{
	for (size_t i = 0; i < ELEMENTSOF(t->keys); i++) {
		free(t->keys[i].name);
		free(t->keys[i].type);
	}
	*t = (struct ddb_table_info){ 0 };
}

/* The type of attribute name in AttributeDefinitions, or NULL. */
static const char *attribute_type(const cJSON *table, const char *name)
{
	const cJSON *d;

	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(table, "AttributeDefinitions"))
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(d, "AttributeName");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(d, "AttributeType");

		if (cJSON_IsString(n) && streq(n->valuestring, name) && cJSON_IsString(t))
			return t->valuestring;
	}
	return NULL;
}

int ddb_table_info_from_json(const cJSON *j, struct ddb_table_info *ret, struct aws_error *err)
{
	_cleanup_(ddb_table_info_done) struct ddb_table_info t = { 0 };
	const cJSON *table = cJSON_GetObjectItemCaseSensitive(j, "Table"), *k;
	int r = ddb_table_status_from_json(j, &t.status, err);

	if (r < 0)
		return r;
	cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(table, "KeySchema"))
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(k, "AttributeName");
		const cJSON *kt = cJSON_GetObjectItemCaseSensitive(k, "KeyType");
		const char *type;
		size_t i;

		if (!cJSON_IsString(n) || !name_is_valid(n->valuestring) || !cJSON_IsString(kt))
			return aws_error_set(err, -EBADMSG, NULL, "DescribeTable: a bad KeySchema");
		if (streq(kt->valuestring, "HASH"))
			i = 0;
		else if (streq(kt->valuestring, "RANGE"))
			i = 1;
		else
			return aws_error_set(err, -EBADMSG, NULL, "DescribeTable: a bad KeyType");
		type = attribute_type(table, n->valuestring);
		if (t.keys[i].name || !type ||
		    !(streq(type, "S") || streq(type, "N") || streq(type, "B")))
			return aws_error_set(err, -EBADMSG, NULL, "DescribeTable: a bad KeySchema");
		t.keys[i].name = strdup(n->valuestring);
		t.keys[i].type = strdup(type);
		if (!t.keys[i].name || !t.keys[i].type)
			return -ENOMEM;
	}
	if (!t.keys[0].name)
		return aws_error_set(err, -EBADMSG, NULL, "DescribeTable: no partition key");
	*ret = t;
	t = (struct ddb_table_info){ 0 };
	return 0;
}

int ddb_describe_table_info(struct aws_client *c, const char *table, struct ddb_table_info *ret,
                            struct aws_error *err)
{
	_cleanup_json_ cJSON *req = NULL, *resp = NULL;
	int r;

	req = request_new(table, &r, err);
	if (!req)
		return r;
	r = ddb_call(c, "DescribeTable", req, &resp, err);
	return r < 0 ? r : ddb_table_info_from_json(resp, ret, err);
}

int ddb_ttl_from_json(const cJSON *j, bool *ret_enabled, char **ret_attribute,
                      struct aws_error *err)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "TimeToLiveDescription");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(d, "TimeToLiveStatus");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(d, "AttributeName");
	char *attr = NULL;

	if (!cJSON_IsString(st))
		return aws_error_set(err, -EBADMSG, NULL,
		                     "DescribeTimeToLive: no TimeToLiveStatus in the answer");
	if (a && !cJSON_IsNull(a)) {
		if (!cJSON_IsString(a) || !name_is_valid(a->valuestring))
			return aws_error_set(err, -EBADMSG, NULL,
			                     "DescribeTimeToLive: a bad AttributeName");
		attr = strdup(a->valuestring);
		if (!attr)
			return -ENOMEM;
	}
	/* ENABLING counts: asking again while it is being enabled is refused too. */
	*ret_enabled = streq(st->valuestring, "ENABLED") || streq(st->valuestring, "ENABLING");
	*ret_attribute = attr;
	return 0;
}

int ddb_describe_ttl(struct aws_client *c, const char *table, bool *ret_enabled,
                     char **ret_attribute, struct aws_error *err)
{
	_cleanup_json_ cJSON *req = NULL, *resp = NULL;
	int r;

	req = request_new(table, &r, err);
	if (!req)
		return r;
	r = ddb_call(c, "DescribeTimeToLive", req, &resp, err);
	return r < 0 ? r : ddb_ttl_from_json(resp, ret_enabled, ret_attribute, err);
}

int ddb_update_ttl(struct aws_client *c, const char *table, const char *attribute, bool enabled,
                   struct aws_error *err)
{
	_cleanup_json_ cJSON *req = NULL;
	cJSON *spec;
	int r;

	if (!name_is_valid(attribute))
		return aws_error_set(err, -EINVAL, NULL, "a bad TTL attribute name");
	req = request_new(table, &r, err);
	if (!req)
		return r;
	spec = cJSON_AddObjectToObject(req, "TimeToLiveSpecification");
	if (!spec || !cJSON_AddBoolToObject(spec, "Enabled", enabled) ||
	    !cJSON_AddStringToObject(spec, "AttributeName", attribute))
		return -ENOMEM;
	return ddb_call(c, "UpdateTimeToLive", req, NULL, err);
}
