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

#define IMAGEREF_NAME_MAX   255 /* the path: the registry host does not count */
#define IMAGEREF_TAG_MAX    128
#define IMAGEREF_DIGEST_LEN (sizeof("sha256:") - 1 + 64)

/* The POSIX ERE of ReferenceRegexp; capture 1 is the name, 15 the tag, 16 the digest. */
extern const char imageref_regexp[];

struct imageref {
	char *name;   /* [domain/]path, as given to fromImage */
	char *domain; /* NULL when the name has no registry part (Docker Hub) */
	char *tag;    /* NULL for a version that is a digest alone */
	char *digest; /* sha256:HEX, NULL when the version has none */
	char *ref;    /* what to pull, inspect and run: NAME@DIGEST when pinned, else NAME:TAG */
};
void imageref_done(struct imageref *r);
#define _cleanup_imageref_ _cleanup_(imageref_done)

/*
 * Builds [registry/]name with a version (see imageref_version_is_valid()) and checks it
 * as dockerd would. registry may be NULL or empty. 0 with ret filled; -EINVAL when the
 * result is no valid reference (a missing version, bytes outside printable ASCII, upper
 * case in the path, a digest other than sha256:<64 hex>, ...), -ENAMETOOLONG for a path
 * over IMAGEREF_NAME_MAX or a tag over IMAGEREF_TAG_MAX; *ret_why (may be NULL) is then a
 * static reason.
 */
int imageref_build(const char *registry, const char *name, const char *version,
                   struct imageref *ret, const char **ret_why);

/* Whether s is a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}). */
bool imageref_tag_is_valid(const char *s);

/* Whether s is a valid sha256 digest: "sha256:" and 64 lower-case hex digits, the only
 * algorithm dockerd verifies. */
bool imageref_digest_is_valid(const char *s);

/* Whether s is a valid version (the docker:image:version tag): TAG, DIGEST or
 * TAG@DIGEST. With both, the digest decides what runs and the tag only names it, as in
 * `docker pull NAME:TAG@DIGEST`. */
bool imageref_version_is_valid(const char *s);

#endif
