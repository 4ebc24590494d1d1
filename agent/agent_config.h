/* The agent's configuration: `key = value` lines of /etc/asgswap/agent.conf, each key
 * overridable by ASGSWAP_<KEY> in the environment. */
#ifndef ASGSWAP_AGENT_CONFIG_H
#define ASGSWAP_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "agent_container.h"
#include "docker.h"
#include "macro.h"

#define AGENT_CONFIG_DEFAULT "/etc/asgswap/agent.conf"
#define AGENT_DOCKER_CONFIG  "/root/.docker/config.json"

enum registry_auth {
	REGISTRY_AUTH_AUTO,
	REGISTRY_AUTH_ECR,
	REGISTRY_AUTH_DOCKER_CONFIG,
	REGISTRY_AUTH_NONE,
};

struct agent_config {
	char *registry; /* NULL: the name tag is used as it is */
	char *container_name;
	struct docker_port *ports;
	size_t n_ports;
	char *env_file;    /* NULL: none */
	char **env_ssm;    /* SSM paths, NULL-terminated, or NULL */
	char **env_secret; /* NAME=SECRET_ID[:JSON_KEY], NULL-terminated, or NULL */
	char *restart;
	char *network;
	char *health_url; /* NULL: none */
	unsigned health_timeout;
	unsigned tag_timeout;
	unsigned unhealthy_grace;
	char *lifecycle_hook; /* "auto", "none" or a hook name */
	char *docker_socket;
	enum registry_auth registry_auth;
	char *name_tag;
	char *version_tag;
	char *docker_config; /* AGENT_DOCKER_CONFIG; only tests move it (ASGSWAP_DOCKER_CONFIG) */
	struct agent_container_config container; /* agent_container.h */
};

/*
 * Reads path (the default file may be absent; a file named on the command line may not),
 * then the environment. 0, or -EINVAL with *ret_error a message naming the file and line or
 * the variable; another negative errno when the file cannot be read.
 */
int agent_config_load(const char *path, bool explicit_path, struct agent_config **ret,
                      char **ret_error);
struct agent_config *agent_config_free(struct agent_config *c);
DEFINE_POINTER_CLEANUP_FUNC(struct agent_config, agent_config_free)

const char *registry_auth_to_string(enum registry_auth a);

/* Reads a Docker env file (KEY=VALUE lines, # comments) into "KEY=VALUE" strings. -EINVAL
 * with *ret_error naming the line for a line that is not KEY=VALUE. */
int agent_env_file_read(const char *path, char ***ret, char **ret_error);

#endif
