#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imds.h"
#include "strutil.h"
#include "banned.h"

struct imds_client {
	struct http_client *http;
	char *endpoint;
	char *token;
	time_t token_expiry;
};

static bool imds_disabled(void)
{
	const char *e = getenv("AWS_EC2_METADATA_DISABLED");

	return e && strcasecmp(e, "true") == 0;
}

int imds_client_new(struct http_client *http, struct imds_client **ret)
{
	const char *e = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	struct imds_client *c = calloc(1, sizeof(*c));
	size_t n;

	if (!c)
		return -ENOMEM;
	c->http = http;
	c->endpoint = strdup(e && *e ? e : IMDS_ENDPOINT_DEFAULT);
	if (!c->endpoint) {
		free(c);
		return -ENOMEM;
	}
	n = strlen(c->endpoint);
	while (n && c->endpoint[n - 1] == '/')
		c->endpoint[--n] = '\0';
	*ret = c;
	return 0;
}

struct imds_client *imds_client_free(struct imds_client *c)
{
	if (!c)
		return NULL;
	secret_free(c->token);
	free(c->endpoint);
	free(c);
	return NULL;
}

/* One request with IMDS's short timeouts; retried on transport errors and 5xx. */
static int imds_request(struct imds_client *c, const char *method, const char *path,
                        char *const *headers, struct http_response *resp)
{
	_cleanup_free_ char *url = NULL;
	int r = -EIO;

	if (asprintf(&url, "%s%s", c->endpoint, path) < 0)
		return -ENOMEM;
	for (unsigned i = 0; i < IMDS_ATTEMPTS; i++) {
		struct http_request req = {
			.method = method,
			.url = url,
			.headers = headers,
			.max_response = IMDS_MAX_RESPONSE,
			.connect_timeout_ms = 1000,
			.timeout_ms = 2000,
			.no_proxy = true,
			.sensitive = true, /* tokens and role credentials */
		};

		if (i)
			http_response_done(resp);
		r = http_request(c->http, &req, resp);
		if (r == 0 && resp->status < 500)
			return 0;
		if (r == -E2BIG || r == -EINVAL || r == -ENOMEM)
			return r;
	}
	return r < 0 ? r : -EBADMSG;
}

static int imds_token(struct imds_client *c)
{
	char ttl[64];
	char *const headers[] = { ttl, NULL };
	struct http_response resp;
	int r;

	if (c->token && time(NULL) < c->token_expiry)
		return 0;
	c->token = secret_free(c->token);
	(void)snprintf(ttl, sizeof(ttl), "X-aws-ec2-metadata-token-ttl-seconds: %d",
	               IMDS_TOKEN_TTL_S);
	r = imds_request(c, "PUT", "/latest/api/token", headers, &resp);
	if (r == 0 && resp.status == 200 && resp.body.len > 0 &&
	    !memchr(resp.body.data, '\n', resp.body.len) &&
	    !memchr(resp.body.data, '\r', resp.body.len)) {
		c->token = buf_steal(&resp.body);
		/* Renew a minute early so a token never expires between use and arrival. */
		c->token_expiry = time(NULL) + IMDS_TOKEN_TTL_S - 60;
		r = c->token ? 0 : -ENOMEM;
	} else if (r == 0) {
		r = resp.status == 403 ? -EACCES : resp.status == 404 ? -ENOENT : -EBADMSG;
	}
	http_response_done(&resp);
	return r;
}

int imds_get(struct imds_client *c, const char *path, char **ret)
{
	if (imds_disabled())
		return -ENODEV;
	for (unsigned renewals = 0;; renewals++) {
		_cleanup_free_ char *h = NULL;
		struct http_response resp;
		int r = imds_token(c);

		if (r < 0)
			return r;
		if (asprintf(&h, "X-aws-ec2-metadata-token: %s", c->token) < 0)
			return -ENOMEM;
		char *const headers[] = { h, NULL };
		r = imds_request(c, "GET", path, headers, &resp);
		explicit_bzero(h, strlen(h));
		if (r < 0) {
			http_response_done(&resp);
			return r;
		}
		switch (resp.status) {
		case 200:
			*ret = buf_steal(&resp.body);
			http_response_done(&resp);
			return *ret ? 0 : -ENOMEM;
		case 401:
			/* Expired or unknown token (IMDS restarted): get a new one, once. */
			http_response_done(&resp);
			c->token = secret_free(c->token);
			if (renewals >= 1)
				return -EPERM;
			continue;
		case 403:
			r = -EACCES;
			break;
		case 404:
			r = -ENOENT;
			break;
		default:
			r = -EBADMSG;
		}
		http_response_done(&resp);
		return r;
	}
}
