#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "strutil.h"
#include "banned.h"

void json_wipe(cJSON *j)
{
	for (; j; j = j->next) {
		if (j->valuestring)
			explicit_bzero(j->valuestring, strlen(j->valuestring));
		json_wipe(j->child);
	}
}

void json_wipe_and_deletep(cJSON **j)
{
	json_wipe(*j);
	cJSON_Delete(*j);
}

char *json_print_secret(const cJSON *j, size_t max)
{
	/* cJSON_PrintPreallocated wants 5 bytes of slack beyond the text. */
	size_t limit = max > (size_t)INT32_MAX - 5 ? (size_t)INT32_MAX : max + 5;

	for (size_t size = limit < 4096 ? limit : 4096;;
	     size = size * 2 < limit ? size * 2 : limit) {
		char *out = malloc(size);

		if (!out)
			return NULL;
		if (cJSON_PrintPreallocated((cJSON *)j, out, (int)size, false))
			return out;
		explicit_bzero(out, size);
		free(out);
		if (size == limit)
			return NULL;
	}
}

cJSON *json_from_strv(char *const *v)
{
	cJSON *a = cJSON_CreateArray();

	STRV_FOREACH(s, v)
		if (a && !cJSON_AddItemToArray(a, cJSON_CreateString(*s))) {
			cJSON_Delete(a);
			return NULL;
		}
	return a;
}
