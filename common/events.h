/*
 * EventBridge PutEvents over the JSON 1.1 protocol (X-Amz-Target AWSEvents.PutEvents,
 * signing name "events"). An answer of HTTP 200 can still carry failed entries
 * (FailedEntryCount > 0, each with its ErrorCode and ErrorMessage): that is a failure too.
 */
#ifndef ASGSWAP_EVENTS_H
#define ASGSWAP_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "aws.h"

struct cJSON;

#define EVENTS_MAX_ENTRIES 10
/* An entry's Source, DetailType, Detail and bus together (PutEvents' limit). */
#define EVENTS_ENTRY_MAX ((size_t)256 << 10)

struct events_entry {
	const char *source;
	const char *detail_type;
	const char *detail; /* a JSON object, as text */
	const char *bus;    /* a bus name or ARN; NULL: the default bus */
};

/* Whether s names an event bus as PutEvents takes it: a name of letters, digits and
 * ". - _" (at most 256), or arn:PARTITION:events:REGION:ACCOUNT:event-bus/NAME. */
bool events_bus_valid(const char *s);

/* The PutEvents request for n entries; -EINVAL for 0 or more than EVENTS_MAX_ENTRIES
 * entries, a missing field or an entry over EVENTS_ENTRY_MAX. */
int events_request(const struct events_entry *entries, size_t n, struct cJSON **ret);

/*
 * Checks the PutEvents answer for n entries: 0 when every entry was accepted; -EREMOTEIO
 * with err's code and message from the first failed entry ("entry K of N: ..."); -EBADMSG
 * (err set) for an answer that does not say how many entries failed.
 */
int events_check_response(const struct cJSON *j, size_t n, struct aws_error *err);

/*
 * Sends the entries in one PutEvents call, at most max_attempts attempts (0: the client's)
 * all within deadline_ms (0: the client's default deadline). 0, or what aws_call() and
 * events_check_response() return.
 */
int events_put(struct aws_client *c, const struct events_entry *entries, size_t n, long deadline_ms,
               unsigned max_attempts, struct aws_error *err);

#endif
