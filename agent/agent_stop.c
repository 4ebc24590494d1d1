/* Stopping: SIGTERM and SIGINT at any step, the container's graceful stop when systemd stops
 * the agent, and the scale-in under a termination lifecycle hook. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "notify.h"
#include "strutil.h"
#include "banned.h"

/* The container stop's own time on top of stop_timeout: dockerd's answer and our exit. */
#define STOP_SLACK_USEC (30ULL * 1000000)

static volatile sig_atomic_t caught;
static volatile sig_atomic_t finishing;
static int wake_fd = -1;

/* A handler rather than a blocked signal read through a signalfd: the signal then cuts
 * short the sleeps of the AWS client's retries (EINTR), not only our own waits. */
static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;

	caught = sig;
	(void)!write(wake_fd, &b, 1);
	errno = saved;
}

int agent_signals_init(int *ret_fd)
{
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART */
	int fds[2];

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	wake_fd = fds[1];
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0) {
		int r = -errno;

		close(fds[0]);
		close(fds[1]);
		wake_fd = -1;
		return r;
	}
	*ret_fd = fds[0];
	return 0;
}

int agent_signal_take(int fd)
{
	unsigned char b[16];
	int sig = 0;
	ssize_t n;

	while ((n = read(fd, b, sizeof(b))) > 0)
		sig = b[n - 1];
	return sig;
}

bool agent_stop_requested(void)
{
	/* Once a scale-in is being handled, its calls (the hook's CONTINUE) must go out. */
	return caught != 0 && !finishing;
}

/* Heartbeats the termination hooks when due, and pings the watchdog, while dockerd waits for
 * the container to stop. */
struct stop_wait {
	struct agent *a;
	const struct asg_lifecycle_hooks *hooks;
	uint64_t heartbeat_every, last_heartbeat;
	uint64_t watchdog, last_ping;
};

static int stop_tick(void *userdata)
{
	struct stop_wait *w = userdata;
	uint64_t now = now_usec();

	if (w->watchdog && now - w->last_ping >= w->watchdog / 2) {
		(void)notify_send("WATCHDOG=1");
		w->last_ping = now;
	}
	if (!w->hooks || w->hooks->n == 0 || now - w->last_heartbeat < w->heartbeat_every)
		return 0;
	w->last_heartbeat = now;
	for (size_t i = 0; i < w->hooks->n; i++) {
		struct aws_error err = { 0 };
		const char *hook = w->hooks->hooks[i].name;
		int r = asg_record_lifecycle_heartbeat(w->a->aws, w->a->group, hook,
		                                       w->a->instance_id, &err);

		if (r < 0)
			log_warning("lifecycle heartbeat for '%s': %s", hook, aws_why(&err, r));
		else
			log_debug("lifecycle heartbeat sent for '%s'", hook);
		aws_error_clear(&err);
	}
	return 0;
}

/* docker stop: the container's StopSignal, stop_timeout, then SIGKILL (dockerd's sequence,
 * the one it applies whoever stops the container). */
static int stop_container(struct agent *a, struct stop_wait *w)
{
	const struct agent_container_config *cc = &a->cfg->container;
	struct docker_error err = { 0 };
	uint64_t start = now_usec();
	int r;

	log_info("stopping container '%s' (%s, then SIGKILL after %u s)", a->cfg->container_name,
	         cc->stop_signal, cc->stop_timeout);
	r = docker_container_stop_ticking(a->docker, a->cfg->container_name, cc->stop_timeout,
	                                  stop_tick, w, &err);
	if (r < 0)
		log_error_errno(r, "stopping container '%s': %s", a->cfg->container_name,
		                err.message ? err.message : strerror(-r));
	else
		log_info("container '%s' stopped after %llu ms", a->cfg->container_name,
		         (unsigned long long)((now_usec() - start) / 1000));
	docker_error_clear(&err);
	return r;
}

int agent_stop(struct agent *a)
{
	struct stop_wait w = { .a = a };
	int r;

	/* systemd's TimeoutStopSec must not cut the container's own stop_timeout short. */
	(void)notify_sendf("STOPPING=1\nSTATUS=stopping the container\nEXTEND_TIMEOUT_USEC=%llu",
	                   (unsigned long long)((uint64_t)a->cfg->container.stop_timeout * 1000000 +
	                                        STOP_SLACK_USEC));
	r = stop_container(a, &w);
	(void)notify_send(r < 0 ? "STATUS=stopped; the container could not be stopped"
	                        : "STATUS=stopped with the container");
	return r < 0 ? AGENT_EXIT_FAILED : AGENT_EXIT_OK;
}

bool agent_terminating(struct agent *a)
{
	_cleanup_free_ char *state = NULL;
	int r;

	r = imds_get(a->imds, "/latest/meta-data/autoscaling/target-lifecycle-state", &state);
	if (r < 0) {
		/* IMDS not answering for a moment is no reason to stop the service. */
		if (r != -ENOENT)
			log_debug("reading the target lifecycle state: %s", strerror(-r));
		return false;
	}
	return streq(strstrip(state), "Terminated");
}

/* The termination hooks to complete: by name, none, or those of the group (auto). */
static int terminate_hooks(struct agent *a, struct asg_lifecycle_hooks *ret)
{
	return agent_hooks_for(a, a->cfg->container.terminate_hook, ASG_TRANSITION_TERMINATING,
	                       "CONTINUE", ret);
}

int agent_terminate(struct agent *a, uint64_t watchdog)
{
	_cleanup_asg_lifecycle_hooks_ struct asg_lifecycle_hooks hooks = { 0 };
	struct stop_wait w = { .a = a, .hooks = &hooks, .watchdog = watchdog };
	int r, ret = AGENT_EXIT_OK;

	finishing = 1;
	log_info("instance '%s' is being terminated: stopping the container", a->instance_id);
	notify_status("terminating: stopping the container");
	r = terminate_hooks(a, &hooks);
	if (r < 0)
		ret = AGENT_EXIT_FAILED; /* the container still gets its graceful stop */
	/* Heartbeats at half the shortest heartbeat timeout (300 s when a named hook's is not
	 * known), so that no hook applies its default result while the container stops. */
	for (size_t i = 0; i < hooks.n; i++) {
		unsigned hb = hooks.hooks[i].heartbeat_timeout;
		uint64_t e = (uint64_t)(hb ? hb / 2 : 300) * 1000000;

		log_info("termination lifecycle hook '%s' (heartbeat timeout %u s)",
		         hooks.hooks[i].name, hb);
		if (w.heartbeat_every == 0 || e < w.heartbeat_every)
			w.heartbeat_every = e;
	}
	if (a->test_keepalive_usec)
		w.heartbeat_every = a->test_keepalive_usec;
	w.last_heartbeat = w.last_ping = now_usec();
	if (stop_container(a, &w) < 0)
		ret = AGENT_EXIT_FAILED;
	/* CONTINUE even when the stop failed: the instance goes either way, and waiting out the
	 * hook's timeout would only hold the scale-in up. */
	for (size_t i = 0; i < hooks.n; i++) {
		struct aws_error err = { 0 };
		const char *hook = hooks.hooks[i].name;

		r = asg_complete_lifecycle_action(a->aws, a->group, hook, a->instance_id,
		                                  "CONTINUE", &err);
		if (r == ASG_ACTION_NOT_ACTIVE)
			log_info("termination hook '%s': no action pending", hook);
		else if (r < 0) {
			log_error("completing termination hook '%s': %s", hook, aws_why(&err, r));
			ret = AGENT_EXIT_FAILED;
		} else
			log_info("completed termination hook '%s' with CONTINUE", hook);
		aws_error_clear(&err);
	}
	(void)notify_send("STOPPING=1\nSTATUS=terminated: container stopped");
	return ret;
}
