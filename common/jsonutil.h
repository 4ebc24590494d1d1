/*
 * cJSON ownership the systemd way: `_cleanup_json_ cJSON *j = cJSON_Parse(text);`.
 * For documents that hold secrets: cJSON_Parse allocates each string once at its final size,
 * so wiping the tree before cJSON_Delete leaves no copy behind; printing is into a buffer of
 * ours, never through cJSON's growing one (realloc would leave copies).
 */
#ifndef ASGSWAP_JSONUTIL_H
#define ASGSWAP_JSONUTIL_H

#include <cjson/cJSON.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(cJSON *, cJSON_Delete)
#define _cleanup_json_ _cleanup_(cJSON_Deletep)

/* Overwrites every string value of the tree (keys are names, not secrets). NULL is fine. */
void json_wipe(cJSON *j);

/* json_wipe(), then cJSON_Delete(); for _cleanup_(json_wipe_and_deletep). */
void json_wipe_and_deletep(cJSON **j);

/* The tree printed unformatted into a buffer wiped on every retry; free it with
 * secret_free(). NULL when out of memory or when the text would pass max bytes. */
char *json_print_secret(const cJSON *j, size_t max);

/* A JSON array of the strings of v (a NULL-terminated vector; NULL gives []), or NULL
 * without memory. */
cJSON *json_from_strv(char *const *v);

#endif
