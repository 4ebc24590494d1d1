/*
 * What the Docker daemon answers: the first byte picks the pull progress stream (read line
 * by line as common/http.c cuts it), an image inspect or a container inspect answer.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "docker.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int progress(void *userdata, const char *status)
{
	size_t *n = userdata;

	(*n)++;
	/* Like a caller that gives up: exercises the abort path now and then. */
	return strcmp(status, "cancel") == 0 ? -ECANCELED : 0;
}

/* Each line goes in a buffer of its exact size, so that a read past it is caught. */
static void pull_stream(const uint8_t *data, size_t size)
{
	size_t lines = 0;
	struct docker_pull p = { .progress = progress, .userdata = &lines };

	for (size_t start = 0; start < size;) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t len = nl ? (size_t)(nl - (data + start)) : size - start;
		char *line = malloc(len ? len : 1);
		int r;

		if (!line)
			break;
		memcpy(line, data + start, len);
		r = docker_pull_line(&p, line, len && line[len - 1] == '\r' ? len - 1 : len);
		free(line);
		if (r < 0)
			break;
		start += len + (nl ? 1 : 0);
	}
	free(p.error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *j;

	if (size < 1)
		return 0;
	if (data[0] % 3 == 0) {
		pull_stream(data + 1, size - 1);
		return 0;
	}
	j = cJSON_ParseWithLength((const char *)data + 1, size - 1);
	if (data[0] % 3 == 1) {
		struct docker_image i;

		if (docker_image_parse(j, &i) == 0)
			docker_image_done(&i);
	} else {
		struct docker_container c;

		if (docker_container_parse(j, &c) == 0)
			docker_container_done(&c);
	}
	cJSON_Delete(j);
	return 0;
}
