/* How the agent's container is created and stopped: the agent.conf keys that reach the
 * container's Config and HostConfig, and the termination hook setting. */
#ifndef ASGSWAP_AGENT_CONTAINER_H
#define ASGSWAP_AGENT_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "docker.h"

#define AGENT_STOP_TIMEOUT_DEFAULT 10

struct agent_container_config {
	char *log_driver; /* "journald" unless set */
	char **log_opts;  /* "key=value" */
	char **mounts;    /* "HOST:CONTAINER[:ro]", as Docker's Binds read them */
	int64_t memory;   /* bytes; 0: no limit */
	int64_t nano_cpus;
	int64_t pids_limit;
	char *user; /* NULL: the image's */
	bool read_only;
	bool init;
	char **cap_drop;
	char **cap_add;
	char **extra_hosts; /* "host:ip" */
	char **labels;      /* "key=value" */
	char **command;     /* NULL: the image's CMD */
	unsigned stop_timeout;
	char *stop_signal;    /* "SIGTERM" unless set */
	char *terminate_hook; /* "auto", "none" or a hook name */
};

/* The keys below, for ASGSWAP_<KEY> overrides; NULL-terminated. */
extern const char *const agent_container_keys[];

int agent_container_config_init(struct agent_container_config *c);
void agent_container_config_done(struct agent_container_config *c);
/* Sets key to v: -ENOENT for a key that is not one of these, -EINVAL with *why for a bad
 * value (why never quotes the value). */
int agent_container_config_set(struct agent_container_config *c, const char *key, const char *v,
                               const char **why);
/* Fills the fields of spec that these settings decide; spec borrows from c. */
void agent_container_spec(const struct agent_container_config *c, struct docker_create *spec);

#endif
