/* The agent's state while it boots and supervises one container (agent_boot.c). */
#ifndef ASGSWAP_AGENT_H
#define ASGSWAP_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "agent_config.h"
#include "aws.h"
#include "docker.h"
#include "imageref.h"
#include "imds.h"
#include "lifecycle.h"
#include "timeutil.h"

/* Exit codes of asgswap-agent. */
enum {
	AGENT_EXIT_OK = 0,
	AGENT_EXIT_FAILED = 1,
	AGENT_EXIT_USAGE = 2,
	AGENT_EXIT_NO_TAGS = 3,
};

struct agent {
	struct agent_config *cfg;
	bool once;
	bool verbose;
	int signal_fd; /* SIGTERM, SIGINT */
	bool stopping;

	struct aws_client *aws;
	struct imds_client *imds; /* the aws client's */
	struct http_client *http; /* Docker and health checks */
	struct docker_client *docker;

	char *instance_id;
	char *target_state; /* NULL when IMDS does not say */
	char *group;
	struct asg_lifecycle_hooks hooks; /* the launch hooks to complete */
	bool hooks_known;
	char *image_name; /* the name tag's value */
	char *version;    /* the version tag's value */
	struct imageref ref;
	char *registry_auth; /* X-Registry-Auth value, a secret; NULL for none */

	uint64_t last_extend_usec;
	uint64_t last_heartbeat_usec;
	/* For tests only: ASGSWAP_TEST_KEEPALIVE_MS (not a configuration key) replaces both
	 * keep-alive intervals of a long pull, and the heartbeat interval of a container stop
	 * under a termination hook, so that seconds show them; 0 unset. */
	uint64_t test_keepalive_usec;
};

int agent_init(struct agent *a, struct agent_config *cfg, bool once, bool verbose);
void agent_done(struct agent *a);
/* Runs the steps; returns the exit code. */
int agent_run(struct agent *a);

/* Step 5 (agent_auth.c): sets a->registry_auth per the registry_auth setting. */
int agent_registry_auth(struct agent *a);
/* agent_memory.c: once booted, returns the heap's free pages to the system. */
void agent_release_boot_memory(void);

/* agent_boot.c */
const char *aws_why(const struct aws_error *err, int r);
void notify_status(const char *fmt, ...) _printf_(1, 2);
/* The lifecycle hooks of a's group for transition (ASG_TRANSITION_*) by a hook setting:
 * none, the one named by mode (with default_result), or every hook of that transition the
 * group has (auto, one DescribeLifecycleHooks). */
int agent_hooks_for(struct agent *a, const char *mode, const char *transition,
                    const char *default_result, struct asg_lifecycle_hooks *ret);

/* agent_stop.c: SIGTERM and SIGINT set a flag and make *ret_fd readable. */
int agent_signals_init(int *ret_fd);
/* The signal caught since the last call (draining fd), 0 for none. */
int agent_signal_take(int fd);
/* The AWS client's stop predicate: a signal arrived (and no scale-in is being finished). */
bool agent_stop_requested(void);
/* systemd stops the agent: the container's graceful stop; returns the exit code. */
int agent_stop(struct agent *a);
/* Whether IMDS says the instance's target lifecycle state is Terminated. */
bool agent_terminating(struct agent *a);
/* The scale-in: the container's graceful stop under heartbeats of the termination hooks,
 * then CONTINUE; returns the exit code. */
int agent_terminate(struct agent *a, uint64_t watchdog);

#endif
