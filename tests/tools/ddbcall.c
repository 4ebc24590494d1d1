/*
 * Drives common/dynamodb.c for the integration tests, through the whole AWS client.
 *   ddbcall [--endpoint-url URL] [--verbose] [--cond EXPR] [--update EXPR]
 *           [--name '#N=attr']... [--value ':v=S:text' | ':v=N:12' | ':v=J:{"L":[...]}']...
 *           [--page-size N] [--limit N] [--forward]
 *           put|update|delete|get|query|create|describe|wait-active|ttl TABLE [ARG]...
 *   put/update/delete/get TABLE NAME=S:text|NAME=N:num|NAME=J:typed-json...  (item or key)
 *   query TABLE (--cond is the key condition); items one JSON line each, then pages=N
 *   create TABLE PK [SK]; describe TABLE; wait-active TABLE SECONDS; ttl TABLE ATTR
 * Exit codes: 0 done, 2 usage, 3 condition false (-EEXIST), 4 other AWS failure, 5 no such
 * item or table (-ENOENT), 6 the table exists (-EALREADY), 7 timed out.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "aws.h"
#include "dynamodb.h"
#include "jsonutil.h"
#include "log.h"
#include "strutil.h"
#include "timeutil.h"
#include "trace.h"
#include "banned.h"

/* NAME=S:text, NAME=N:num or NAME=J:{"M": ...} added to it. */
static int add_spec(struct ddb_item *it, const char *spec)
{
	_cleanup_free_ char *name = strdup(spec);
	char *eq = name ? strchr(name, '=') : NULL;
	const char *v;

	if (!eq || strlen(eq) < 3 || eq[2] != ':')
		return -EINVAL;
	*eq = '\0';
	v = eq + 3;
	switch (eq[1]) {
	case 'S':
		return ddb_item_add_s(it, name, v);
	case 'N':
		return ddb_item_add_n(it, name, v);
	case 'J': {
		_cleanup_json_ cJSON *wrap = cJSON_CreateObject();
		_cleanup_(ddb_item_freep) struct ddb_item *one = NULL;
		cJSON *typed = cJSON_Parse(v);
		struct aws_error err = { 0 };
		int r;

		if (!wrap || !typed || !cJSON_AddItemToObject(wrap, name, typed)) {
			cJSON_Delete(typed);
			return -EINVAL;
		}
		r = ddb_item_from_json(wrap, &one, &err);
		aws_error_clear(&err);
		if (r < 0)
			return -EINVAL;
		/* moves the parsed attribute into it */
		if (ddb_item_get(it, name))
			return -EEXIST;
		struct ddb_attr *a = reallocarray(it->v, it->n + 1, sizeof(*a));
		if (!a)
			return -ENOMEM;
		it->v = a;
		a[it->n++] = one->v[0];
		one->n = 0;
		return 0;
	}
	default:
		return -EINVAL;
	}
}

static int print_item(const struct ddb_item *it)
{
	_cleanup_json_ cJSON *j = NULL;
	_cleanup_free_ char *text = NULL;

	if (ddb_item_to_json(it, &j) < 0 || !(text = cJSON_PrintUnformatted(j)))
		return -ENOMEM;
	printf("%s\n", text);
	return 0;
}

static int exit_code(int r)
{
	switch (r) {
	case -EEXIST:
		return 3;
	case -ENOENT:
		return 5;
	case -EALREADY:
		return 6;
	case -ETIME:
		return 7;
	case -EINVAL:
		return 2;
	default:
		return 4;
	}
}

static int wait_active(struct aws_client *c, const char *table, unsigned seconds,
                       struct aws_error *err)
{
	long deadline = now_msec() + (long)seconds * 1000;

	for (;;) {
		_cleanup_(ddb_table_info_done) struct ddb_table_info t = { 0 };
		int r = ddb_describe_table_info(c, table, &t, err);

		if (r < 0)
			return r;
		if (t.status == DDB_TABLE_ACTIVE)
			return 0;
		if (now_msec() >= deadline)
			return aws_error_set(err, -ETIME, NULL, "table '%s' still %s", table,
			                     ddb_table_status_name(t.status));
		nanosleep(&(struct timespec){ .tv_nsec = 200 * 1000 * 1000 }, NULL);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "endpoint-url", required_argument, NULL, 'e' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "cond", required_argument, NULL, 'c' },
		{ "update", required_argument, NULL, 'u' },
		{ "name", required_argument, NULL, 'n' },
		{ "value", required_argument, NULL, 'V' },
		{ "page-size", required_argument, NULL, 'P' },
		{ "limit", required_argument, NULL, 'L' },
		{ "forward", no_argument, NULL, 'f' },
		{},
	};
	struct aws_client_options o = { .trace = aws_trace_to_log };
	_cleanup_(aws_client_freep) struct aws_client *client = NULL;
	_cleanup_(ddb_item_freep) struct ddb_item *values = ddb_item_new();
	_cleanup_(ddb_item_freep) struct ddb_item *item = ddb_item_new();
	_cleanup_strv_free_ char **names = NULL;
	struct aws_error err = { 0 };
	const char *cond = NULL, *update = NULL, *action, *table;
	unsigned page_size = 0, limit = 0;
	bool forward = false;
	int c, r = 0;

	log_setup("ddbcall");
	if (!values || !item)
		return 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		switch (c) {
		case 'e':
			o.endpoint_url = optarg;
			break;
		case 'v':
			log_set_max_level(LOG_DEBUG);
			break;
		case 'c':
			cond = optarg;
			break;
		case 'u':
			update = optarg;
			break;
		case 'n': {
			_cleanup_free_ char *pair = strdup(optarg);
			char *eq = pair ? strchr(pair, '=') : NULL;

			if (!eq)
				return 2;
			*eq = '\0';
			if (strv_extend(&names, pair) < 0 || strv_extend(&names, eq + 1) < 0)
				return 1;
			break;
		}
		case 'V':
			if (add_spec(values, optarg) < 0) {
				log_error("bad value '%s'", optarg);
				return 2;
			}
			break;
		case 'P':
			if (safe_atou(optarg, &page_size) < 0)
				return 2;
			break;
		case 'L':
			if (safe_atou(optarg, &limit) < 0)
				return 2;
			break;
		case 'f':
			forward = true;
			break;
		default:
			return 2;
		}
	}
	if (argc - optind < 2) {
		log_error("usage: ddbcall [options] ACTION TABLE [ARG]...");
		return 2;
	}
	action = argv[optind];
	table = argv[optind + 1];
	r = aws_client_new(&o, &client, &err);
	if (r < 0) {
		log_error("%s", err.message ? err.message : strerror(-r));
		aws_error_clear(&err);
		return 2;
	}

	const struct ddb_expr ce = { cond, (const char *const *)names, values };
	const struct ddb_expr *cp = cond ? &ce : NULL;
	bool takes_item = streq(action, "put") || streq(action, "update") ||
	                  streq(action, "delete") || streq(action, "get");

	for (int i = optind + 2; takes_item && i < argc; i++)
		if (add_spec(item, argv[i]) < 0) {
			log_error("bad attribute '%s'", argv[i]);
			return 2;
		}
	if (streq(action, "put")) {
		r = ddb_put_item(client, table, item, cp, &err);
	} else if (streq(action, "update")) {
		/* with an update the names and values go with it, the condition alone */
		const struct ddb_expr ue2 = { update, (const char *const *)names, values };
		const struct ddb_expr ce2 = { cond, NULL, NULL };

		r = ddb_update_item(client, table, item, &ue2, cond ? &ce2 : NULL, &err);
	} else if (streq(action, "delete")) {
		r = ddb_delete_item(client, table, item, cp, &err);
	} else if (streq(action, "get")) {
		_cleanup_(ddb_item_freep) struct ddb_item *got = NULL;

		r = ddb_get_item(client, table, item, &got, &err);
		if (r >= 0)
			r = print_item(got);
	} else if (streq(action, "query")) {
		_cleanup_ddb_items_ struct ddb_items items = { 0 };
		struct ddb_query q = { .table = table,
			               .key = ce,
			               .forward = forward,
			               .page_size = page_size,
			               .max_items = limit };
		unsigned pages = 0;

		r = ddb_query(client, &q, &items, &pages, &err);
		for (size_t i = 0; r >= 0 && i < items.n; i++)
			r = print_item(items.v[i]);
		if (r >= 0)
			printf("pages=%u\n", pages);
	} else if (streq(action, "create") && argc - optind >= 3) {
		r = ddb_create_table(client, table, argv[optind + 2],
		                     argc - optind >= 4 ? argv[optind + 3] : NULL, &err);
	} else if (streq(action, "describe")) {
		_cleanup_(ddb_table_info_done) struct ddb_table_info t = { 0 };

		r = ddb_describe_table_info(client, table, &t, &err);
		if (r >= 0)
			printf("%s\n", ddb_table_status_name(t.status));
	} else if (streq(action, "wait-active") && argc - optind >= 3) {
		unsigned seconds;

		if (safe_atou(argv[optind + 2], &seconds) < 0)
			return 2;
		r = wait_active(client, table, seconds, &err);
	} else if (streq(action, "ttl") && argc - optind >= 3) {
		r = ddb_update_ttl(client, table, argv[optind + 2], true, &err);
	} else {
		log_error("unknown action '%s' or missing arguments", action);
		return 2;
	}
	if (r < 0) {
		if (err.code)
			log_error("%s: %s: %s (HTTP %ld, %u attempts, %s)", action, err.code,
			          err.message ? err.message : "", err.http_status, err.attempts,
			          strerror(-r));
		else
			log_error("%s: %s", action, err.message ? err.message : strerror(-r));
		aws_error_clear(&err);
		return exit_code(r);
	}
	aws_error_clear(&err);
	return 0;
}
