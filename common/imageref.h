/*
 * Docker image references ([DOMAIN/]PATH[:TAG]), checked against the distribution/reference
 * grammar (tests/data/docker/reference-regexp.txt, POSIX ERE form) and its length limits.
 * Tag values come from Auto Scaling tags anyone with tagging rights can write: everything
 * here treats its input as hostile.
 */
#ifndef ASGSWAP_IMAGEREF_H
#define ASGSWAP_IMAGEREF_H

#include <stdbool.h>

#include "macro.h"

#define IMAGEREF_NAME_MAX 255 /* the whole name, domain included */
#define IMAGEREF_TAG_MAX  128

/* The POSIX ERE of ReferenceRegexp; capture 1 is the name, 15 the tag, 16 the digest. */
extern const char imageref_regexp[];

struct imageref {
	char *name;   /* [domain/]path, as given to fromImage */
	char *domain; /* NULL when the name has no registry part (Docker Hub) */
	char *tag;
};
void imageref_done(struct imageref *r);
#define _cleanup_imageref_ _cleanup_(imageref_done)

/*
 * Builds [registry/]name:tag and checks it. registry may be NULL or empty. 0 with ret
 * filled; -EINVAL when the result is no valid reference (a digest, a missing tag, bytes
 * outside printable ASCII, upper case in the path, ...), -ENAMETOOLONG for a name over
 * IMAGEREF_NAME_MAX or a tag over IMAGEREF_TAG_MAX; *ret_why (may be NULL) is then a
 * static reason.
 */
int imageref_build(const char *registry, const char *name, const char *tag, struct imageref *ret,
                   const char **ret_why);

/* Whether s is a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}). */
bool imageref_tag_is_valid(const char *s);

#endif
