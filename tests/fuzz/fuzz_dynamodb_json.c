/* DynamoDB's JSON 1.0 answers: the first byte picks a GetItem item, a Query page, a
 * DescribeTable answer or an error body; whatever parses must print back and parse again to
 * the same text. The DescribeTable shape also goes through the key schema and the
 * DescribeTimeToLive parsers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "awsjson.h"
#include "dynamodb.h"
#include "jsonutil.h"
#include "strutil.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parsed item survives the round trip through our printer unchanged. */
static void round_trip(const struct ddb_item *it)
{
	_cleanup_json_ cJSON *j = NULL, *again = NULL;
	_cleanup_(ddb_item_freep) struct ddb_item *back = NULL;
	_cleanup_free_ char *a = NULL, *b = NULL;
	struct aws_error err = { 0 };

	if (ddb_item_to_json(it, &j) < 0)
		return;
	if (ddb_item_from_json(j, &back, &err) < 0)
		abort();
	if (ddb_item_to_json(back, &again) < 0)
		return;
	a = cJSON_PrintUnformatted(j);
	b = cJSON_PrintUnformatted(again);
	if (a && b && !streq(a, b))
		abort();
	aws_error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_error err = { 0 };
	cJSON *j;

	if (size < 1)
		return 0;
	if (data[0] % 4 == 3) {
		struct http_response resp = { .status = 400 };

		buf_init(&resp.body, 0);
		if (buf_append(&resp.body, data + 1, size - 1) == 0)
			awsjson_parse_error(&resp, &err);
		buf_free(&resp.body);
		aws_error_clear(&err);
		return 0;
	}
	j = cJSON_ParseWithLength((const char *)data + 1, size - 1);
	if (data[0] % 4 == 0) {
		struct ddb_item *it = NULL;

		if (ddb_item_from_json(cJSON_GetObjectItemCaseSensitive(j, "Item"), &it, &err) ==
		    0) {
			round_trip(it);
			ddb_item_free(it);
		}
	} else if (data[0] % 4 == 1) {
		struct ddb_items items = { 0 };
		struct ddb_item *last = NULL;

		if (ddb_query_page_from_json(j, &items, 100, &last, &err) == 0) {
			if (items.n > 100 || (last && last->n == 0))
				abort();
			for (size_t i = 0; i < items.n; i++)
				round_trip(items.v[i]);
			ddb_item_free(last);
		}
		ddb_items_done(&items);
	} else {
		enum ddb_table_status s;

		struct ddb_table_info t = { 0 };
		char *attr = NULL;
		bool on;

		if (ddb_table_status_from_json(j, &s, &err) == 0 && !ddb_table_status_name(s))
			abort();
		aws_error_clear(&err);
		if (ddb_table_info_from_json(j, &t, &err) == 0 &&
		    (!t.keys[0].name || !t.keys[0].type || !ddb_table_status_name(t.status)))
			abort();
		ddb_table_info_done(&t);
		aws_error_clear(&err);
		if (ddb_ttl_from_json(j, &on, &attr, &err) == 0 && attr && !*attr)
			abort();
		free(attr);
	}
	cJSON_Delete(j);
	aws_error_clear(&err);
	return 0;
}
