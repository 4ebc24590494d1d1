#include <errno.h>
#include <string.h>

#include "awsjson.h"
#include "events.h"
#include "jsonutil.h"
#include "strutil.h"
#include "banned.h"

#define EVENTS_TARGET_PREFIX "AWSEvents"
/* An answer names each entry's id or error: a few hundred bytes for ten entries. */
#define EVENTS_MAX_RESPONSE ((size_t)64 << 10)
#define BUS_NAME_MAX        256
#define BUS_ARN_MAX         1600

static bool span_is(const char *s, size_t n, const char *set)
{
	return n > 0 && strspn(s, set) >= n;
}

#define LOWER  "abcdefghijklmnopqrstuvwxyz"
#define DIGITS "0123456789"
#define WORD   LOWER "ABCDEFGHIJKLMNOPQRSTUVWXYZ" DIGITS "_"

static bool bus_name_valid(const char *s)
{
	size_t n = strlen(s);

	return n <= BUS_NAME_MAX && span_is(s, n, WORD ".-");
}

/* REGION as botocore's pattern has it: [a-z]+-[a-z]+-[\w-]+ */
static bool region_valid(const char *s, size_t n)
{
	size_t a = strspn(s, LOWER), b;

	if (a == 0 || a >= n || s[a] != '-')
		return false;
	b = strspn(s + a + 1, LOWER);
	if (b == 0 || a + 1 + b >= n || s[a + 1 + b] != '-')
		return false;
	return span_is(s + a + b + 2, n - a - b - 2, WORD "-");
}

bool events_bus_valid(const char *s)
{
	const char *p, *colon;

	if (!s)
		return false;
	p = startswith(s, "arn:aws");
	if (!p)
		return bus_name_valid(s);
	if (strlen(s) > BUS_ARN_MAX)
		return false;
	/* arn:aws[\w-]*:events:REGION:ACCOUNT:event-bus/NAME */
	p += strspn(p, WORD "-");
	p = startswith(p, ":events:");
	if (!p)
		return false;
	colon = strchr(p, ':');
	if (!colon || !region_valid(p, (size_t)(colon - p)))
		return false;
	p = colon + 1;
	if (strspn(p, DIGITS) != 12 || p[12] != ':')
		return false;
	p = startswith(p + 13, "event-bus/");
	return p && bus_name_valid(p);
}

int events_request(const struct events_entry *entries, size_t n, cJSON **ret)
{
	_cleanup_json_ cJSON *req = NULL;
	cJSON *list;

	if (n == 0 || n > EVENTS_MAX_ENTRIES)
		return -EINVAL;
	req = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(req, "Entries");
	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct events_entry *e = &entries[i];
		const char *bus = e->bus ? e->bus : "default";
		cJSON *o;

		if (!e->source || !e->detail_type || !e->detail || !events_bus_valid(bus) ||
		    strlen(e->source) + strlen(e->detail_type) + strlen(e->detail) + strlen(bus) >
		            EVENTS_ENTRY_MAX)
			return -EINVAL;
		o = cJSON_CreateObject();
		if (!o)
			return -ENOMEM;
		if (!cJSON_AddItemToArray(list, o)) {
			cJSON_Delete(o);
			return -ENOMEM;
		}
		if (!cJSON_AddStringToObject(o, "Source", e->source) ||
		    !cJSON_AddStringToObject(o, "DetailType", e->detail_type) ||
		    !cJSON_AddStringToObject(o, "Detail", e->detail) ||
		    !cJSON_AddStringToObject(o, "EventBusName", bus))
			return -ENOMEM;
	}
	*ret = TAKE_PTR(req);
	return 0;
}

/* A short printable copy of an answer's text for a message: the answer is not trusted. */
static const char *printable(const cJSON *s, const char *fallback)
{
	const char *v = cJSON_IsString(s) ? s->valuestring : NULL;

	if (!v || !*v || strlen(v) > 512)
		return fallback;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fallback;
	return v;
}

int events_check_response(const cJSON *j, size_t n, struct aws_error *err)
{
	const cJSON *failed = cJSON_GetObjectItemCaseSensitive(j, "FailedEntryCount");
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "Entries"), *e;
	size_t k = 0;

	if (!cJSON_IsArray(list))
		list = NULL;

	if (!cJSON_IsNumber(failed) || failed->valuedouble < 0 || failed->valuedouble > (double)n ||
	    failed->valuedouble != (double)(size_t)failed->valuedouble)
		return aws_error_set(
		        err, -EBADMSG, NULL,
		        "PutEvents: the answer has no FailedEntryCount between 0 and %zu", n);
	if (failed->valuedouble == 0)
		return 0;
	cJSON_ArrayForEach(e, list)
	{
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "ErrorCode");

		k++;
		if (code)
			return aws_error_set(
			        err, -EREMOTEIO, printable(code, "an unreadable code"),
			        "entry %zu of %zu: %s", k, n,
			        printable(cJSON_GetObjectItemCaseSensitive(e, "ErrorMessage"),
			                  "no message"));
	}
	return aws_error_set(err, -EREMOTEIO, NULL, "%.0f of %zu entries failed, without a code",
	                     failed->valuedouble, n);
}

int events_put(struct aws_client *c, const struct events_entry *entries, size_t n, long deadline_ms,
               unsigned max_attempts, struct aws_error *err)
{
	_cleanup_json_ cJSON *req = NULL, *resp = NULL;
	int r;

	r = events_request(entries, n, &req);
	if (r < 0)
		return r;
	r = awsjson_call_within(c, AWS_SVC_EVENTS, EVENTS_TARGET_PREFIX, "PutEvents", req,
	                        EVENTS_MAX_RESPONSE, deadline_ms, max_attempts, &resp, err);
	if (r < 0)
		return r;
	return events_check_response(resp, n, err);
}
