/*
 * A small typed DynamoDB client over the JSON 1.0 protocol (X-Amz-Target
 * DynamoDB_20120810.ACTION, signing name "dynamodb"): conditional item writes, a Query on a
 * partition key, and the table calls init-table needs. Items hold S and N attributes, and
 * L and M so that a record can carry a list of maps; other types in an answer are refused.
 */
#ifndef ASGSWAP_DYNAMODB_H
#define ASGSWAP_DYNAMODB_H

#include <stdbool.h>
#include <stdint.h>

#include "aws.h"
#include "macro.h"

struct cJSON;

/* Ceilings on what an answer may hold (AWS's own: 400 KB an item, 1 MB a Query page). */
#define DDB_MAX_ATTRS    256  /* attributes of one map */
#define DDB_MAX_LIST     1000 /* elements of one list */
#define DDB_MAX_DEPTH    4    /* item > L > M > S counts 3 */
#define DDB_MAX_STRING   ((size_t)400 << 10)
#define DDB_MAX_NAME     255   /* attribute names */
#define DDB_MAX_NUMBER   64    /* characters of an N */
#define DDB_MAX_ITEMS    10000 /* items of one Query, all pages */
#define DDB_MAX_PAGES    1000
#define DDB_MAX_RESPONSE ((size_t)4 << 20)

enum ddb_type { DDB_S, DDB_N, DDB_L, DDB_M };

struct ddb_item;
struct ddb_value {
	enum ddb_type type;
	char *s;             /* S, N: the text (an N as DynamoDB writes it) */
	struct ddb_value *l; /* L */
	size_t n;            /* L: elements */
	struct ddb_item *m;  /* M */
};

struct ddb_attr {
	char *name;
	struct ddb_value v;
};

/* An attribute map: an item, a key, an M value, or ExpressionAttributeValues. */
struct ddb_item {
	struct ddb_attr *v;
	size_t n;
};
struct ddb_item *ddb_item_new(void);
struct ddb_item *ddb_item_free(struct ddb_item *it);
DEFINE_POINTER_CLEANUP_FUNC(struct ddb_item, ddb_item_free)

/* Adding: 0, -EINVAL for a bad name or value (an N that is not a number), -E2BIG past the
 * ceilings, -EEXIST for a name already there, -ENOMEM. */
int ddb_item_add_s(struct ddb_item *it, const char *name, const char *s);
int ddb_item_add_n(struct ddb_item *it, const char *name, const char *n);
int ddb_item_add_i64(struct ddb_item *it, const char *name, int64_t v);
/* An empty L attribute; *ret_list stays valid until another attribute is added to it. */
int ddb_item_add_l(struct ddb_item *it, const char *name, struct ddb_value **ret_list);
/* Appends an empty M to list (an L) and gives it in *ret_map. */
int ddb_list_append_m(struct ddb_value *list, struct ddb_item **ret_map);

/* Reading: the attribute, or NULL when absent. The typed getters also give NULL (or
 * -ENOENT, -EBADMSG for an N that is no int64) for an attribute of another type. */
const struct ddb_value *ddb_item_get(const struct ddb_item *it, const char *name);
const char *ddb_item_get_s(const struct ddb_item *it, const char *name);
int ddb_item_get_i64(const struct ddb_item *it, const char *name, int64_t *ret);

/* DynamoDB's rule for table names: 3 to 255 of [A-Za-z0-9_.-]. */
bool ddb_table_name_is_valid(const char *table);

/* Whether s is a DynamoDB number: [-]digits[.digits][e[+-]digits], at most DDB_MAX_NUMBER. */
bool ddb_number_is_valid(const char *s);

/* JSON: {"name": {"S": "..."}, ...}. from_json refuses (-EBADMSG, err says where) anything
 * beyond the ceilings or of another type than S, N, L, M. */
int ddb_item_to_json(const struct ddb_item *it, struct cJSON **ret);
int ddb_item_from_json(const struct cJSON *j, struct ddb_item **ret, struct aws_error *err);

/*
 * A condition, or the key condition of a Query: the expression and what it names. names is
 * NULL or a NULL-terminated list of pairs {"#e", "expires", NULL}; values may be NULL.
 */
struct ddb_expr {
	const char *expression;
	const char *const *names;
	const struct ddb_item *values;
};

/*
 * Item writes. cond may be NULL (unconditional). 0; -EEXIST when the condition was false
 * (err->code ConditionalCheckFailedException, kept with its message); -ENOENT for a table
 * that does not exist (ResourceNotFoundException); otherwise what aws_call() returns, or
 * -EBADMSG for an answer that is not a JSON object. A write whose answer was lost is retried
 * and may then fail its condition on its own first attempt: a lock taker tells by reading
 * the item back (ddb_get_item) and comparing its nonce.
 */
int ddb_put_item(struct aws_client *c, const char *table, const struct ddb_item *item,
                 const struct ddb_expr *cond, struct aws_error *err);
/* update: an UpdateExpression ("SET #e = :e"); its names and values are merged with cond's
 * (a name or value key in both is -EINVAL). */
int ddb_update_item(struct aws_client *c, const char *table, const struct ddb_item *key,
                    const struct ddb_expr *update, const struct ddb_expr *cond,
                    struct aws_error *err);
int ddb_delete_item(struct aws_client *c, const char *table, const struct ddb_item *key,
                    const struct ddb_expr *cond, struct aws_error *err);
/* A strongly consistent read: 0 with *ret, -ENOENT (no item, or no table) or as above. */
int ddb_get_item(struct aws_client *c, const char *table, const struct ddb_item *key,
                 struct ddb_item **ret, struct aws_error *err);

/* The request documents of the calls above, built without sending (0 with *ret, or -EINVAL
 * with err set for a bad table name, expression, name pair or value key). */
int ddb_put_request(const char *table, const struct ddb_item *item, const struct ddb_expr *cond,
                    struct cJSON **ret, struct aws_error *err);
int ddb_update_request(const char *table, const struct ddb_item *key, const struct ddb_expr *update,
                       const struct ddb_expr *cond, struct cJSON **ret, struct aws_error *err);
int ddb_delete_request(const char *table, const struct ddb_item *key, const struct ddb_expr *cond,
                       struct cJSON **ret, struct aws_error *err);

struct ddb_items {
	struct ddb_item **v;
	size_t n;
};
void ddb_items_done(struct ddb_items *items);
#define _cleanup_ddb_items_ _cleanup_(ddb_items_done)

struct ddb_query {
	const char *table;
	struct ddb_expr key; /* KeyConditionExpression: "pk = :pk" */
	bool forward;        /* false: newest (highest sort key) first */
	unsigned page_size;  /* Limit of each page; 0: DynamoDB's (1 MB) */
	unsigned max_items;  /* stop after this many; 0: DDB_MAX_ITEMS */
};
/* Every page (ExclusiveStartKey from LastEvaluatedKey) until max_items or the end. 0 with
 * *ret (also for none) and *ret_pages (may be NULL) the number of calls; -E2BIG past
 * DDB_MAX_ITEMS or DDB_MAX_PAGES, -ENOENT, -EBADMSG or what aws_call() returns. */
int ddb_query(struct aws_client *c, const struct ddb_query *q, struct ddb_items *ret,
              unsigned *ret_pages, struct aws_error *err);
/* One page's request: Limit when limit > 0, ExclusiveStartKey when start is not NULL. */
int ddb_query_request(const struct ddb_query *q, const struct ddb_item *start, size_t limit,
                      struct cJSON **ret, struct aws_error *err);
/* One Query answer: its Items appended to items (not beyond max items in all), its
 * LastEvaluatedKey in *ret_last (NULL at the end). -EBADMSG (err set) or -E2BIG. */
int ddb_query_page_from_json(const struct cJSON *j, struct ddb_items *items, size_t max,
                             struct ddb_item **ret_last, struct aws_error *err);

/* CreateTable, on-demand (PAY_PER_REQUEST), with a string partition key pk and a number
 * sort key sk (NULL: none). -EALREADY when it exists (ResourceInUseException). */
int ddb_create_table(struct aws_client *c, const char *table, const char *pk, const char *sk,
                     struct aws_error *err);
int ddb_create_table_request(const char *table, const char *pk, const char *sk, struct cJSON **ret,
                             struct aws_error *err);

enum ddb_table_status {
	DDB_TABLE_CREATING,
	DDB_TABLE_UPDATING,
	DDB_TABLE_DELETING,
	DDB_TABLE_ACTIVE,
	DDB_TABLE_INACCESSIBLE_ENCRYPTION_CREDENTIALS,
	DDB_TABLE_ARCHIVING,
	DDB_TABLE_ARCHIVED,
};
const char *ddb_table_status_name(enum ddb_table_status s);
int ddb_table_status_from_json(const struct cJSON *j, enum ddb_table_status *ret,
                               struct aws_error *err);

/* DescribeTable's status and key schema: keys[0] the partition key, keys[1] the sort key
 * (name NULL when there is none), each with its AttributeType (S, N or B). */
struct ddb_table_info {
	enum ddb_table_status status;
	struct {
		char *name, *type;
	} keys[2];
};
void ddb_table_info_done(struct ddb_table_info *t);
int ddb_describe_table_info(struct aws_client *c, const char *table, struct ddb_table_info *ret,
                            struct aws_error *err);
int ddb_table_info_from_json(const struct cJSON *j, struct ddb_table_info *ret,
                             struct aws_error *err);

/* DescribeTimeToLive: whether TTL is on (ENABLED or ENABLING) and on which attribute
 * (*ret_attribute NULL when none). AWS refuses an UpdateTimeToLive that enables it again. */
int ddb_describe_ttl(struct aws_client *c, const char *table, bool *ret_enabled,
                     char **ret_attribute, struct aws_error *err);
int ddb_ttl_from_json(const struct cJSON *j, bool *ret_enabled, char **ret_attribute,
                      struct aws_error *err);

/* UpdateTimeToLive: items expire when attribute (epoch seconds, N) has passed. */
int ddb_update_ttl(struct aws_client *c, const char *table, const char *attribute, bool enabled,
                   struct aws_error *err);

#endif
