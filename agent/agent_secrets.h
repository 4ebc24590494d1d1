/* env_ssm and env_secret: the container's environment from SSM Parameter Store and Secrets
 * Manager (agent_secrets.c). */
#ifndef ASGSWAP_AGENT_SECRETS_H
#define ASGSWAP_AGENT_SECRETS_H

#include <stdbool.h>

struct agent;

#define AGENT_SECRETS_MAX 100 /* entries of each key */

/* A configuration value: a comma-separated list appended to *list (an empty value clears
 * it). ssm: SSM paths; else NAME=SECRET_ID[:JSON_KEY]. -EINVAL with *why for a bad entry. */
int agent_secrets_config(char ***list, bool ssm, const char *v, const char **why);

/* NAME=SECRET_ID[:JSON_KEY] into its parts (ret_key NULL without a key); only checks when
 * ret_name is NULL. -EINVAL when it is not one. */
int agent_secrets_split(const char *spec, char **ret_name, char **ret_id, char **ret_key);

/* Appends NAME=value for every parameter and secret configured to *env (each string a
 * secret: free the list with agent_env_free()). Logs what failed, naming the parameter path
 * or secret and never a value: -ENOENT when one is missing. */
int agent_secrets_resolve(struct agent *a, char ***env);

/* Wipes and frees a list of "NAME=value" strings; returns NULL. */
char **agent_env_free(char **env);
static inline void agent_env_freep(char ***env)
{
	*env = agent_env_free(*env);
}

#endif
