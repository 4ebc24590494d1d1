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

/* distribution/reference splitDockerDomain: the first component is a registry when it has a
 * '.' or ':' or is "localhost". */
static int split_domain(const char *name, char **ret)
{
	const char *slash = strchr(name, '/');
	size_t n;

	*ret = NULL;
	if (!slash)
		return 0;
	n = (size_t)(slash - name);
	if (!memchr(name, '.', n) && !memchr(name, ':', n) &&
	    !(n == 9 && !strncmp(name, "localhost", 9)))
		return 0;
	*ret = strndup(name, n);
	return *ret ? 0 : -ENOMEM;
}

#define WHY(s) (ret_why ? (*ret_why = (s)) : NULL)

int imageref_build(const char *registry, const char *name, const char *tag, struct imageref *ret,
                   const char **ret_why)
{
	_cleanup_imageref_ struct imageref ref = { 0 };
	regex_t re;
	int r;

	if (!name || !*name) {
		WHY("the image name is empty");
		return -EINVAL;
	}
	if (!tag || !*tag) {
		WHY("the version is empty");
		return -EINVAL;
	}
	if (!printable_ascii(name) || !printable_ascii(tag) ||
	    (registry && !printable_ascii(registry))) {
		WHY("it holds a character outside printable ASCII");
		return -EINVAL;
	}
	if (strlen(tag) > IMAGEREF_TAG_MAX) {
		WHY("the version is longer than 128 characters");
		return -ENAMETOOLONG;
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
	if (strlen(ref.name) > IMAGEREF_NAME_MAX) {
		WHY("the image name is longer than 255 characters");
		return -ENAMETOOLONG;
	}
	if (!imageref_tag_is_valid(tag)) {
		WHY("the version is not a valid tag");
		return -EINVAL;
	}
	/* NAME:TAG matches the grammar, split there, exactly when the name matches its part and
	 * the tag its own (checked above; no '@', so no digest either). Matching the name alone
	 * also spares regcomp the 128 copies of the tag's {0,127}: a tenth of the memory. */
	if (regcomp(&re, "^" NAME_ERE "$", REG_EXTENDED | REG_NOSUB) != 0)
		return -ENOMEM;
	r = regexec(&re, ref.name, 0, NULL, 0);
	regfree(&re);
	if (r != 0) {
		WHY("it does not match the Docker reference grammar");
		return -EINVAL;
	}
	r = split_domain(ref.name, &ref.domain);
	if (r < 0)
		return r;
	ref.tag = strdup(tag);
	if (!ref.tag)
		return -ENOMEM;
	*ret = ref;
	ref = (struct imageref){ 0 };
	return 0;
}
