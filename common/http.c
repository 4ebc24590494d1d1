#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http.h"
#include "strutil.h"
#include "banned.h"

_Static_assert(HTTP_ERROR_SIZE >= CURL_ERROR_SIZE, "error buffer smaller than libcurl's");

#define HTTP_MAX_HEADER_BYTES ((size_t)256 << 10)

struct http_client {
	CURLSH *share; /* connection cache and DNS shared by every handle below */
	CURL *easy;    /* reused for sequential requests, so connections persist */
	CURLM *multi;
	char *ca_bundle;
};

/* One transfer in flight. */
struct xfer {
	const struct http_request *req;
	struct http_response *resp;
	struct curl_slist *headers;
	struct buf line; /* streaming: the incomplete line so far */
	size_t max;
	size_t header_bytes;
	int error; /* ours, when a callback stopped the transfer */
};

static unsigned curl_users;

/* libcurl's own buffers (the request it assembles, upload and download buffers, headers)
 * hold what our sensitive buffers hold: credentials, tokens, the container's environment.
 * Its allocations are wiped before they are freed or moved, as ours are. */
static void wiping_free(void *p)
{
	if (p) {
		explicit_bzero(p, malloc_usable_size(p));
		free(p);
	}
}

static void *wiping_realloc(void *p, size_t n)
{
	void *q;

	if (!p)
		return malloc(n);
	q = malloc(n ? n : 1);
	if (!q)
		return NULL;
	memcpy(q, p, malloc_usable_size(p) < n ? malloc_usable_size(p) : n);
	wiping_free(p);
	return q;
}

static int global_init(void)
{
	return curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, wiping_free, wiping_realloc,
	                            strdup, calloc) == CURLE_OK
	               ? 0
	               : -ENOMEM;
}

int http_client_new(struct http_client **ret)
{
	struct http_client *c;
	const char *ca;

	if (curl_users++ == 0 && global_init() < 0) {
		curl_users--;
		return -ENOMEM;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->share = curl_share_init();
	c->easy = curl_easy_init();
	c->multi = curl_multi_init();
	if (!c->share || !c->easy || !c->multi)
		goto fail;
	if (curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
		goto fail;
	ca = getenv("AWS_CA_BUNDLE");
	if (ca && *ca && !(c->ca_bundle = strdup(ca)))
		goto fail;
	*ret = c;
	return 0;
fail:
	http_client_free(c);
	if (!c && --curl_users == 0)
		curl_global_cleanup();
	return -ENOMEM;
}

struct http_client *http_client_free(struct http_client *c)
{
	if (!c)
		return NULL;
	/* Handles first: they hold connections in the shared cache. */
	if (c->easy)
		curl_easy_cleanup(c->easy);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->share)
		curl_share_cleanup(c->share);
	free(c->ca_bundle);
	free(c);
	if (curl_users && --curl_users == 0)
		curl_global_cleanup();
	return NULL;
}

static int line_flush(struct xfer *x, const char *p, size_t n)
{
	int r;

	if (x->line.len) {
		r = buf_append(&x->line, p, n);
		if (r < 0)
			return r;
		p = x->line.data;
		n = x->line.len;
	}
	if (n && p[n - 1] == '\r')
		n--;
	r = x->req->on_line(x->req->userdata, p, n);
	buf_reset(&x->line);
	return r < 0 ? r : 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb;
	int r;

	if (!x->req->on_line) {
		r = buf_append(&x->resp->body, p, n);
		if (r < 0) {
			x->error = r;
			return 0;
		}
		return n;
	}
	for (size_t done = 0; done < n;) {
		char *nl = memchr(p + done, '\n', n - done);
		size_t chunk = nl ? (size_t)(nl - (p + done)) : n - done;

		r = nl ? line_flush(x, p + done, chunk) : buf_append(&x->line, p + done, chunk);
		if (r < 0) {
			x->error = r;
			return 0;
		}
		done += chunk + (nl ? 1 : 0);
	}
	return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb, len = n;
	char *line;

	x->header_bytes += n;
	if (x->header_bytes > HTTP_MAX_HEADER_BYTES) {
		x->error = -E2BIG;
		return 0;
	}
	/* A new status line starts the headers of another response (100, proxy CONNECT). */
	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		x->resp->headers = strv_free(x->resp->headers);
		return n;
	}
	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (!len || !memchr(p, ':', len))
		return n;
	line = strndup(p, len);
	if (!line || strv_push(&x->resp->headers, line) < 0) {
		x->error = -ENOMEM;
		return 0;
	}
	return n;
}

static int on_xferinfo(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	struct xfer *x = userdata;
	int r;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	r = x->req->on_tick(x->req->userdata);
	if (r < 0) {
		x->error = r;
		return 1;
	}
	return 0;
}

static int xfer_setup(struct http_client *c, CURL *e, struct xfer *x,
                      const struct http_request *req, struct http_response *resp)
{
	const char *method = req->method ? req->method : "GET";
	CURLcode rc = CURLE_OK;

	*resp = (struct http_response){ 0 };
	*x = (struct xfer){ .req = req, .resp = resp };
	x->max = req->max_response ? req->max_response : HTTP_MAX_RESPONSE_DEFAULT;
	if (req->sensitive) {
		buf_init_secret(&resp->body, x->max);
		buf_init_secret(&x->line, x->max);
	} else {
		buf_init(&resp->body, x->max);
		buf_init(&x->line, x->max);
	}

	STRV_FOREACH(h, req->headers) {
		struct curl_slist *l = curl_slist_append(x->headers, *h);
		if (!l)
			return -ENOMEM;
		x->headers = l;
	}
	/* A body goes at once: waiting for "100 Continue" only adds a round trip. */
	if (req->body) {
		struct curl_slist *l = curl_slist_append(x->headers, "Expect:");
		if (!l)
			return -ENOMEM;
		x->headers = l;
	}

#define SET(opt, val)                                       \
	do {                                                \
		if (rc == CURLE_OK)                         \
			rc = curl_easy_setopt(e, opt, val); \
	} while (0)
	SET(CURLOPT_SHARE, c->share);
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_PATH_AS_IS, 1L); /* we sign the path we send */
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_bundle)
		SET(CURLOPT_CAINFO, c->ca_bundle);
	if (req->no_proxy)
		SET(CURLOPT_NOPROXY, "*");
	SET(CURLOPT_FRESH_CONNECT, req->fresh_connect ? 1L : 0L);
	if (req->unix_socket)
		SET(CURLOPT_UNIX_SOCKET_PATH, req->unix_socket);
	SET(CURLOPT_CONNECTTIMEOUT_MS,
	    req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 5000L);
	SET(CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 60000L);
	SET(CURLOPT_HTTPHEADER, x->headers);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_ERRORBUFFER, resp->error);
	SET(CURLOPT_PRIVATE, x);
	if (req->on_tick) {
		SET(CURLOPT_XFERINFOFUNCTION, on_xferinfo);
		SET(CURLOPT_XFERINFODATA, x);
		SET(CURLOPT_NOPROGRESS, 0L);
	}
	if (!req->on_line)
		SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max);
	if (strcasecmp(method, "HEAD") == 0)
		SET(CURLOPT_NOBODY, 1L);
	else if (strcasecmp(method, "GET") != 0 || req->body)
		SET(CURLOPT_CUSTOMREQUEST, method);
	if (req->body) {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		SET(CURLOPT_POSTFIELDS, req->body);
	} else if (strcasecmp(method, "POST") == 0 || strcasecmp(method, "PUT") == 0) {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
		SET(CURLOPT_POSTFIELDS, "");
	}
#undef SET
	if (rc == CURLE_UNKNOWN_OPTION || rc == CURLE_NOT_BUILT_IN)
		return -EOPNOTSUPP;
	return rc == CURLE_OK ? 0 : rc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
}

static int map_curl_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_FILESIZE_EXCEEDED:
		return -E2BIG;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EPROTO;
	}
}

/* Collects the outcome of a finished transfer and releases what the setup took. */
static int xfer_finish(CURL *e, struct xfer *x, CURLcode rc)
{
	struct http_response *resp = x->resp;
	curl_off_t us = 0;
	int r;

	if (rc == CURLE_OK && x->req->on_line && x->line.len)
		rc = line_flush(x, "", 0) < 0 ? CURLE_WRITE_ERROR : CURLE_OK;
	if (x->error == 0 && rc == CURLE_WRITE_ERROR)
		x->error = -EIO;
	r = x->error ? x->error : map_curl_error(rc);
	if (r == -E2BIG)
		(void)snprintf(resp->error, sizeof(resp->error), "response larger than %zu bytes",
		               x->max);
	(void)curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
	(void)curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &us);
	resp->elapsed_ms = (long)(us / 1000);
	if (r < 0 && !resp->error[0])
		(void)snprintf(resp->error, sizeof(resp->error), "%s", curl_easy_strerror(rc));
	curl_slist_free_all(x->headers);
	x->headers = NULL;
	buf_free(&x->line);
	return r;
}

int http_request(struct http_client *c, const struct http_request *req, struct http_response *ret)
{
	struct xfer x;
	int r;

	curl_easy_reset(c->easy);
	r = xfer_setup(c, c->easy, &x, req, ret);
	if (r < 0) {
		curl_slist_free_all(x.headers);
		buf_free(&x.line);
		return r;
	}
	return xfer_finish(c->easy, &x, curl_easy_perform(c->easy));
}

int http_request_many(struct http_client *c, const struct http_request *reqs,
                      struct http_response *rets, int *results, size_t n)
{
	_cleanup_free_ struct xfer *xs = calloc(n ? n : 1, sizeof(*xs));
	_cleanup_free_ CURL **es = calloc(n ? n : 1, sizeof(*es));
	int running = 0, r = 0;

	if (!xs || !es)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		results[i] = -ECANCELED;
		rets[i] = (struct http_response){ 0 };
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		es[i] = curl_easy_init();
		if (!es[i]) {
			r = -ENOMEM;
			break;
		}
		r = xfer_setup(c, es[i], &xs[i], &reqs[i], &rets[i]);
		if (r == 0 && curl_multi_add_handle(c->multi, es[i]) != CURLM_OK)
			r = -ENOMEM;
		if (r < 0) {
			results[i] = r;
			curl_slist_free_all(xs[i].headers);
			buf_free(&xs[i].line);
			curl_easy_cleanup(es[i]);
			es[i] = NULL;
		}
	}
	if (r < 0)
		goto out;
	do {
		CURLMcode mc = curl_multi_perform(c->multi, &running);
		CURLMsg *m;
		int left;

		if (mc == CURLM_OK && running)
			mc = curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
		if (mc != CURLM_OK) {
			r = -EIO;
			break;
		}
		while ((m = curl_multi_info_read(c->multi, &left))) {
			struct xfer *x = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			(void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			results[x - xs] = xfer_finish(m->easy_handle, x, m->data.result);
		}
	} while (running);
out:
	for (size_t i = 0; i < n; i++) {
		if (!es[i])
			continue;
		if (results[i] == -ECANCELED)
			(void)xfer_finish(es[i], &xs[i], CURLE_ABORTED_BY_CALLBACK);
		curl_multi_remove_handle(c->multi, es[i]);
		curl_easy_cleanup(es[i]);
	}
	return r;
}

const char *http_response_header(const struct http_response *r, const char *name)
{
	const char *found = NULL;

	STRV_FOREACH(h, r->headers) {
		const char *v = startswith_no_case(*h, name);

		if (v && *v == ':')
			found = v + 1 + strspn(v + 1, " \t");
	}
	return found;
}

int http_date_parse(const char *s, time_t *ret)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char wday[4], mon[4], tz[4];
	int day, year, hh, mm, ss, n = 0;
	const char *m;
	struct tm tm = { 0 };
	time_t t;

	if (!s ||
	    /* NOLINTNEXTLINE(cert-err34-c): field widths of 2 and 4 digits cannot overflow */
	    sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3[A-Z]%n", wday, &day, mon,
	           &year, &hh, &mm, &ss, tz, &n) != 8 ||
	    s[n] != '\0' || !streq(tz, "GMT") || strlen(mon) != 3)
		return -EINVAL;
	m = strstr(months, mon);
	if (!m || (m - months) % 3 != 0 || day < 1 || day > 31 || year < 1970 || hh > 23 ||
	    mm > 59 || ss > 60)
		return -EINVAL;
	tm.tm_year = year - 1900;
	tm.tm_mon = (int)((m - months) / 3);
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret = t;
	return 0;
}

void http_response_done(struct http_response *r)
{
	if (!r)
		return;
	buf_free(&r->body);
	r->headers = strv_free(r->headers);
}
