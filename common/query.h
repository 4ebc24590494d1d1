/*
 * The AWS Query protocol (Auto Scaling, ELB, ELBv2, EC2, STS, CloudWatch): a form-encoded
 * POST of Action, Version and parameters, answered in XML. Lists are `Name.member.N`
 * (EC2: `Name.N`), 1-based; pages follow NextToken or Marker.
 */
#ifndef ASGSWAP_QUERY_H
#define ASGSWAP_QUERY_H

#include <stdbool.h>

#include <libxml/tree.h>

#include "aws.h"
#include "buf.h"
#include "xml.h"

struct query {
	enum aws_service service;
	char *action;
	struct buf body;
	int error; /* the first failure of an add, reported by aws_query() */
	/* Optional: sign with these credentials instead of the chain's, or not at all. */
	const struct aws_credentials *credentials;
	bool anonymous;
	bool sensitive; /* parameters or answer hold a secret (STS): see query_init_sensitive */
	long deadline_ms;
};

int query_init(struct query *q, enum aws_service service, const char *action);
/* For calls whose parameters or answer hold secrets (STS): every buffer is wiped. */
int query_init_sensitive(struct query *q, enum aws_service service, const char *action);
void query_done(struct query *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct query *, query_done)
/* On a pointer to the query: `_cleanup_query_ struct query *qp = &q;` (marked unused, since
 * nothing but the cleanup reads it). */
#define _cleanup_query_ _cleanup_(query_donep) _unused_

/* Adds key=value, both percent-encoded. Failures are latched in q->error. */
void query_add(struct query *q, const char *key, const char *value);
/* The key is a format: query_addf(q, id, "InstanceIds.member.%zu", i + 1). */
void query_addf(struct query *q, const char *value, const char *keyfmt, ...) _printf_(3, 4);
void query_add_uint(struct query *q, const char *key, unsigned long long value);
void query_add_bool(struct query *q, const char *key, bool value);
/* Name.member.1 ... Name.member.N (Name.1 ... for EC2) from a NULL-terminated vector. */
void query_add_list(struct query *q, const char *name, char *const *values);

/* Sends the query; 0 with the parsed response document, or as aws_call() fails (-EBADMSG
 * for a response that is not XML). */
int aws_query(struct aws_client *c, struct query *q, xmlDoc **ret, struct aws_error *err);

/*
 * Every page of a paginated query: sends q with `token_param`=<token> appended from the
 * second page on, calls page() for each response, and follows the first `token_element`
 * found in it (NextToken, NextMarker, nextToken) until there is none. Stops at page()'s
 * negative return. At most max_pages pages (0: 1000), a guard against a looping token.
 */
int aws_query_pages(struct aws_client *c, struct query *q, const char *token_param,
                    const char *token_element, unsigned max_pages,
                    int (*page)(xmlDoc *doc, void *userdata), void *userdata,
                    struct aws_error *err);

/* Fills err from either Query error shape (ErrorResponse/Error, EC2's Response/Errors/Error). */
void query_parse_error(const struct http_response *r, struct aws_error *err);

/* ---- Additions for the controller's typed calls (common/autoscaling.c and friends) ---- */

/* The member elements of every page of a paginated Describe call: nodes[i] lives in one
 * of docs, so keep the whole struct until done with them. */
struct query_items {
	xmlDoc **docs;
	size_t n_docs;
	xmlNode **nodes;
	size_t n;
};
void query_items_done(struct query_items *items);

/* Every page of q (as aws_query_pages), collecting the `member` children of the first
 * element named list_element in each response. */
int aws_query_items(struct aws_client *c, struct query *q, const char *token_param,
                    const char *token_element, const char *list_element, struct query_items *ret,
                    struct aws_error *err);
/* Adds one page: a copy of doc, and the `member` children of its first list_element. */
int query_items_add(struct query_items *items, xmlDoc *doc, const char *list_element);

/* Every page of each of n queries, as aws_query_items() gives them for qs[i] into
 * items[i], errs[i], results[i] (list_elements[i] names the list of qs[i]): the first
 * pages side by side, then the next pages of those that have more, side by side. Returns
 * 0 or a negative errno for the batch. */
int aws_query_items_many(struct aws_client *c, struct query *const *qs, size_t n,
                         const char *token_param, const char *token_element,
                         const char *const *list_elements, struct query_items *items,
                         struct aws_error *errs, int *results);

/*
 * A Describe response's element as Query parameters: AWS Query responses mirror request
 * parameters, so an element holding `member` children becomes `Name.member.N` (EC2:
 * `Name.N`), a structure `Name.Child`, a leaf `Name=text`, all under prefix (NULL: none).
 * Children named in skip (a NULL-terminated list of local names, matched at any depth)
 * and empty leaves are left out. rewrite, when given, sees each leaf's key and local name
 * and returns the value to send (value itself to keep it, NULL to leave the key out); what
 * it returns must live until the query is sent.
 */
typedef const char *(*query_rewrite_fn)(void *userdata, const char *key, const char *name,
                                        const char *value);
int query_add_from_xml(struct query *q, const char *prefix, const xmlNode *node,
                       const char *const *skip, query_rewrite_fn rewrite, void *userdata);

/* Sends n queries side by side (aws_call_many); docs[i], errs[i], results[i] as
 * aws_query() gives them for qs[i]. Returns 0 or a negative errno for the batch. */
int aws_query_many(struct aws_client *c, struct query *const *qs, size_t n, xmlDoc **docs,
                   struct aws_error *errs, int *results);

#endif
