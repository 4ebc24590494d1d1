/* String helpers: comparison, checked number parsing, percent-encoding, string vectors. */
#ifndef ASGSWAP_STRUTIL_H
#define ASGSWAP_STRUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "macro.h"

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b)
{
	return a && b ? streq(a, b) : a == b;
}

/* Returns the rest of s after prefix, or NULL when s does not start with it. */
const char *startswith(const char *s, const char *prefix);
const char *startswith_no_case(const char *s, const char *prefix);

/* Whole-string decimal parsing: no sign, no space, no trailing text, no overflow. */
int safe_atou64(const char *s, uint64_t *ret);
int safe_atou(const char *s, unsigned *ret);
int safe_atoi64(const char *s, int64_t *ret);

/* RFC 3986 percent-encoding of everything but unreserved characters (A-Z a-z 0-9 - _ . ~);
 * '/' is kept when keep_slash. This is the encoding SigV4 and the Query protocol use. */
int uri_encode(struct buf *out, const char *s, size_t n, bool keep_slash);

/* application/x-www-form-urlencoded as Python's urlencode (and so botocore) writes it:
 * uri_encode() with a space as '+'. */
int form_encode(struct buf *out, const char *s, size_t n);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hex_encode(char *out, const unsigned char *in, size_t n);

/* Strip leading and trailing blanks (space, tab, CR, LF) in place; returns s. */
char *strstrip(char *s);

/* Duplicate; NULL on NULL or out of memory. */
char *strdup_or_null(const char *s);

/* Overwrite then free a secret. Accepts NULL; returns NULL. */
char *secret_free(char *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(char *, secret_free)
#define _cleanup_secret_ _cleanup_(secret_freep)

/* NULL-terminated string vectors. */
char **strv_free(char **v);
size_t strv_length(char *const *v);
int strv_push(char ***v, char *s); /* takes ownership of s, even on failure */
int strv_extend(char ***v, const char *s);
int strv_pushf(char ***v, const char *fmt, ...) _printf_(2, 3);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free)
#define _cleanup_strv_free_ _cleanup_(strv_freep)
#define STRV_FOREACH(s, v)  for (char *const *s = (v); s && *s; s++)

/* Edit distance (insertions, deletions, substitutions and swaps of adjacent bytes) between a
 * and b, counting at most `cap` (a larger distance reads as cap + 1). */
size_t str_edit_distance(const char *a, const char *b, size_t cap);

/* The candidate closest to s by str_edit_distance(), when it is close enough to be a typo
 * (at most a third of s's length, at least 1 and at most 3 edits), else NULL. */
const char *strv_closest(char *const *candidates, const char *s);

/* A freshly allocated formatted string, NULL without memory. */
char *strdup_vprintf(const char *fmt, va_list ap) _printf_(1, 0);

/* Stores a formatted message in *ret (when ret is not NULL; NULL without memory) and
 * returns r: the shape of every "fail with a message" path. */
int set_errorf(char **ret, int r, const char *fmt, ...) _printf_(3, 4);

#endif
