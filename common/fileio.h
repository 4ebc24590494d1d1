/* Reading the small files we are handed: credentials, tokens, env files, configuration. */
#ifndef ASGSWAP_FILEIO_H
#define ASGSWAP_FILEIO_H

#include <stddef.h>

#include "buf.h"

/* The contents may be a secret: every buffer that held them is wiped before it is freed. */
#define READ_FILE_SECRET (1u << 0)
/* Only a regular file, as botocore's os.path.isfile(): not even /dev/null. */
#define READ_FILE_REGULAR (1u << 1)

/*
 * Reads the whole file at path, at most max bytes, into *ret (NUL-terminated, never NULL on
 * success; ret->secret set with READ_FILE_SECRET). A regular file or a character device
 * (`--config /dev/null` is an empty file); the open is O_CLOEXEC and O_NONBLOCK, so a FIFO
 * cannot hang it. Errors: -errno of open or read, -EISDIR for a directory, -EINVAL for a
 * FIFO, a socket or a block device, -E2BIG past max (the size fstat gives is only a hint:
 * /proc files say 0, and a file may grow while it is read). *ret is untouched on failure.
 */
int read_small_file(const char *path, size_t max, unsigned flags, struct buf *ret);

#endif
