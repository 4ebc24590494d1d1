/*
 * asgswap init-table NAME: the lock and history table, created on demand (PAY_PER_REQUEST)
 * with pk (S, partition) and sk (N, sort), waited ACTIVE, TTL on `expires`. Idempotent: a
 * table that exists with that key schema is fine; one with another is refused, since the
 * lock's conditions would then address other items.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "dynamodb.h"
#include "log.h"
#include "strutil.h"
#include "timeutil.h"
#include "banned.h"

#define INIT_TIMEOUT_S 300.0
#define TTL_ATTRIBUTE  "expires"

static bool schema_is_ours(const struct ddb_table_info *t)
{
	return streq_ptr(t->keys[0].name, "pk") && streq_ptr(t->keys[0].type, "S") &&
	       streq_ptr(t->keys[1].name, "sk") && streq_ptr(t->keys[1].type, "N");
}

int ctl_init_table(struct ctl_context *ctx)
{
	_cleanup_(ddb_table_info_done) struct ddb_table_info t = { 0 };
	_cleanup_free_ char *ttl_attr = NULL;
	const char *table = ctx->o->args[0];
	double timeout = ctx->o->timeout_s > 0 ? ctx->o->timeout_s : INIT_TIMEOUT_S;
	double start = ctl_now();
	struct aws_error err = { 0 };
	bool created = false, ttl_on = false;
	int r;

	if (!ddb_table_name_is_valid(table)) {
		_cleanup_free_ char *p = ctl_printable(table);

		log_error("'%s' is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -)",
		          p ? p : "?");
		return CTL_EXIT_USAGE;
	}
	if (ctx->o->dry_run) {
		printf("CreateTable %s (pk S partition, sk N sort, PAY_PER_REQUEST), wait until "
		       "ACTIVE, UpdateTimeToLive %s\n",
		       table, TTL_ATTRIBUTE);
		return 0;
	}
	r = ddb_create_table(ctx->aws, table, "pk", "sk", &err);
	if (r == -EALREADY) {
		aws_error_clear(&err);
	} else if (r < 0) {
		return ctl_exit_code(ctl_aws_failed(r, &err, "CreateTable '%s'", table));
	} else {
		created = true;
		log_info("creating table '%s'", table);
	}
	for (;;) {
		ddb_table_info_done(&t);
		r = ddb_describe_table_info(ctx->aws, table, &t, &err);
		/* Just created: DescribeTable may not see it yet. */
		if (r == -ENOENT && created && ctl_now() - start < timeout) {
			aws_error_clear(&err);
		} else if (r < 0) {
			return ctl_exit_code(ctl_aws_failed(r, &err, "DescribeTable '%s'", table));
		} else {
			if (!schema_is_ours(&t)) {
				log_error("table '%s' exists with another key schema (partition %s "
				          "%s, sort %s %s); asgswap needs partition key pk (S) and "
				          "sort "
				          "key sk (N): choose another name",
				          table, t.keys[0].name, t.keys[0].type,
				          t.keys[1].name ? t.keys[1].name : "none",
				          t.keys[1].type ? t.keys[1].type : "");
				return CTL_EXIT_STATE;
			}
			if (t.status == DDB_TABLE_ACTIVE)
				break;
			if (t.status != DDB_TABLE_CREATING && t.status != DDB_TABLE_UPDATING) {
				log_error("table '%s' is %s", table,
				          ddb_table_status_name(t.status));
				return CTL_EXIT_STATE;
			}
		}
		if (ctl_stop_requested()) {
			log_error("interrupted waiting for table '%s' to be ACTIVE", table);
			return CTL_EXIT_STOPPED;
		}
		if (ctl_now() - start >= timeout) {
			log_error("table '%s' was not ACTIVE within %.0f s (it is %s)", table,
			          timeout,
			          r < 0 ? "not visible yet" : ddb_table_status_name(t.status));
			return CTL_EXIT_STOPPED;
		}
		sleep_s(MIN(ctx->o->poll_s, timeout - (ctl_now() - start) + 0.01));
	}
	r = ddb_describe_ttl(ctx->aws, table, &ttl_on, &ttl_attr, &err);
	if (r < 0)
		return ctl_exit_code(ctl_aws_failed(r, &err, "DescribeTimeToLive '%s'", table));
	if (ttl_on && !streq_ptr(ttl_attr, TTL_ATTRIBUTE)) {
		_cleanup_free_ char *p = ctl_printable(ttl_attr ? ttl_attr : "?");

		log_error("table '%s' expires items by attribute '%s'; asgswap's locks expire by "
		          "'%s' (a table has one TTL attribute): choose another name",
		          table, p ? p : "?", TTL_ATTRIBUTE);
		return CTL_EXIT_STATE;
	}
	if (!ttl_on) {
		r = ddb_update_ttl(ctx->aws, table, TTL_ATTRIBUTE, true, &err);
		if (r < 0)
			return ctl_exit_code(
			        ctl_aws_failed(r, &err, "UpdateTimeToLive '%s'", table));
	}
	log_info("table '%s' is ACTIVE with TTL on '%s'%s", table, TTL_ATTRIBUTE,
	         created ? "" : " (it existed already)");
	return 0;
}
