/*
 * An AWS client: endpoints, credentials, SigV4 signing, the standard or adaptive retry mode with
 * its quota, and a trace of every attempt for --verbose. Protocol layers (query.c for the Query
 * protocol, JSON for ECR) build the body and say how errors look.
 */
#ifndef ASGSWAP_AWS_H
#define ASGSWAP_AWS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "http.h"
#include "macro.h"

/* Why a call failed, for the message the program prints. Any field may be NULL. */
struct aws_error {
	long http_status; /* 0 when no response arrived */
	char *code;       /* AWS error code, e.g. Throttling */
	char *message;    /* AWS message, or what went wrong on the way */
	char *request_id;
	unsigned attempts;
	/* An earlier attempt was sent and its answer lost (a reset, a timeout): it may have
	 * taken effect, and a later error may be about that effect. */
	bool answer_lost;
};
void aws_error_clear(struct aws_error *e);
bool aws_error_is(const struct aws_error *e, const char *code);
/* Replaces message (and code when non-NULL) with a formatted text; returns `r`. */
int aws_error_set(struct aws_error *e, int r, const char *code, const char *fmt, ...)
        _printf_(4, 5);

struct aws_credentials {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;
	time_t expiration;  /* 0: does not expire */
	const char *source; /* static string: environment, profile, assume-role, ... */
};
void aws_credentials_done(struct aws_credentials *c);

/* One attempt of one call, as --verbose shows it. No secret is ever in here. */
struct aws_trace {
	const char *service;
	const char *action;
	unsigned attempt;
	long status;
	long ms;
	const char *request_id;
	const char *error_code;
	int transport_error; /* negative errno when no response arrived */
	long retry_in_ms;    /* -1: no retry follows */
};
typedef void (*aws_trace_fn)(void *userdata, const struct aws_trace *t);

struct aws_client_options {
	const char *region; /* command-line overrides, any may be NULL */
	const char *profile;
	const char *endpoint_url;
	const char *user_agent; /* default "asgswap/VERSION" */
	aws_trace_fn trace;
	void *trace_userdata;
	/* When it says so (asked about once a second and whenever a signal cuts a wait short),
	 * the calls in flight and the waits between attempts end with -EINTR: an operator's
	 * Ctrl-C does not wait out a peer that never answers. */
	bool (*stop)(void);
	/* What a program wants when neither AWS_RETRY_MODE / retry_mode nor AWS_MAX_ATTEMPTS /
	 * max_attempts say: 0 keeps botocore's standard mode and 3 attempts. */
	enum aws_retry_mode retry_mode_default;
	unsigned max_attempts_default;
};

struct aws_client;
int aws_client_new(const struct aws_client_options *o, struct aws_client **ret,
                   struct aws_error *err);
struct aws_client *aws_client_free(struct aws_client *c);
DEFINE_POINTER_CLEANUP_FUNC(struct aws_client, aws_client_free)

struct http_client *aws_client_http(struct aws_client *c);
const struct aws_config *aws_client_config(const struct aws_client *c);
/* Whether --profile named the profile (it then outranks keys in the environment). */
bool aws_client_profile_explicit(const struct aws_client *c);
/* The region, asking IMDS when neither options, environment nor profile name one. */
int aws_client_region(struct aws_client *c, const char **ret, struct aws_error *err);
/* The credentials of the default chain, resolved once and refreshed before they expire. */
int aws_client_credentials(struct aws_client *c, const struct aws_credentials **ret,
                           struct aws_error *err);

/* now_msec() when the latest aws_call() sent its last attempt: the answer it returned
 * shows AWS's state at that moment or later. 0 before any call. */
long aws_client_last_attempt_ms(const struct aws_client *c);
/* Adaptive mode only: whether the client-side rate limiter may delay the next calls (true
 * by default). For a caller whose calls must follow each other within a time bound (a
 * lock's read and write); their answers still feed the limiter. */
void aws_client_set_rate_limited(struct aws_client *c, bool on);

/* AWS's clock minus ours (seconds), from the Date header of the latest answer, error or
 * not; false before the first answer that had one. For expiries that other machines read
 * (the controller's lock): the local clock may be off. */
bool aws_client_clock_skew(const struct aws_client *c, time_t *ret);

struct aws_call {
	enum aws_service service;
	const char *action;       /* for traces, retries and messages */
	const char *method;       /* default POST; the path is the endpoint's */
	const char *content_type; /* NULL: none */
	const char *target;       /* X-Amz-Target of JSON protocols */
	const char *body;
	size_t body_len;
	size_t max_response; /* 0: HTTP_MAX_RESPONSE_DEFAULT */
	long deadline_ms;    /* the whole call, retries included; 0: AWS_CALL_DEADLINE_MS */
	bool anonymous;      /* unsigned (AssumeRoleWithWebIdentity) */
	bool sensitive;      /* the request or response holds a secret: wipe buffers */
	const struct aws_credentials *credentials; /* sign with these, not the chain's */
	unsigned max_attempts;                     /* at most the client's; 0: the client's */
	/* Fills err from an error response's body (code, message, request id). */
	void (*parse_error)(const struct http_response *r, struct aws_error *err);
};

#define AWS_CALL_DEADLINE_MS   120000L
#define AWS_ATTEMPT_TIMEOUT_MS 30000L

/*
 * Sends one call, retried as the standard mode says. 0 with ret holding a 2xx response;
 * -EREMOTEIO when AWS answered with an error (err has its code); a transport error
 * (-ETIMEDOUT, -ECONNREFUSED, ...) when no answer came; -ENOKEY without credentials,
 * -EOPNOTSUPP for a credential source we do not support. ret is always initialised.
 */
int aws_call(struct aws_client *c, const struct aws_call *call, struct http_response *ret,
             struct aws_error *err);

/* ---- Addition: several calls side by side (the controller's per-set calls) ---- */

/*
 * Sends n independent calls concurrently (http_request_many); results[i], rets[i] and
 * errs[i] are what aws_call() gives for calls[i]. The first attempts run side by side; a
 * call whose first attempt fails in a retryable way is then retried as aws_call() does,
 * one after another. Returns 0, or a negative errno when the batch could not run at all.
 */
int aws_call_many(struct aws_client *c, const struct aws_call *calls, size_t n,
                  struct http_response *rets, struct aws_error *errs, int *results);

#endif
