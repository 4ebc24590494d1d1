/* cJSON ownership the systemd way: `_cleanup_json_ cJSON *j = cJSON_Parse(text);`. */
#ifndef ASGSWAP_JSONUTIL_H
#define ASGSWAP_JSONUTIL_H

#include <cjson/cJSON.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(cJSON *, cJSON_Delete)
#define _cleanup_json_ _cleanup_(cJSON_Deletep)

#endif
