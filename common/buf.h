/* A growable byte buffer with a ceiling: appends past `max` fail with -E2BIG. */
#ifndef ASGSWAP_BUF_H
#define ASGSWAP_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

struct buf {
	char *data; /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	size_t max;  /* 0 = BUF_MAX_DEFAULT */
	bool secret; /* wiped when it grows or is freed */
};

#define BUF_MAX_DEFAULT ((size_t)64 << 20)

void buf_init(struct buf *b, size_t max);
/* For buffers that may hold a secret: no copy is left behind in freed memory. */
void buf_init_secret(struct buf *b, size_t max);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
void buf_reset(struct buf *b);
/* Returns the NUL-terminated contents (never NULL unless out of memory) and empties b. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);
#define _cleanup_buf_ _cleanup_(buf_free)

#endif
