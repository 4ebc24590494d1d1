/*
 * AWS Signature Version 4, header signing (AWS General Reference "Create a signed AWS API
 * request"). The time is a parameter so that signatures compare byte for byte with the public
 * test vectors in tests/data/sigv4/.
 */
#ifndef ASGSWAP_SIGV4_H
#define ASGSWAP_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "macro.h"

struct sigv4_credentials {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token; /* NULL or "" when none */
};

struct sigv4_request {
	const char *method;
	/* As sent on the wire, e.g. "/" or "/a%20b" (NULL or "" means "/"). With normalize_path
	 * the dot segments and repeated slashes are removed and the result is URI-encoded once
	 * more, as every service but S3 expects; without, it is decoded and encoded once (S3). */
	const char *path;
	const char *query;    /* raw query string without '?', or NULL */
	char *const *headers; /* NULL-terminated "Name: value" lines; must include Host */
	const void *body;
	size_t body_len;
	const char *region;
	const char *service;
	time_t now;          /* UTC seconds */
	bool normalize_path; /* S3 says false, every other service true */
	bool sign_body;      /* add and sign x-amz-content-sha256 */
	/* Send X-Amz-Security-Token but leave it out of the signature (the few services that
	 * want the token added after signing; aws4_testsuite post-sts-header-after). */
	bool omit_session_token;
};

struct sigv4_result {
	char *canonical_request; /* for tests and debugging */
	char *string_to_sign;
	char *signature; /* lower-case hex */
	/* NULL-terminated "Name: value" lines the caller must send as well: X-Amz-Date,
	 * X-Amz-Security-Token when a token is set, x-amz-content-sha256 when sign_body (each only
	 * when the caller's headers lack it), and Authorization, always last. */
	char **add_headers;
};

/*
 * Signs req with creds. Caller headers named X-Amz-Date (which must then match now),
 * X-Amz-Security-Token or x-amz-content-sha256 (whose value then stands for the payload hash,
 * e.g. UNSIGNED-PAYLOAD) are signed as given and not added again. User-Agent, Expect,
 * Connection, Transfer-Encoding, Upgrade and X-Amzn-Trace-Id are never signed (the union of
 * botocore's and aws-c-auth's skip lists): proxies and libcurl may change them.
 *
 * Returns 0 and fills ret (free it with sigv4_result_done()), or a negative errno and leaves
 * ret untouched: -EINVAL for malformed input (a header without ':' or with a bad name, no Host,
 * an Authorization header, a path not starting with '/' or holding '?' or '#', a bad
 * percent-escape where decoding is needed, CR or LF in the token, an empty or '/'-holding
 * region, service or access key, a time outside years 1000-9999), -E2BIG when a canonical
 * string passes SIGV4_TEXT_MAX, -ENOMEM, -EIO when libcrypto fails.
 */
#define SIGV4_TEXT_MAX ((size_t)1 << 20)
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *creds,
               struct sigv4_result *ret);

/* Wipes and frees every field (the token sits in add_headers and the canonical request);
 * accepts a zeroed or already-done result. */
void sigv4_result_done(struct sigv4_result *r);

#endif
