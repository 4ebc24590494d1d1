/*
 * The one HTTP function every client uses (AWS APIs, IMDS, container credentials, Docker over
 * its unix socket), on libcurl. TLS verification is always on (AWS_CA_BUNDLE names the CA
 * file), proxies come from the environment (https_proxy, no_proxy), redirects are never
 * followed, every response body has a ceiling, and connections are reused per host.
 */
#ifndef ASGSWAP_HTTP_H
#define ASGSWAP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "macro.h"

#define HTTP_MAX_RESPONSE_DEFAULT ((size_t)16 << 20)
#define HTTP_ERROR_SIZE           256 /* CURL_ERROR_SIZE */

struct http_client;

struct http_request {
	const char *method; /* GET, POST, PUT, DELETE, HEAD */
	const char *url;
	char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
	const void *body;
	size_t body_len;
	const char *unix_socket; /* connect here instead of the URL's host (Docker) */
	size_t max_response;     /* 0 = HTTP_MAX_RESPONSE_DEFAULT */
	long connect_timeout_ms; /* 0 = 5000 */
	long timeout_ms;         /* whole transfer; 0 = 60000 */
	bool no_proxy;           /* IMDS and link-local credential endpoints */
	bool sensitive;          /* the body holds a secret: wipe it as it grows and is freed */
	/* A new connection: on a reused one that turns out dead, libcurl sends the request
	 * again by itself, which a call that is not idempotent cannot afford unknowingly. */
	bool fresh_connect;
	/* Streaming: called with each complete line of the body (no newline; a last unterminated
	 * line too) instead of buffering it; a negative return aborts the transfer with it. */
	int (*on_line)(void *userdata, const char *line, size_t len);
	/* Called about once a second while the transfer runs, whether data flows or not (more
	 * often while it does), with userdata; a negative return aborts the transfer with it.
	 * For work that must go on during a long and silent transfer. */
	int (*on_tick)(void *userdata);
	void *userdata;
};

struct http_response {
	long status;
	struct buf body; /* not used when streaming */
	char **headers;  /* "Name: value" lines of the final response, NULL-terminated */
	long elapsed_ms;
	char error[HTTP_ERROR_SIZE]; /* what failed, for a transport error */
};

int http_client_new(struct http_client **ret);
struct http_client *http_client_free(struct http_client *c);
DEFINE_POINTER_CLEANUP_FUNC(struct http_client, http_client_free)

/*
 * 0 when a response arrived, whatever its status; a negative errno when none did:
 * -ETIMEDOUT, -ECONNREFUSED, -ECONNRESET (connection dropped, empty reply), -EHOSTUNREACH
 * (name or host unreachable), -E2BIG (body over max_response), -EPROTO (malformed
 * response, TLS failure), -EINVAL (bad URL), -ENOMEM, or the callback's own error.
 * ret is initialised in every case; free it with http_response_done().
 */
int http_request(struct http_client *c, const struct http_request *req, struct http_response *ret);

/* Runs n independent requests concurrently; results[i] is what http_request() would return
 * for reqs[i]. Returns 0, or a negative errno when the batch itself could not run. */
int http_request_many(struct http_client *c, const struct http_request *reqs,
                      struct http_response *rets, int *results, size_t n);

/* Value of the last header with this name (case-insensitive), or NULL. */
const char *http_response_header(const struct http_response *r, const char *name);
/* An HTTP date (RFC 9110 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`), whatever the
 * locale; -EINVAL for anything else. */
int http_date_parse(const char *s, time_t *ret);
void http_response_done(struct http_response *r);

#endif
