#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "imageref.h"
#include "strutil.h"
#include "banned.h"

/* The name part of the grammar (capture 1 of imageref_regexp). */
#define NAME_ERE                                                                                  \
	"((([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(\\.([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-"   \
	"Z0-9-]*[a-zA-Z0-9]))*|\\[([a-fA-F0-9:]+)\\])(:[0-9]+)?/)?[a-z0-9]+(([._]|__|[-]+)[a-z0-" \
	"9]+)*(/[a-z0-9]+(([._]|__|[-]+)[a-z0-9]+)*)*"

/* Verbatim tests/data/docker/reference-regexp.txt (test_imageref checks it). */
const char imageref_regexp[] =
        "^(" NAME_ERE ")(:([0-9A-Za-z_][0-9A-Za-z_.-]{0,127}))?(@([A-Za-z][A-Za-z0-9]*([-_+.]["
        "A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}))?$";

void imageref_done(struct imageref *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->domain);
	free(r->tag);
	free(r->digest);
	free(r->ref);
	*r = (struct imageref){ 0 };
}

/* Only printable ASCII reaches regexec: a UTF-8 locale could otherwise let ranges such as
 * [a-z] match letters that Docker refuses. */
static bool printable_ascii(const char *s)
{
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return false;
	return true;
}

bool imageref_tag_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > IMAGEREF_TAG_MAX || !printable_ascii(s))
		return false;
	if (s[0] == '.' || s[0] == '-')
		return false;
	for (const char *p = s; *p; p++)
		if (!(strchr("_.-", *p) || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z')))
			return false;
	return true;
}

static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool imageref_digest_is_valid(const char *s)
{
	const char *hex = startswith(s, "sha256:");

	return hex && strlen(s) == IMAGEREF_DIGEST_LEN && lower_hex(hex, 64);
}

/* Splits a version into its tag (NULL for none) and digest (NULL for none), in place. */
static void split_version(char *v, char **ret_tag, char **ret_digest)
{
	char *at = strchr(v, '@');

	if (startswith(v, "sha256:")) {
		*ret_tag = NULL;
		*ret_digest = v;
	} else if (at) {
		*at = '\0';
		*ret_tag = v;
		*ret_digest = at + 1;
	} else {
		*ret_tag = v;
		*ret_digest = NULL;
	}
}

bool imageref_version_is_valid(const char *s)
{
	_cleanup_free_ char *copy = strdup(s);
	char *tag, *digest;

	if (!copy)
		return false;
	split_version(copy, &tag, &digest);
	return (!tag || imageref_tag_is_valid(tag)) &&
	       (!digest || imageref_digest_is_valid(digest));
}

/* distribution/reference splitDockerDomain: the first of several components is a registry
 * when it has a '.' or ':', is "localhost" or is not all lower case (dockerd reads
 * "Docker/docker" as registry "Docker"). It decides which credentials go with the pull. */
static int split_domain(const char *name, char **ret)
{
	const char *slash = strchr(name, '/');
	size_t n;
	bool upper = false;

	*ret = NULL;
	if (!slash)
		return 0;
	n = (size_t)(slash - name);
	for (size_t i = 0; i < n; i++)
		upper = upper || (name[i] >= 'A' && name[i] <= 'Z');
	if (!memchr(name, '.', n) && !memchr(name, ':', n) && !upper &&
	    !(n == 9 && !strncmp(name, "localhost", 9)))
		return 0;
	*ret = strndup(name, n);
	return *ret ? 0 : -ENOMEM;
}

#define WHY(s) (ret_why ? (*ret_why = (s)) : NULL)

int imageref_build(const char *registry, const char *name, const char *version,
                   struct imageref *ret, const char **ret_why)
{
	_cleanup_imageref_ struct imageref ref = { 0 };
	_cleanup_free_ char *v = NULL;
	char *tag, *digest;
	const char *path;
	regex_t re;
	int r;

	if (!name || !*name) {
		WHY("the image name is empty");
		return -EINVAL;
	}
	if (!version || !*version) {
		WHY("the version is empty");
		return -EINVAL;
	}
	if (!printable_ascii(name) || !printable_ascii(version) ||
	    (registry && !printable_ascii(registry))) {
		WHY("it holds a character outside printable ASCII");
		return -EINVAL;
	}
	v = strdup(version);
	if (!v)
		return -ENOMEM;
	split_version(v, &tag, &digest);
	if (tag && strlen(tag) > IMAGEREF_TAG_MAX) {
		WHY("the version's tag is longer than 128 characters");
		return -ENAMETOOLONG;
	}
	if ((tag && !imageref_tag_is_valid(tag)) || (digest && !imageref_digest_is_valid(digest))) {
		WHY("the version is not a tag, sha256:<64 hex> or TAG@sha256:<64 hex>");
		return -EINVAL;
	}
	if (registry && *registry) {
		size_t rl = strlen(registry);

		while (rl > 0 && registry[rl - 1] == '/')
			rl--;
		if (asprintf(&ref.name, "%.*s/%s", (int)rl, registry, name) < 0) {
			ref.name = NULL;
			return -ENOMEM;
		}
	} else {
		ref.name = strdup(name);
		if (!ref.name)
			return -ENOMEM;
	}
	/* A bounded input for regexec, far above any valid name. */
	if (strlen(ref.name) > (size_t)4 * IMAGEREF_NAME_MAX) {
		WHY("the image name is longer than 255 characters");
		return -ENAMETOOLONG;
	}
	/* NAME:TAG@DIGEST matches the grammar, split there, exactly when the name matches its
	 * part and the tag and digest their own (checked above). Matching the name alone also
	 * spares regcomp the 128 copies of the tag's {0,127}: a tenth of the memory. */
	if (regcomp(&re, "^" NAME_ERE "$", REG_EXTENDED | REG_NOSUB) != 0)
		return -ENOMEM;
	r = regexec(&re, ref.name, 0, NULL, 0);
	regfree(&re);
	if (r != 0) {
		WHY("it does not match the Docker reference grammar");
		return -EINVAL;
	}
	/* dockerd's ParseNormalizedNamed: such a name would be read as an image id. */
	if (strlen(ref.name) == 64 && lower_hex(ref.name, 64)) {
		WHY("the image name is a 64-digit hexadecimal string, which Docker refuses");
		return -EINVAL;
	}
	r = split_domain(ref.name, &ref.domain);
	if (r < 0)
		return r;
	/* The limit counts the path only, as distribution/reference does since v0.6.0, on the
	 * path that dockerd's normalisation leaves (without a registry, the whole name). */
	path = ref.domain ? ref.name + strlen(ref.domain) + 1 : ref.name;
	if (strlen(path) > IMAGEREF_NAME_MAX) {
		WHY("the image name's path is longer than 255 characters");
		return -ENAMETOOLONG;
	}
	if (tag) {
		ref.tag = strdup(tag);
		if (!ref.tag)
			return -ENOMEM;
	}
	if (digest) {
		ref.digest = strdup(digest);
		if (!ref.digest)
			return -ENOMEM;
	}
	if (asprintf(&ref.ref, "%s%c%s", ref.name, digest ? '@' : ':', digest ? digest : tag) < 0) {
		ref.ref = NULL;
		return -ENOMEM;
	}
	*ret = ref;
	ref = (struct imageref){ 0 };
	return 0;
}
