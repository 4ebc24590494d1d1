/* Image references from group tags: registry, name and version split at NUL bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imageref.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 3), *parts[3] = { NULL, NULL, NULL };
	struct imageref r = { 0 };
	const char *why = NULL;
	size_t n = 0, start = 0;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = copy[size + 1] = copy[size + 2] = '\0';
	for (size_t i = 0; i <= size + 2 && n < 3; i++)
		if (copy[i] == '\0') {
			parts[n++] = copy + start;
			start = i + 1;
		}
	if (imageref_build(parts[0], parts[1], parts[2], &r, &why) == 0) {
		size_t path = strlen(r.name) - (r.domain ? strlen(r.domain) + 1 : 0);

		if (path > IMAGEREF_NAME_MAX || (r.tag && strlen(r.tag) > IMAGEREF_TAG_MAX) ||
		    (!r.tag && !r.digest) || !r.ref ||
		    (r.digest && !imageref_digest_is_valid(r.digest)))
			abort();
		imageref_done(&r);
	}
	free(copy);
	return 0;
}
