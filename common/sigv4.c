#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "sigv4.h"
#include "strutil.h"
#include "banned.h"

#define SHA256_LEN      32
#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

struct header {
	const char *name; /* as given; compared and written lower-case */
	size_t name_len;
	const char *value; /* untrimmed */
	size_t value_len;
	size_t order; /* duplicates keep the caller's order */
};

struct param {
	char *key; /* both URI-encoded */
	char *value;
};

static void digest_cleanse(unsigned char (*d)[SHA256_LEN])
{
	OPENSSL_cleanse(*d, sizeof(*d));
}
#define _cleanup_digest_ _cleanup_(digest_cleanse)

struct params {
	struct param *v;
	size_t n;
};

static void params_done(struct params *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].key);
		free(p->v[i].value);
	}
	free(p->v);
}

static char ascii_lower(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	return c;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

/* RFC 9110 token characters: header names and methods. */
static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool valid_token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_tchar(s[i]))
			return false;
	return true;
}

/* Access key, region and service go into the credential scope, split on '/' and ','. */
static bool valid_scope_part(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e || *s == '/' || *s == ',')
			return false;
	return true;
}

static bool header_is(const struct header *h, const char *lower_name)
{
	size_t n = strlen(lower_name);

	if (h->name_len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(h->name[i]) != lower_name[i])
			return false;
	return true;
}

static int header_name_cmp(const struct header *x, const struct header *y)
{
	size_t n = MIN(x->name_len, y->name_len);

	for (size_t i = 0; i < n; i++) {
		char cx = ascii_lower(x->name[i]), cy = ascii_lower(y->name[i]);

		if (cx != cy)
			return (unsigned char)cx < (unsigned char)cy ? -1 : 1;
	}
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

static int header_cmp(const void *a, const void *b)
{
	const struct header *x = a, *y = b;
	int c = header_name_cmp(x, y);

	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int param_cmp(const void *a, const void *b)
{
	const struct param *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : strcmp(x->value, y->value);
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

/* The canonical value: trimmed, and each run of blanks (including the line breaks of a
 * folded value) collapsed into one space. */
static int put_value(struct buf *b, const char *v, size_t n)
{
	bool blank = false;
	int r;

	trim(&v, &n);
	for (size_t i = 0; i < n; i++) {
		if (is_blank(v[i])) {
			blank = true;
			continue;
		}
		if (blank) {
			r = buf_putc(b, ' ');
			if (r < 0)
				return r;
			blank = false;
		}
		r = buf_putc(b, v[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int put_lower(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = buf_putc(b, ascii_lower(s[i]));

		if (r < 0)
			return r;
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decodes s and encodes it again (RFC 3986 unreserved characters stay literal), in
 * one pass so that an escaped '/' stays escaped even when keep_slash keeps the literal ones.
 */
static int uri_recode(struct buf *out, const char *s, size_t n, bool keep_slash)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int r;

		if (c == '%') {
			int hi, lo;

			if (n - i < 3 || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
			r = uri_encode(out, &c, 1, false);
		} else
			r = uri_encode(out, &c, 1, keep_slash);
		if (r < 0)
			return r;
	}
	return 0;
}

/* RFC 3986 remove_dot_segments plus collapsed slashes, as botocore's remove_dot_segments():
 * a trailing slash survives only when the input ends in one and something is left. */
static int normalize_path(struct buf *out, const char *path)
{
	size_t start = out->len;
	int r;

	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			/* Every segment written starts with '/': drop back to the last one. */
			if (out->len > start) {
				while (out->data[out->len - 1] != '/')
					out->len--;
				out->data[--out->len] = '\0';
			}
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			r = buf_putc(out, '/');
			if (r >= 0)
				r = buf_append(out, p, n);
			if (r < 0)
				return r;
		}
		p += n;
		p += *p == '/';
	}
	if (out->len == start)
		return buf_putc(out, '/');
	if (path[strlen(path) - 1] == '/')
		return buf_putc(out, '/');
	return 0;
}

static int put_canonical_path(struct buf *out, const char *path, bool normalize)
{
	_cleanup_buf_ struct buf norm;
	int r;

	buf_init_secret(&norm, SIGV4_TEXT_MAX);
	if (!path || !*path)
		path = "/";
	if (path[0] != '/' || strpbrk(path, "?#"))
		return -EINVAL;
	if (!normalize)
		return uri_recode(out, path, strlen(path), true);

	/* Every service but S3 wants the path as sent encoded once more. */
	r = normalize_path(&norm, path);
	if (r < 0)
		return r;
	return uri_encode(out, norm.data, norm.len, true);
}

/* Both halves of a "key=value" parameter, decoded and encoded again. */
static int param_init(struct param *ret, const char *p, size_t len)
{
	const char *eq = memchr(p, '=', len);
	size_t klen = eq ? (size_t)(eq - p) : len;
	struct buf k, v;
	int r;

	buf_init(&k, SIGV4_TEXT_MAX);
	buf_init(&v, SIGV4_TEXT_MAX);
	r = uri_recode(&k, p, klen, false);
	if (r >= 0 && eq)
		r = uri_recode(&v, eq + 1, len - klen - 1, false);
	if (r >= 0) {
		ret->key = buf_steal(&k);
		ret->value = buf_steal(&v);
		if (!ret->key || !ret->value)
			r = -ENOMEM;
	}
	buf_free(&k);
	buf_free(&v);
	return r;
}

static int put_canonical_query(struct buf *out, const char *query)
{
	_cleanup_(params_done) struct params ps = { 0 };
	size_t max = 1;
	int r;

	if (!query || !*query)
		return 0;
	for (const char *p = query; *p; p++)
		max += *p == '&';
	ps.v = calloc(max, sizeof(*ps.v));
	if (!ps.v)
		return -ENOMEM;

	for (const char *p = query; *p;) {
		size_t len = strcspn(p, "&");

		/* "a&&b" has an empty parameter that no server sees; skip it. */
		if (len > 0) {
			r = param_init(&ps.v[ps.n++], p, len);
			if (r < 0)
				return r;
		}
		p += len;
		p += *p == '&';
	}

	qsort(ps.v, ps.n, sizeof(*ps.v), param_cmp);
	for (size_t i = 0; i < ps.n; i++) {
		r = buf_printf(out, "%s%s=%s", i ? "&" : "", ps.v[i].key, ps.v[i].value);
		if (r < 0)
			return r;
	}
	return 0;
}

static int sha256_hex(const void *p, size_t n, char hex[2 * SHA256_LEN + 1])
{
	_cleanup_digest_ unsigned char md[SHA256_LEN];
	unsigned int len = 0;

	if (!EVP_Digest(p ? p : "", n, md, &len, EVP_sha256(), NULL) || len != SHA256_LEN)
		return -EIO;
	hex_encode(hex, md, SHA256_LEN);
	return 0;
}

static int hmac_sha256(const void *key, size_t key_len, const char *msg,
                       unsigned char out[SHA256_LEN])
{
	unsigned int len = 0;

	if (key_len > INT_MAX)
		return -EINVAL;
	if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out,
	          &len) ||
	    len != SHA256_LEN)
		return -EIO;
	return 0;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
static int signing_key(const char *secret, const char *date8, const char *region,
                       const char *service, unsigned char key[SHA256_LEN])
{
	_cleanup_secret_ char *k = NULL;
	_cleanup_digest_ unsigned char a[SHA256_LEN];
	_cleanup_digest_ unsigned char b[SHA256_LEN];
	size_t n = strlen(secret);
	int r;

	k = malloc(n + 5);
	if (!k)
		return -ENOMEM;
	memcpy(k, "AWS4", 4);
	memcpy(k + 4, secret, n + 1);

	r = hmac_sha256(k, n + 4, date8, a);
	if (r >= 0)
		r = hmac_sha256(a, sizeof(a), region, b);
	if (r >= 0)
		r = hmac_sha256(b, sizeof(b), service, a);
	if (r >= 0)
		r = hmac_sha256(a, sizeof(a), "aws4_request", key);
	return r;
}

static void headers_freep(struct header **h)
{
	free(*h);
}

static void header_add(struct header *hdrs, size_t *n, const char *name, const char *value)
{
	hdrs[*n] = (struct header){
		.name = name,
		.name_len = strlen(name),
		.value = value,
		.value_len = strlen(value),
		.order = *n,
	};
	(*n)++;
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *creds,
               struct sigv4_result *ret)
{
	_cleanup_(headers_freep) struct header *hdrs = NULL;
	_cleanup_buf_ struct buf creq, sts, signed_headers, caller_hash, line;
	_cleanup_strv_free_ char **add = NULL;
	_cleanup_free_ char *creq_str = NULL, *sts_str = NULL, *sig_str = NULL;
	_cleanup_digest_ unsigned char key[SHA256_LEN];
	_cleanup_digest_ unsigned char mac[SHA256_LEN];
	char amz_date[sizeof("20150830T123600Z")], date8[sizeof("20150830")];
	char body_hash[2 * SHA256_LEN + 1], creq_hash[2 * SHA256_LEN + 1];
	char signature[2 * SHA256_LEN + 1];
	const char *payload_hash = NULL, *token;
	bool have_host = false, have_date = false, have_token = false, have_hash = false;
	bool add_token, add_hash;
	size_t nh = 0, max_headers;
	struct tm tm;
	int r;

	buf_init_secret(&creq, SIGV4_TEXT_MAX);
	buf_init_secret(&sts, SIGV4_TEXT_MAX);
	buf_init_secret(&signed_headers, SIGV4_TEXT_MAX);
	buf_init_secret(&caller_hash, SIGV4_TEXT_MAX);
	buf_init_secret(&line, SIGV4_TEXT_MAX);

	if (!req || !creds || !ret || !req->method ||
	    !valid_token(req->method, strlen(req->method)))
		return -EINVAL;
	if (!valid_scope_part(req->region) || !valid_scope_part(req->service) ||
	    !valid_scope_part(creds->access_key_id) || !creds->secret_access_key ||
	    !*creds->secret_access_key)
		return -EINVAL;
	if (!req->body && req->body_len > 0)
		return -EINVAL;
	token = creds->session_token && *creds->session_token ? creds->session_token : NULL;
	if (token && has_crlf(token))
		return -EINVAL;

	if (!gmtime_r(&req->now, &tm) ||
	    strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm) != sizeof(amz_date) - 1)
		return -EINVAL;
	memcpy(date8, amz_date, 8);
	date8[8] = '\0';

	/* The caller's headers, and room for the three we may add. */
	max_headers = strv_length(req->headers) + 3;
	hdrs = calloc(max_headers, sizeof(*hdrs));
	if (!hdrs)
		return -ENOMEM;
	STRV_FOREACH(l, req->headers) {
		const char *colon = strchr(*l, ':');
		struct header h;

		if (!colon || !valid_token(*l, (size_t)(colon - *l)))
			return -EINVAL;
		h = (struct header){ .name = *l,
			             .name_len = (size_t)(colon - *l),
			             .value = colon + 1,
			             .value_len = strlen(colon + 1),
			             .order = nh };
		if (header_is(&h, "authorization"))
			return -EINVAL;
		if (header_is(&h, "user-agent") || header_is(&h, "expect") ||
		    header_is(&h, "connection") || header_is(&h, "transfer-encoding") ||
		    header_is(&h, "upgrade") || header_is(&h, "x-amzn-trace-id"))
			continue;
		if (header_is(&h, "host")) {
			have_host = true;
		} else if (header_is(&h, "x-amz-date")) {
			const char *v = h.value;
			size_t n = h.value_len;

			trim(&v, &n);
			if (n != strlen(amz_date) || memcmp(v, amz_date, n) != 0)
				return -EINVAL;
			have_date = true;
		} else if (header_is(&h, "x-amz-security-token")) {
			have_token = true;
		} else if (header_is(&h, "x-amz-content-sha256")) {
			/* Its value (UNSIGNED-PAYLOAD, say) stands for the body's hash. */
			buf_reset(&caller_hash);
			r = put_value(&caller_hash, h.value, h.value_len);
			if (r < 0)
				return r;
			payload_hash = caller_hash.data ? caller_hash.data : "";
			have_hash = true;
		}
		hdrs[nh++] = h;
	}
	if (!have_host)
		return -EINVAL;

	if (!have_hash) {
		r = sha256_hex(req->body, req->body_len, body_hash);
		if (r < 0)
			return r;
		payload_hash = body_hash;
	}
	if (!have_date)
		header_add(hdrs, &nh, "x-amz-date", amz_date);
	add_token = token && !have_token;
	if (add_token && !req->omit_session_token)
		header_add(hdrs, &nh, "x-amz-security-token", token);
	add_hash = req->sign_body && !have_hash;
	if (add_hash)
		header_add(hdrs, &nh, "x-amz-content-sha256", body_hash);
	qsort(hdrs, nh, sizeof(*hdrs), header_cmp);

	/* CanonicalRequest = Method \n Path \n Query \n Headers \n SignedHeaders \n PayloadHash */
	r = buf_printf(&creq, "%s\n", req->method);
	if (r >= 0)
		r = put_canonical_path(&creq, req->path, req->normalize_path);
	if (r >= 0)
		r = buf_putc(&creq, '\n');
	if (r >= 0)
		r = put_canonical_query(&creq, req->query);
	if (r >= 0)
		r = buf_putc(&creq, '\n');
	for (size_t i = 0; i < nh && r >= 0;) {
		size_t j;

		if (i > 0)
			r = buf_putc(&signed_headers, ';');
		if (r >= 0)
			r = put_lower(&signed_headers, hdrs[i].name, hdrs[i].name_len);
		if (r >= 0)
			r = put_lower(&creq, hdrs[i].name, hdrs[i].name_len);
		if (r >= 0)
			r = buf_putc(&creq, ':');
		if (r >= 0)
			r = put_value(&creq, hdrs[i].value, hdrs[i].value_len);
		/* Repeated names: one line, values joined with ',' in the order given. */
		for (j = i + 1; j < nh && r >= 0 && header_name_cmp(&hdrs[i], &hdrs[j]) == 0; j++) {
			r = buf_putc(&creq, ',');
			if (r >= 0)
				r = put_value(&creq, hdrs[j].value, hdrs[j].value_len);
		}
		if (r >= 0)
			r = buf_putc(&creq, '\n');
		i = j;
	}
	if (r >= 0)
		r = buf_printf(&creq, "\n%s\n%s", signed_headers.data, payload_hash);
	if (r < 0)
		return r;

	r = sha256_hex(creq.data, creq.len, creq_hash);
	if (r < 0)
		return r;
	r = buf_printf(&sts, SIGV4_ALGORITHM "\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, date8,
	               req->region, req->service, creq_hash);
	if (r < 0)
		return r;

	r = signing_key(creds->secret_access_key, date8, req->region, req->service, key);
	if (r < 0)
		return r;
	r = hmac_sha256(key, sizeof(key), sts.data, mac);
	if (r < 0)
		return r;
	hex_encode(signature, mac, sizeof(mac));

	if (!have_date) {
		buf_reset(&line);
		r = buf_printf(&line, "X-Amz-Date: %s", amz_date);
		if (r >= 0)
			r = strv_extend(&add, line.data);
		if (r < 0)
			return r;
	}
	if (add_token) {
		buf_reset(&line);
		r = buf_printf(&line, "X-Amz-Security-Token: %s", token);
		if (r >= 0)
			r = strv_extend(&add, line.data);
		if (r < 0)
			return r;
	}
	if (add_hash) {
		buf_reset(&line);
		r = buf_printf(&line, "x-amz-content-sha256: %s", body_hash);
		if (r >= 0)
			r = strv_extend(&add, line.data);
		if (r < 0)
			return r;
	}
	buf_reset(&line);
	r = buf_printf(&line,
	               "Authorization: " SIGV4_ALGORITHM " Credential=%s/%s/%s/%s/aws4_request, "
	               "SignedHeaders=%s, Signature=%s",
	               creds->access_key_id, date8, req->region, req->service, signed_headers.data,
	               signature);
	if (r >= 0)
		r = strv_extend(&add, line.data);
	if (r < 0)
		return r;

	creq_str = buf_steal(&creq);
	sts_str = buf_steal(&sts);
	sig_str = strdup(signature);
	if (!creq_str || !sts_str || !sig_str)
		return -ENOMEM;
	*ret = (struct sigv4_result){
		.canonical_request = TAKE_PTR(creq_str),
		.string_to_sign = TAKE_PTR(sts_str),
		.signature = TAKE_PTR(sig_str),
		.add_headers = TAKE_PTR(add),
	};
	return 0;
}

void sigv4_result_done(struct sigv4_result *r)
{
	if (!r)
		return;
	secret_free(r->canonical_request);
	free(r->string_to_sign);
	free(r->signature);
	STRV_FOREACH(l, r->add_headers)
		explicit_bzero(*l, strlen(*l));
	strv_free(r->add_headers);
	*r = (struct sigv4_result){ 0 };
}
