#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "aws.h"
#include "creds.h"
#include "retry.h"
#include "sigv4.h"
#include "strutil.h"
#include "timeutil.h"
#include "banned.h"

#define CREDENTIALS_REFRESH_S ((time_t)15 * 60) /* botocore's advisory refresh window */

struct aws_client {
	struct http_client *http;
	struct aws_config *config;
	char *user_agent;
	char *endpoints[_AWS_SVC_MAX];
	char *region_from_imds;
	struct imds_client *imds;
	bool profile_explicit;
	struct aws_credentials creds;
	bool have_creds;
	struct retry_quota quota;
	bool adaptive, unlimited;
	struct retry_limiter limiter;
	long last_attempt_ms;
	aws_trace_fn trace;
	void *trace_userdata;
	bool (*stop)(void);
	time_t clock_skew; /* AWS's clock minus ours, from the latest Date header */
	bool have_clock_skew;
};

/* The limiter's clock: monotonic seconds. */
static double now_s(void)
{
	return (double)now_msec() / 1000.0;
}

void aws_error_clear(struct aws_error *e)
{
	if (!e)
		return;
	free(e->code);
	free(e->message);
	free(e->request_id);
	*e = (struct aws_error){ 0 };
}

bool aws_error_is(const struct aws_error *e, const char *code)
{
	return e && e->code && streq(e->code, code);
}

int aws_error_set(struct aws_error *e, int r, const char *code, const char *fmt, ...)
{
	va_list ap;
	char *m;

	if (!e)
		return r;
	va_start(ap, fmt); /* formatted first: the arguments may point into e */
	m = strdup_vprintf(fmt, ap);
	va_end(ap);
	free(e->message);
	e->message = m;
	if (code) {
		free(e->code);
		e->code = strdup(code);
	}
	return r;
}

void aws_credentials_done(struct aws_credentials *c)
{
	if (!c)
		return;
	secret_free(c->access_key_id);
	secret_free(c->secret_access_key);
	secret_free(c->session_token);
	*c = (struct aws_credentials){ 0 };
}

int aws_client_new(const struct aws_client_options *o, struct aws_client **ret,
                   struct aws_error *err)
{
	struct aws_config_options co = { o->region, o->profile, o->endpoint_url };
	_cleanup_(aws_client_freep) struct aws_client *c = calloc(1, sizeof(*c));
	_cleanup_free_ char *why = NULL;
	int r;

	if (!c)
		return -ENOMEM;
	r = aws_config_load(&co, &c->config, &why);
	if (r < 0)
		return aws_error_set(err, r, NULL, "%s", why ? why : strerror(-r));
	r = http_client_new(&c->http);
	if (r < 0)
		return r;
	c->user_agent = strdup(o->user_agent ? o->user_agent : "asgswap/" ASGSWAP_VERSION);
	if (!c->user_agent)
		return -ENOMEM;
	c->profile_explicit = o->profile != NULL;
	c->trace = o->trace;
	c->trace_userdata = o->trace_userdata;
	c->stop = o->stop;
	retry_quota_init(&c->quota);
	if (!c->config->retry_mode_set)
		c->config->retry_mode = o->retry_mode_default;
	if (!c->config->max_attempts_set && o->max_attempts_default > 0)
		c->config->max_attempts = o->max_attempts_default;
	c->adaptive = c->config->retry_mode == AWS_RETRY_ADAPTIVE;
	retry_limiter_init(&c->limiter, now_s());
	*ret = TAKE_PTR(c);
	return 0;
}

struct aws_client *aws_client_free(struct aws_client *c)
{
	if (!c)
		return NULL;
	http_client_free(c->http);
	aws_config_free(c->config);
	for (size_t i = 0; i < ELEMENTSOF(c->endpoints); i++)
		free(c->endpoints[i]);
	free(c->region_from_imds);
	imds_client_free(c->imds);
	free(c->user_agent);
	aws_credentials_done(&c->creds);
	free(c);
	return NULL;
}

long aws_client_last_attempt_ms(const struct aws_client *c)
{
	return c->last_attempt_ms;
}

void aws_client_set_rate_limited(struct aws_client *c, bool on)
{
	c->unlimited = !on;
}

struct http_client *aws_client_http(struct aws_client *c)
{
	return c->http;
}

const struct aws_config *aws_client_config(const struct aws_client *c)
{
	return c->config;
}

bool aws_client_profile_explicit(const struct aws_client *c)
{
	return c->profile_explicit;
}

int aws_client_imds(struct aws_client *c, struct imds_client **ret)
{
	int r;

	if (!c->imds) {
		r = imds_client_new(c->http, &c->imds);
		if (r < 0)
			return r;
	}
	*ret = c->imds;
	return 0;
}

int aws_client_region(struct aws_client *c, const char **ret, struct aws_error *err)
{
	int r;

	if (c->config->region) {
		*ret = c->config->region;
		return 0;
	}
	if (!c->region_from_imds) {
		r = aws_imds_region(c, &c->region_from_imds, err);
		if (r < 0)
			return r;
	}
	*ret = c->region_from_imds;
	return 0;
}

int aws_client_credentials(struct aws_client *c, const struct aws_credentials **ret,
                           struct aws_error *err)
{
	struct aws_credentials fresh;
	time_t now = time(NULL);
	int r;

	if (c->have_creds &&
	    (c->creds.expiration == 0 || c->creds.expiration - now > CREDENTIALS_REFRESH_S)) {
		*ret = &c->creds;
		return 0;
	}
	r = aws_credentials_chain(c, &fresh, err);
	if (r < 0) {
		/* A failed early refresh keeps credentials that are still valid for a while. */
		if (c->have_creds && c->creds.expiration - now > 60) {
			aws_error_clear(err);
			*ret = &c->creds;
			return 0;
		}
		return r;
	}
	aws_credentials_done(&c->creds);
	c->creds = fresh;
	c->have_creds = true;
	*ret = &c->creds;
	return 0;
}

static int endpoint_for(struct aws_client *c, enum aws_service s, const char **ret,
                        struct aws_error *err)
{
	const char *region;
	int r;

	if (!c->endpoints[s]) {
		r = aws_client_region(c, &region, err);
		if (r < 0)
			return r;
		r = aws_config_endpoint(c->config, s, region, &c->endpoints[s]);
		if (r < 0)
			return aws_error_set(err, r, NULL, "no endpoint for %s: %s",
			                     aws_service_info(s)->name, strerror(-r));
	}
	*ret = c->endpoints[s];
	return 0;
}

/* "https://host:port/base" → host:port and the path ("/" when none). */
static int split_url(const char *url, char **ret_host, const char **ret_path)
{
	const char *h = strstr(url, "://"), *end;

	if (!h)
		return -EINVAL;
	h += 3;
	end = h + strcspn(h, "/?#");
	if (end == h)
		return -EINVAL;
	*ret_host = strndup(h, (size_t)(end - h));
	if (!*ret_host)
		return -ENOMEM;
	*ret_path = *end == '/' ? end : "/";
	return 0;
}

static double jitter(void)
{
	uint32_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)now_msec() * 2654435761u;
	return v / 4294967296.0;
}

static bool stopped(const struct aws_client *c)
{
	return c->stop && c->stop();
}

/* The transfer's tick: a stop ends the call in flight. */
static int stop_tick(void *userdata)
{
	return stopped(userdata) ? -EINTR : 0;
}

/* The wait before a retry; -EINTR when a stop cut it short. */
static int sleep_ms(const struct aws_client *c, long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		if (stopped(c))
			return -EINTR;
	return 0;
}

/* The signed headers of one attempt of call. */
static int prepare_signed(struct aws_client *c, const struct aws_call *call, const char *host,
                          const char *path, char ***ret, struct aws_error *err)
{
	const struct aws_credentials *creds = call->credentials;
	struct sigv4_result sig = { 0 };
	_cleanup_strv_free_ char **headers = NULL;
	const char *region;
	int r;

	if (strv_pushf(&headers, "Host: %s", host) < 0 ||
	    strv_pushf(&headers, "User-Agent: %s", c->user_agent) < 0 ||
	    (call->content_type &&
	     strv_pushf(&headers, "Content-Type: %s", call->content_type) < 0) ||
	    (call->target && strv_pushf(&headers, "X-Amz-Target: %s", call->target) < 0))
		return -ENOMEM;
	if (!call->anonymous) {
		if (!creds) {
			r = aws_client_credentials(c, &creds, err);
			if (r < 0)
				return r;
		}
		r = aws_client_region(c, &region, err);
		if (r < 0)
			return r;
		struct sigv4_request sr = {
			.method = call->method ? call->method : "POST",
			.path = path,
			.headers = headers,
			.body = call->body,
			.body_len = call->body_len,
			.region = region,
			.service = aws_service_info(call->service)->signing_name,
			.now = time(NULL),
			.normalize_path = true,
		};
		struct sigv4_credentials sc = { creds->access_key_id, creds->secret_access_key,
			                        creds->session_token };
		r = sigv4_sign(&sr, &sc, &sig);
		if (r < 0)
			return aws_error_set(err, r, NULL, "signing %s: %s", call->action,
			                     strerror(-r));
		STRV_FOREACH(h, sig.add_headers) {
			r = strv_extend(&headers, *h);
			if (r < 0) {
				sigv4_result_done(&sig);
				return r;
			}
		}
		sigv4_result_done(&sig);
	}
	*ret = TAKE_PTR(headers);
	return 0;
}

/* The signed headers hold the session token: wipe them. */
static void wipe_strv(char **v)
{
	STRV_FOREACH(h, v)
		explicit_bzero(*h, strlen(*h));
	strv_free(v);
}

/* Whether an action only reads (by AWS's naming): the others change something, and a
 * resend that we do not know about could apply them twice. */
static bool is_read(const char *action)
{
	return action && (startswith(action, "Describe") || startswith(action, "List") ||
	                  startswith(action, "Get"));
}

/* Builds and sends one signed attempt. */
static int attempt_once(struct aws_client *c, const struct aws_call *call, const char *url,
                        const char *host, const char *path, long timeout_ms,
                        struct http_response *resp, bool *sent, struct aws_error *err)
{
	char **headers = NULL;
	int r;

	*resp = (struct http_response){ 0 };
	r = prepare_signed(c, call, host, path, &headers, err);
	if (r < 0)
		return r;
	struct http_request req = {
		.method = call->method ? call->method : "POST",
		.url = url,
		.headers = headers,
		.body = call->body ? call->body : "",
		.body_len = call->body_len,
		.max_response = call->max_response,
		.timeout_ms = timeout_ms,
		.sensitive = call->sensitive,
		.fresh_connect = !is_read(call->action),
		.on_tick = c->stop ? stop_tick : NULL,
		.userdata = c,
	};
	*sent = true;
	r = http_request(c->http, &req, resp);
	wipe_strv(headers);
	return r;
}

/* Every answer, error or not, tells AWS's time: keep how far ours is off. */
static void note_date(struct aws_client *c, const struct http_response *resp)
{
	time_t t;

	if (http_date_parse(http_response_header(resp, "Date"), &t) < 0)
		return;
	c->clock_skew = t - time(NULL);
	c->have_clock_skew = true;
}

bool aws_client_clock_skew(const struct aws_client *c, time_t *ret)
{
	if (c->have_clock_skew)
		*ret = c->clock_skew;
	return c->have_clock_skew;
}

/* Why no answer came. An answer over the size cap is said as such: strerror(E2BIG) is
 * "Argument list too long". */
static void transport_message(struct aws_error *err, int r, const struct http_response *resp)
{
	if (r == -E2BIG && resp->error[0])
		aws_error_set(err, 0, NULL, "%s", resp->error);
	else
		aws_error_set(err, 0, NULL, "%s: %s", strerror(-r),
		              resp->error[0] ? resp->error : "no response");
}

static const char *request_id(const struct http_response *resp)
{
	const char *id = http_response_header(resp, "x-amzn-RequestId");

	return id ? id : http_response_header(resp, "x-amz-request-id");
}

/* Adaptive mode: waits for a token of the rate limiter before an attempt; -EINTR when a
 * stop cut the wait short, -ETIMEDOUT when the token would come after the deadline. */
static int limiter_take(struct aws_client *c, long deadline)
{
	for (;;) {
		double wait_s;
		long ms;
		int r;

		if (!c->adaptive || c->unlimited)
			return 0;
		wait_s = retry_limiter_acquire(&c->limiter, now_s());
		if (wait_s <= 0.0)
			return 0;
		ms = (long)(wait_s * 1000.0) + 1;
		if (now_msec() + ms >= deadline)
			return -ETIMEDOUT;
		r = sleep_ms(c, ms);
		if (r < 0)
			return r;
	}
}

static void limiter_note(struct aws_client *c, enum retry_kind kind)
{
	if (c->adaptive)
		retry_limiter_update(&c->limiter, now_s(), kind == RETRY_THROTTLE);
}

int aws_call(struct aws_client *c, const struct aws_call *call, struct http_response *ret,
             struct aws_error *err)
{
	const struct aws_service_info *info = aws_service_info(call->service);
	_cleanup_free_ char *host = NULL;
	long deadline =
	        now_msec() + (call->deadline_ms > 0 ? call->deadline_ms : AWS_CALL_DEADLINE_MS);
	unsigned attempt = 0, standard = 0, last_cost = 0;
	unsigned max_attempts = call->max_attempts > 0
	                                ? MIN(call->max_attempts, c->config->max_attempts)
	                                : c->config->max_attempts;
	bool lost = false;
	struct aws_error scratch = { 0 };
	const char *endpoint = NULL, *base_path = "/";
	int r;

	if (!err)
		err = &scratch;
	aws_error_clear(err);
	*ret = (struct http_response){ 0 };
	r = endpoint_for(c, call->service, &endpoint, err);
	if (r < 0)
		goto out;
	r = split_url(endpoint, &host, &base_path);
	if (r < 0) {
		aws_error_set(err, r, NULL, "bad endpoint '%s'", endpoint);
		goto out;
	}
	for (;;) {
		long left = deadline - now_msec(), wait;
		enum retry_kind kind;

		attempt++;
		aws_error_clear(err);
		http_response_done(ret);
		if (stopped(c)) {
			r = aws_error_set(err, -EINTR, NULL, "stopped before attempt %u", attempt);
			goto out;
		}
		bool sent = false;

		r = limiter_take(c, deadline);
		if (r == -EINTR) {
			aws_error_set(err, r, NULL, "stopped before attempt %u", attempt);
			goto out;
		}
		if (r < 0) {
			aws_error_set(err, r, NULL,
			              "the client-side rate limit allows no attempt before the "
			              "deadline");
			goto out;
		}
		c->last_attempt_ms = now_msec();
		r = attempt_once(c, call, endpoint, host, base_path,
		                 MIN(left, AWS_ATTEMPT_TIMEOUT_MS), ret, &sent, err);
		if (!sent)
			goto out; /* credentials, signing, memory: nothing to retry */
		if (r == -EINTR && stopped(c)) {
			aws_error_set(err, r, NULL, "stopped during attempt %u", attempt);
			goto out;
		}
		if (r == 0)
			note_date(c, ret);
		if (r == 0 && ret->status >= 200 && ret->status < 300) {
			limiter_note(c, RETRY_NO);
			retry_quota_release(&c->quota, last_cost);
			if (c->trace)
				c->trace(c->trace_userdata,
				         &(struct aws_trace){ info->name, call->action, attempt,
				                              ret->status, ret->elapsed_ms,
				                              request_id(ret), NULL, 0, -1 });
			r = 0;
			goto out;
		}
		if (r == 0) {
			if (call->parse_error)
				call->parse_error(ret, err);
			if (!err->request_id && request_id(ret))
				err->request_id = strdup(request_id(ret));
			err->http_status = ret->status;
			if (!err->code && !err->message)
				aws_error_set(err, 0, NULL, "HTTP %ld", ret->status);
		} else if (!err->message) {
			transport_message(err, r, ret);
		}

		kind = retry_classify(r, ret->status, err->code);
		limiter_note(c, kind);
		if (r < 0 && r != -ECONNREFUSED)
			lost = true; /* sent, or may have been */
		wait = -1;
		if (kind == RETRY_SCALING || kind == RETRY_CONTENTION ||
		    (kind != RETRY_NO && standard + 1 < max_attempts &&
		     retry_quota_acquire(&c->quota, kind, &last_cost))) {
			/* ScalingActivityInProgress and ResourceContention wait out the other
			 * activity until the deadline, outside the attempts and the quota. */
			wait = retry_backoff_ms(kind, kind == RETRY_SCALING ? attempt : ++standard,
			                        jitter());
			if (now_msec() + wait >= deadline)
				wait = -1;
		}
		if (c->trace)
			c->trace(c->trace_userdata,
			         &(struct aws_trace){ info->name, call->action, attempt,
			                              ret->status, ret->elapsed_ms, err->request_id,
			                              err->code, r, wait });
		if (wait < 0) {
			r = r < 0 ? r : -EREMOTEIO;
			goto out;
		}
		r = sleep_ms(c, wait);
		if (r < 0)
			goto out;
	}
out:
	err->attempts = attempt;
	err->answer_lost = lost;
	aws_error_clear(&scratch);
	return r;
}

/* Several calls side by side: one attempt each over curl multi, then the ones that need a
 * retry go through aws_call() one by one. */

int aws_call_many(struct aws_client *c, const struct aws_call *calls, size_t n,
                  struct http_response *rets, struct aws_error *errs, int *results)
{
	_cleanup_free_ struct http_request *reqs = calloc(n ? n : 1, sizeof(*reqs));
	_cleanup_free_ char ***headers = calloc(n ? n : 1, sizeof(*headers));
	_cleanup_free_ char **hosts = calloc(n ? n : 1, sizeof(*hosts));
	_cleanup_free_ int *sent = calloc(n ? n : 1, sizeof(*sent));
	_cleanup_free_ size_t *idx = calloc(n ? n : 1, sizeof(*idx));
	_cleanup_free_ struct http_response *first = calloc(n ? n : 1, sizeof(*first));
	size_t m = 0;
	int r = 0;

	if (!reqs || !headers || !hosts || !sent || !idx || !first)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *endpoint = NULL, *path = "/";

		aws_error_clear(&errs[i]);
		rets[i] = (struct http_response){ 0 };
		results[i] = endpoint_for(c, calls[i].service, &endpoint, &errs[i]);
		if (results[i] == 0 && split_url(endpoint, &hosts[i], &path) < 0)
			results[i] = aws_error_set(&errs[i], -EINVAL, NULL, "bad endpoint '%s'",
			                           endpoint);
		if (results[i] == 0)
			results[i] =
			        prepare_signed(c, &calls[i], hosts[i], path, &headers[i], &errs[i]);
		if (results[i] < 0)
			continue;
		reqs[m] = (struct http_request){
			.method = calls[i].method ? calls[i].method : "POST",
			.url = endpoint,
			.headers = headers[i],
			.body = calls[i].body ? calls[i].body : "",
			.body_len = calls[i].body_len,
			.max_response = calls[i].max_response,
			.timeout_ms = AWS_ATTEMPT_TIMEOUT_MS,
			.sensitive = calls[i].sensitive,
			.fresh_connect = !is_read(calls[i].action),
			.on_tick = c->stop ? stop_tick : NULL,
			.userdata = c,
		};
		idx[m++] = i;
	}
	/* One token for each first attempt; the batch goes when it has them all. */
	for (size_t k = 0; k < m && r == 0; k++)
		r = limiter_take(c, now_msec() + AWS_CALL_DEADLINE_MS);
	if (m && r == 0)
		r = http_request_many(c->http, reqs, first, sent, m);
	for (size_t k = 0; k < m; k++) {
		size_t i = idx[k];
		struct http_response *resp = &first[k];
		const struct aws_service_info *info = aws_service_info(calls[i].service);
		enum retry_kind kind;

		wipe_strv(headers[i]);
		headers[i] = NULL;
		if (r == 0 && sent[k] == 0)
			note_date(c, resp);
		if (r == 0 && sent[k] == 0 && resp->status >= 200 && resp->status < 300) {
			limiter_note(c, RETRY_NO);
			retry_quota_release(&c->quota, 0);
			if (c->trace)
				c->trace(c->trace_userdata,
				         &(struct aws_trace){ info->name, calls[i].action, 1,
				                              resp->status, resp->elapsed_ms,
				                              request_id(resp), NULL, 0, -1 });
			rets[i] = *resp;
			*resp = (struct http_response){ 0 };
			results[i] = 0;
			errs[i].attempts = 1;
			continue;
		}
		if (r == 0 && sent[k] == 0 && calls[i].parse_error)
			calls[i].parse_error(resp, &errs[i]);
		kind = r == 0 ? retry_classify(sent[k], resp->status, errs[i].code)
		              : RETRY_TRANSIENT;
		if (r == 0)
			limiter_note(c, kind);
		if (kind == RETRY_NO && r == 0) {
			if (c->trace)
				c->trace(c->trace_userdata,
				         &(struct aws_trace){ info->name, calls[i].action, 1,
				                              resp->status, resp->elapsed_ms,
				                              errs[i].request_id, errs[i].code,
				                              sent[k], -1 });
			errs[i].http_status = sent[k] < 0 ? 0 : resp->status;
			errs[i].attempts = 1;
			if (sent[k] < 0)
				transport_message(&errs[i], sent[k], resp);
			else if (!errs[i].code && !errs[i].message)
				aws_error_set(&errs[i], 0, NULL, "HTTP %ld", resp->status);
			results[i] = sent[k] < 0 ? sent[k] : -EREMOTEIO;
			http_response_done(resp);
			continue;
		}
		/* Retryable: the rest goes the way of a single call, with its own retries. */
		http_response_done(resp);
		aws_error_clear(&errs[i]);
		results[i] = aws_call(c, &calls[i], &rets[i], &errs[i]);
		if (r < 0 || (sent[k] < 0 && sent[k] != -ECONNREFUSED))
			errs[i].answer_lost = true;
	}
	for (size_t i = 0; i < n; i++) {
		if (headers[i])
			wipe_strv(headers[i]);
		free(hosts[i]);
	}
	return 0;
}
