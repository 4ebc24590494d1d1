#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <strings.h>

#include "strutil.h"
#include "banned.h"

const char *startswith(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

const char *startswith_no_case(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncasecmp(s, prefix, n) == 0 ? s + n : NULL;
}

int safe_atou64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

int safe_atou(const char *s, unsigned *ret)
{
	uint64_t v;
	int r = safe_atou64(s, &v);

	if (r < 0)
		return r;
	if (v > UINT_MAX)
		return -ERANGE;
	*ret = (unsigned)v;
	return 0;
}

int safe_atoi64(const char *s, int64_t *ret)
{
	bool neg = s && *s == '-';
	uint64_t v;
	int r = safe_atou64(neg ? s + 1 : s, &v);

	if (r < 0)
		return r;
	if (v > (uint64_t)INT64_MAX + neg)
		return -ERANGE;
	*ret = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int uri_encode(struct buf *out, const char *s, size_t n, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int r;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
			r = buf_putc(out, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			r = buf_append(out, e, 3);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int form_encode(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t run = strcspn(s + i, " ");
		int r;

		run = MIN(run, n - i);
		r = uri_encode(out, s + i, run, false);
		if (r == 0 && i + run < n)
			r = buf_putc(out, '+');
		if (r < 0)
			return r;
		i += run + 1;
	}
	return 0;
}

void hex_encode(char *out, const unsigned char *in, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

char *strstrip(char *s)
{
	size_t skip = strspn(s, " \t\r\n");
	size_t n = strlen(s + skip);

	memmove(s, s + skip, n + 1);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

char *strdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *secret_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
	return NULL;
}

char **strv_free(char **v)
{
	STRV_FOREACH(s, v)
		free(*s);
	free(v);
	return NULL;
}

size_t strv_length(char *const *v)
{
	size_t n = 0;

	STRV_FOREACH(s, v)
		n++;
	return n;
}

int strv_push(char ***v, char *s)
{
	size_t n = strv_length(*v);
	char **p = realloc(*v, (n + 2) * sizeof(char *));

	if (!p) {
		free(s);
		return -ENOMEM;
	}
	p[n] = s;
	p[n + 1] = NULL;
	*v = p;
	return 0;
}

char *strdup_vprintf(const char *fmt, va_list ap)
{
	char *s = NULL;

	return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

int set_errorf(char **ret, int r, const char *fmt, ...)
{
	va_list ap;

	if (!ret)
		return r;
	va_start(ap, fmt);
	*ret = strdup_vprintf(fmt, ap);
	va_end(ap);
	return r;
}

int strv_pushf(char ***v, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = strdup_vprintf(fmt, ap);
	va_end(ap);
	return s ? strv_push(v, s) : -ENOMEM;
}

int strv_extend(char ***v, const char *s)
{
	char *c = strdup(s);

	if (!c)
		return -ENOMEM;
	return strv_push(v, c);
}

size_t str_edit_distance(const char *a, const char *b, size_t cap)
{
	size_t na = strlen(a), nb = strlen(b), d;
	_cleanup_free_ size_t *rows = NULL;
	size_t *prev2, *prev, *cur;

	/* Beyond the cap only "too far" matters: no need to allocate for long inputs. */
	if ((na > nb ? na - nb : nb - na) > cap || na > 256 || nb > 256)
		return cap + 1;
	rows = calloc(3 * (nb + 1), sizeof(size_t));
	if (!rows)
		return cap + 1;
	prev2 = rows;
	prev = rows + nb + 1;
	cur = prev + nb + 1;
	for (size_t j = 0; j <= nb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= na; i++) {
		size_t *t;

		cur[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t v = prev[j - 1] + (a[i - 1] != b[j - 1]);

			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	d = prev[nb];
	return d > cap ? cap + 1 : d;
}

const char *strv_closest(char *const *candidates, const char *s)
{
	size_t cap = strlen(s) / 3, best = SIZE_MAX;
	const char *found = NULL;

	if (cap < 1)
		cap = 1;
	if (cap > 3)
		cap = 3;
	STRV_FOREACH(c, candidates) {
		size_t d = str_edit_distance(s, *c, cap);

		if (d <= cap && d < best) {
			best = d;
			found = *c;
		}
	}
	return found;
}
