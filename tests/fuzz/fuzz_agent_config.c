/*
 * The agent's configuration: the first byte picks agent.conf, the ASGSWAP_<KEY> environment
 * overrides (values separated by NUL bytes, in the order of `keys` below), or the Docker env
 * file. Files go through a memfd so that the real readers, ceilings included, run.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent_config.h"
#include "strutil.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const vars[] = {
	"ASGSWAP_REGISTRY",
	"ASGSWAP_CONTAINER_NAME",
	"ASGSWAP_PORTS",
	"ASGSWAP_ENV_FILE",
	"ASGSWAP_RESTART",
	"ASGSWAP_NETWORK",
	"ASGSWAP_HEALTH_URL",
	"ASGSWAP_HEALTH_TIMEOUT",
	"ASGSWAP_TAG_TIMEOUT",
	"ASGSWAP_LIFECYCLE_HOOK",
	"ASGSWAP_DOCKER_SOCKET",
	"ASGSWAP_REGISTRY_AUTH",
	"ASGSWAP_NAME_TAG",
	"ASGSWAP_VERSION_TAG",
	"ASGSWAP_UNHEALTHY_GRACE",
	"ASGSWAP_DOCKER_CONFIG",
	"DOCKER_HOST",
};

/* A file holding data, named /proc/self/fd/N; NULL when the kernel says no. */
static const char *as_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];

	if (fd < 0) {
		fd = memfd_create("fuzz_agent_config", MFD_CLOEXEC);
		if (fd < 0 || snprintf(path, sizeof(path), "/proc/self/fd/%d", fd) < 0)
			return NULL;
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return NULL;
	return path;
}

static void load(const char *path, bool explicit_path)
{
	struct agent_config *c = NULL;
	char *error = NULL;

	if (agent_config_load(path, explicit_path, &c, &error) == 0) {
		struct docker_create spec = {
			.name = "app", .image = "app:1", .restart = "no", .network = "none"
		};

		(void)registry_auth_to_string(c->registry_auth);
		/* What the settings become: the container's create body. */
		agent_container_spec(&c->container, &spec);
		secret_free(docker_create_body(&spec));
	}
	agent_config_free(c);
	free(error);
}

static void environment(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	for (size_t i = 0; i < ELEMENTSOF(vars) && p < end; i++) {
		size_t n = strnlen(p, (size_t)(end - p));
		_cleanup_free_ char *v = strndup(p, n);

		if (v && setenv(vars[i], v, 1) < 0)
			break;
		p += n + 1;
	}
	load("/nonexistent/agent.conf", false);
	for (size_t i = 0; i < ELEMENTSOF(vars); i++)
		unsetenv(vars[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		path = as_file(data + 1, size - 1);
		if (path)
			load(path, true);
		break;
	case 1:
		environment(data + 1, size - 1);
		break;
	default:
		path = as_file(data + 1, size - 1);
		if (path) {
			char **env = NULL, *error = NULL;

			if (agent_env_file_read(path, &env, &error) == 0)
				strv_free(env);
			free(error);
		}
		break;
	}
	return 0;
}
