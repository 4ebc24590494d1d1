/* The agent's steps: IMDS, group, tags, reference, auth, pull, run, health,
 * report, supervise. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "agent.h"
#include "agent_secrets.h"
#include "creds.h"
#include "log.h"
#include "notify.h"
#include "retry.h"
#include "strutil.h"
#include "trace.h"
#include "banned.h"

#define TAG_BACKOFF_CAP_MS  10000L
#define TAG_BACKOFF_BASE_MS 500L
#define PULL_ATTEMPTS       6
#define PULL_BACKOFF_CAP_MS 10000L
#define PULL_TIMEOUT_MS     (30L * 60 * 1000)
#define EXTEND_EVERY_USEC   (20ULL * 1000000)
#define EXTEND_BY_USEC      (90ULL * 1000000)
#define HEALTH_POLL_MS      500L
#define STABLE_RUN_USEC     (5ULL * 1000000)
#define SUPERVISE_POLL_MS   2000L
#define NEXT_SUFFIX         "-asgswap-next"
#define HEALTH_MAX_RESPONSE ((size_t)64 << 10)

static uint64_t random_u64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = now_usec() ^ (uint64_t)getpid() << 32;
	return v;
}

/* Full jitter: a random delay in [base/2, min(cap, base * 2^attempt)). */
static long backoff_ms(unsigned attempt, long base, long cap)
{
	long top = base;

	for (unsigned i = 0; i < attempt && top < cap; i++)
		top *= 2;
	if (top > cap)
		top = cap;
	return base / 2 + (long)(random_u64() % (uint64_t)(top - base / 2 + 1));
}

int agent_init(struct agent *a, struct agent_config *cfg, bool once, bool verbose)
{
	struct aws_client_options o = { .user_agent = "asgswap-agent/" ASGSWAP_VERSION };
	struct aws_error err = { 0 };
	const char *test_keepalive;
	unsigned ms;
	int r;

	*a = (struct agent){ .cfg = cfg, .once = once, .verbose = verbose, .signal_fd = -1 };
	test_keepalive = getenv("ASGSWAP_TEST_KEEPALIVE_MS");
	if (test_keepalive) {
		if (safe_atou(test_keepalive, &ms) < 0 || ms == 0)
			return log_error_errno(-EINVAL,
			                       "ASGSWAP_TEST_KEEPALIVE_MS: not a number of ms");
		a->test_keepalive_usec = (uint64_t)ms * 1000;
	}
	if (verbose)
		o.trace = aws_trace_to_log;
	o.stop = agent_stop_requested;
	r = agent_signals_init(&a->signal_fd);
	if (r < 0)
		return log_error_errno(r, "signal handlers: %s", strerror(-r));
	r = aws_client_new(&o, &a->aws, &err);
	if (r < 0) {
		log_error_errno(r, "AWS configuration: %s",
		                err.message ? err.message : strerror(-r));
		aws_error_clear(&err);
		return r;
	}
	r = aws_client_imds(a->aws, &a->imds);
	if (r < 0)
		return log_error_errno(r, "IMDS client: %s", strerror(-r));
	r = http_client_new(&a->http);
	if (r < 0)
		return log_error_errno(r, "HTTP client: %s", strerror(-r));
	r = docker_client_new(a->http, cfg->docker_socket, &a->docker);
	if (r < 0)
		return log_error_errno(r, "Docker client: %s", strerror(-r));
	docker_client_set_stop(a->docker, agent_stop_requested);
	return 0;
}

void agent_done(struct agent *a)
{
	docker_client_free(a->docker);
	http_client_free(a->http);
	aws_client_free(a->aws); /* frees a->imds too */
	agent_config_free(a->cfg);
	if (a->signal_fd >= 0)
		close(a->signal_fd);
	free(a->instance_id);
	free(a->target_state);
	free(a->group);
	asg_lifecycle_hooks_done(&a->hooks);
	free(a->image_name);
	free(a->version);
	imageref_done(&a->ref);
	secret_free(a->registry_auth);
	*a = (struct agent){ .signal_fd = -1 };
}

/* Whether SIGTERM or SIGINT arrived (consumes the signal). */
static bool signalled(struct agent *a)
{
	int sig;

	if (a->stopping)
		return true;
	sig = agent_signal_take(a->signal_fd);
	if (sig > 0) {
		log_info("received %s, stopping", strsignal(sig));
		a->stopping = true;
	}
	return a->stopping;
}

/* Sleeps ms, or less when a signal arrives: -ECANCELED then. */
static int agent_sleep(struct agent *a, long ms)
{
	struct pollfd p = { .fd = a->signal_fd, .events = POLLIN };
	uint64_t end = now_usec() + (uint64_t)ms * 1000;

	for (;;) {
		uint64_t now = now_usec();
		int r;

		if (signalled(a))
			return -ECANCELED;
		if (now >= end)
			return 0;
		r = poll(&p, 1, (int)((end - now + 999) / 1000));
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

void notify_status(const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	s = strdup_vprintf(fmt, ap);
	va_end(ap);
	if (s)
		(void)notify_sendf("STATUS=%s", s);
}

const char *aws_why(const struct aws_error *err, int r)
{
	if (err->message)
		return err->message;
	if (err->code)
		return err->code;
	return strerror(-r);
}

/* Step 1: instance id and the target lifecycle state. */
static int step_imds(struct agent *a)
{
	int r;

	r = imds_get(a->imds, "/latest/meta-data/instance-id", &a->instance_id);
	if (r < 0)
		return log_error_errno(r, "reading the instance id from IMDS: %s", strerror(-r));
	r = imds_get(a->imds, "/latest/meta-data/autoscaling/target-lifecycle-state",
	             &a->target_state);
	if (r == -ENOENT)
		a->target_state = NULL;
	else if (r < 0)
		return log_error_errno(r, "reading the target lifecycle state from IMDS: %s",
		                       strerror(-r));
	if (a->target_state)
		strstrip(a->target_state);
	strstrip(a->instance_id);
	/* It goes into every AWS call and log line: "i-" and letters or digits, nothing else. */
	if (!startswith(a->instance_id, "i-") || strlen(a->instance_id) > 64 ||
	    !a->instance_id[2] ||
	    a->instance_id[2 + strspn(a->instance_id + 2, "0123456789abcdefghijklmnopqrstuvwxyz"
	                                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ")]) {
		free(a->instance_id);
		a->instance_id = NULL;
		return log_error_errno(-EBADMSG, "IMDS gave an instance id that is not one");
	}
	log_info("instance '%s', target lifecycle state '%s'", a->instance_id,
	         a->target_state ? a->target_state : "unknown");
	return 0;
}

/* Step 2: the group, from the instance tag when IMDS shows tags, else from Auto Scaling. */
static int step_group(struct agent *a)
{
	struct aws_error err = { 0 };
	int r;

	r = imds_get(a->imds, "/latest/meta-data/tags/instance/aws:autoscaling:groupName",
	             &a->group);
	if (r == 0) {
		strstrip(a->group);
		if (*a->group) {
			log_info("group '%s' (instance metadata tag)", a->group);
			return 0;
		}
		free(a->group);
		a->group = NULL;
	} else if (r != -ENOENT)
		log_warning("reading the group from the instance tags: %s; asking Auto Scaling",
		            strerror(-r));
	r = asg_describe_instance_group(a->aws, a->instance_id, &a->group, NULL, &err);
	if (r < 0) {
		log_error_errno(r, "finding the group of '%s': %s", a->instance_id,
		                aws_why(&err, r));
		aws_error_clear(&err);
		return r;
	}
	aws_error_clear(&err);
	log_info("group '%s' (DescribeAutoScalingInstances)", a->group);
	return 0;
}

int agent_hooks_for(struct agent *a, const char *mode, const char *transition,
                    const char *default_result, struct asg_lifecycle_hooks *ret)
{
	_cleanup_asg_lifecycle_hooks_ struct asg_lifecycle_hooks all = { 0 };
	struct aws_error err = { 0 };
	int r;

	if (streq(mode, "none"))
		return 0;
	if (!streq(mode, "auto")) {
		struct asg_lifecycle_hook *h = calloc(1, sizeof(*h));

		if (!h)
			return -ENOMEM;
		*ret = (struct asg_lifecycle_hooks){ .hooks = h, .n = 1 };
		h->name = strdup(mode);
		h->group = strdup(a->group);
		h->transition = strdup(transition);
		h->default_result = strdup(default_result);
		if (!h->name || !h->group || !h->transition || !h->default_result)
			return -ENOMEM;
		return 0;
	}
	r = asg_describe_lifecycle_hooks(a->aws, a->group, &all, &err);
	if (r < 0) {
		log_error("reading the lifecycle hooks of '%s': %s", a->group, aws_why(&err, r));
		aws_error_clear(&err);
		return r;
	}
	aws_error_clear(&err);
	for (size_t i = 0; i < all.n; i++) {
		struct asg_lifecycle_hook *n;

		if (!streq(all.hooks[i].transition, transition))
			continue;
		n = reallocarray(ret->hooks, ret->n + 1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		ret->hooks = n;
		ret->hooks[ret->n++] = all.hooks[i];
		all.hooks[i] = (struct asg_lifecycle_hook){ 0 };
	}
	return 0;
}

/* The launch hooks to complete: by name, none, or those of the group (auto). */
static int resolve_hooks(struct agent *a)
{
	const char *mode = a->cfg->lifecycle_hook;
	int r;

	if (a->hooks_known)
		return 0;
	if (!streq(mode, "none") && !a->group)
		return -ENOENT;
	r = agent_hooks_for(a, mode, ASG_TRANSITION_LAUNCHING, "ABANDON", &a->hooks);
	if (r < 0)
		return r;
	for (size_t i = 0; streq(mode, "auto") && i < a->hooks.n; i++)
		log_info("launch lifecycle hook '%s' (heartbeat timeout %u s)",
		         a->hooks.hooks[i].name, a->hooks.hooks[i].heartbeat_timeout);
	a->hooks_known = true;
	return 0;
}

/* Step 3: both tags on the group, retried with jittered backoff until tag_timeout. */
static int step_tags(struct agent *a)
{
	char *keys[] = { a->cfg->name_tag, a->cfg->version_tag, NULL };
	uint64_t deadline = now_usec() + (uint64_t)a->cfg->tag_timeout * 1000000;
	bool said = false;

	for (unsigned attempt = 0;; attempt++) {
		_cleanup_asg_tags_ struct asg_tags tags = { 0 };
		struct aws_error err = { 0 };
		const char *name, *version;
		long delay;
		int r;

		r = asg_describe_group_tags(a->aws, a->group, keys, &tags, &err);
		if (r == -EREMOTEIO && !retry_is_throttle_code(err.code)) {
			/* AccessDenied, ValidationError...: waiting will not change the answer. */
			r = log_error_errno(r, "reading the tags of '%s': %s", a->group,
			                    aws_why(&err, r));
			aws_error_clear(&err);
			return r;
		}
		if (r < 0)
			log_warning("reading the tags of '%s': %s", a->group, aws_why(&err, r));
		aws_error_clear(&err);
		if (r == 0) {
			name = asg_tags_get(&tags, a->cfg->name_tag);
			version = asg_tags_get(&tags, a->cfg->version_tag);
			if (name && version) {
				a->image_name = strdup(name);
				a->version = strdup(version);
				if (!a->image_name || !a->version)
					return -ENOMEM;
				return 0;
			}
			if (!said) {
				log_info("waiting for the tags '%s' and '%s' on '%s'",
				         a->cfg->name_tag, a->cfg->version_tag, a->group);
				notify_status("waiting for the tags of %s", a->group);
				said = true;
			}
		}
		if (now_usec() >= deadline)
			return -ETIME;
		delay = backoff_ms(attempt, TAG_BACKOFF_BASE_MS, TAG_BACKOFF_CAP_MS);
		if ((uint64_t)delay * 1000 > deadline - now_usec())
			delay = (long)((deadline - now_usec()) / 1000) + 1;
		r = agent_sleep(a, delay);
		if (r < 0)
			return r;
	}
}

/* Keeps systemd and the lifecycle hook patient while a pull runs long. */
static void keep_alive(struct agent *a)
{
	uint64_t now = now_usec(), every = 0;
	uint64_t extend_every = a->test_keepalive_usec ? a->test_keepalive_usec : EXTEND_EVERY_USEC;

	if (now - a->last_extend_usec >= extend_every) {
		(void)notify_sendf("EXTEND_TIMEOUT_USEC=%llu", (unsigned long long)EXTEND_BY_USEC);
		a->last_extend_usec = now;
	}
	/* Heartbeats at half the shortest heartbeat timeout (300 s when a named hook's is not
	 * known), so that no hook applies its default result during a long pull. */
	for (size_t i = 0; i < a->hooks.n; i++) {
		unsigned hb = a->hooks.hooks[i].heartbeat_timeout;
		uint64_t e = (uint64_t)(hb ? hb / 2 : 300) * 1000000;

		if (every == 0 || e < every)
			every = e;
	}
	if (a->test_keepalive_usec)
		every = a->test_keepalive_usec;
	if (a->hooks.n == 0 || now - a->last_heartbeat_usec < every)
		return;
	a->last_heartbeat_usec = now;
	for (size_t i = 0; i < a->hooks.n; i++) {
		struct aws_error err = { 0 };
		int r = asg_record_lifecycle_heartbeat(a->aws, a->group, a->hooks.hooks[i].name,
		                                       a->instance_id, &err);

		if (r < 0)
			log_warning("lifecycle heartbeat for '%s': %s", a->hooks.hooks[i].name,
			            aws_why(&err, r));
		else
			log_debug("lifecycle heartbeat sent for '%s'", a->hooks.hooks[i].name);
		aws_error_clear(&err);
	}
}

static int pull_progress(void *userdata, const char *status)
{
	struct agent *a = userdata;

	if (signalled(a))
		return -ECANCELED;
	if (a->verbose && status && *status)
		log_debug("pull: %s", status);
	keep_alive(a);
	return 0;
}

/* Step 6: the pull, retried with backoff; a missing image is not retried. */
static int step_pull(struct agent *a)
{
	int r = 0;

	a->last_extend_usec = a->last_heartbeat_usec = now_usec();
	for (unsigned attempt = 0; attempt < PULL_ATTEMPTS; attempt++) {
		struct docker_error err = { 0 };

		if (attempt > 0) {
			long delay = backoff_ms(attempt, 1000, PULL_BACKOFF_CAP_MS);

			log_info("retrying the pull in %ld ms", delay);
			keep_alive(a);
			r = agent_sleep(a, delay);
			if (r < 0)
				return r;
		}
		if (!docker_api_version(a->docker)) {
			r = docker_ping(a->docker, &err);
			if (r < 0) {
				log_warning("Docker at '%s': %s", a->cfg->docker_socket,
				            err.message ? err.message : strerror(-r));
				docker_error_clear(&err);
				continue;
			}
			log_info("Docker API version %s", docker_api_version(a->docker));
		}
		notify_status("pulling %s", a->ref.ref);
		log_info("pulling '%s'", a->ref.ref);
		/* Pinned, the pull is by digest: the registry cannot serve another image. */
		r = docker_pull(a->docker, a->ref.name, a->ref.digest ? a->ref.digest : a->ref.tag,
		                a->registry_auth, PULL_TIMEOUT_MS, pull_progress, a, &err);
		if (r == 0) {
			docker_error_clear(&err);
			log_info("pulled '%s'", a->ref.ref);
			return 0;
		}
		if (r == -ECANCELED || signalled(a)) {
			docker_error_clear(&err);
			return -ECANCELED;
		}
		log_warning("pulling '%s': %s", a->ref.ref,
		            err.message ? err.message : strerror(-r));
		docker_error_clear(&err);
		if (r == -ENOENT)
			break;
	}
	return log_error_errno(r, "could not pull '%s'", a->ref.ref);
}

static char *next_name(const char *name)
{
	char *s = NULL;

	if (asprintf(&s, "%s" NEXT_SUFFIX, name) < 0)
		return NULL;
	return s;
}

/* Step 7: keep a container that already runs this version, else replace it. 1 when kept. */
static int step_run(struct agent *a, const char *image)
{
	const struct agent_config *cfg = a->cfg;
	struct docker_container cur = { 0 };
	struct docker_error err = { 0 };
	_cleanup_free_ char *next = NULL, *id = NULL;
	_cleanup_(agent_env_freep) char **env = NULL;
	_cleanup_strv_free_ char **labels = NULL;
	int r;

	r = docker_container_inspect(a->docker, cfg->container_name, &cur, &err);
	if (r < 0 && r != -ENOENT) {
		log_error_errno(r, "inspecting '%s': %s", cfg->container_name,
		                err.message ? err.message : strerror(-r));
		docker_error_clear(&err);
		return r;
	}
	docker_error_clear(&err);
	if (r == 0 && streq_ptr(cur.label_image, a->ref.name) &&
	    streq_ptr(cur.label_version, a->version)) {
		log_info("container '%s' already runs '%s:%s': kept", cfg->container_name,
		         a->ref.name, a->version);
		if (!cur.running && !cur.restarting) {
			r = docker_container_start(a->docker, cur.id, &err);
			if (r < 0)
				log_error_errno(r, "starting '%s': %s", cfg->container_name,
				                err.message ? err.message : strerror(-r));
			docker_error_clear(&err);
		}
		docker_container_done(&cur);
		return r < 0 ? r : 1;
	}
	if (cfg->env_file) {
		_cleanup_free_ char *why = NULL;

		r = agent_env_file_read(cfg->env_file, &env, &why);
		if (r < 0) {
			log_error_errno(r, "env_file: %s", why ? why : strerror(-r));
			docker_container_done(&cur);
			return r;
		}
	}
	r = agent_secrets_resolve(a, &env);
	if (r < 0) {
		docker_container_done(&cur);
		return r;
	}
	next = next_name(cfg->container_name);
	r = strv_pushf(&labels, "asgswap.image=%s", a->ref.name);
	if (r == 0)
		r = strv_pushf(&labels, "asgswap.version=%s", a->version);
	STRV_FOREACH(l, cfg->container.labels)
		if (r == 0)
			r = strv_extend(&labels, *l);
	if (!next || r < 0) {
		docker_container_done(&cur);
		return -ENOMEM;
	}
	/* A leftover of an interrupted replacement. */
	(void)docker_container_remove(a->docker, next, &err);
	docker_error_clear(&err);
	struct docker_create spec = {
		.name = next,
		.image = image,
		.labels = labels,
		.env = env,
		.ports = cfg->ports,
		.n_ports = cfg->n_ports,
		.network = cfg->network,
		.restart = cfg->restart,
	};
	agent_container_spec(&cfg->container, &spec);
	log_debug("creating container '%s' from '%s'", next, image);
	r = docker_container_create(a->docker, &spec, &id, &err);
	if (r < 0) {
		log_error_errno(r, "creating the container: %s",
		                err.message ? err.message : strerror(-r));
		docker_error_clear(&err);
		docker_container_done(&cur);
		return r;
	}
	if (cur.id) {
		log_info("replacing container '%s' (%s:%s)", cfg->container_name,
		         cur.label_image ? cur.label_image : cur.image,
		         cur.label_version ? cur.label_version : "?");
		r = docker_container_stop(a->docker, cur.id, cfg->container.stop_timeout, &err);
		if (r < 0)
			log_warning("stopping the old container: %s",
			            err.message ? err.message : strerror(-r));
		docker_error_clear(&err);
		r = docker_container_remove(a->docker, cur.id, &err);
		docker_container_done(&cur);
		if (r < 0) {
			log_error_errno(r, "removing the old container: %s",
			                err.message ? err.message : strerror(-r));
			docker_error_clear(&err);
			(void)docker_container_remove(a->docker, id, &err);
			docker_error_clear(&err);
			return r;
		}
	}
	r = docker_container_rename(a->docker, id, cfg->container_name, &err);
	if (r == 0)
		r = docker_container_start(a->docker, id, &err);
	if (r < 0) {
		log_error_errno(r, "starting the container: %s",
		                err.message ? err.message : strerror(-r));
		docker_error_clear(&err);
		return r;
	}
	log_info("started container '%s' from '%s'", cfg->container_name, image);
	return 0;
}

static int health_tick(void *userdata)
{
	return signalled(userdata) ? -ECANCELED : 0;
}

static int http_health(struct agent *a)
{
	struct http_response resp;
	struct http_request req = {
		.on_tick = health_tick,
		.userdata = a,
		.method = "GET",
		.url = a->cfg->health_url,
		.max_response = HEALTH_MAX_RESPONSE,
		.connect_timeout_ms = 2000,
		.timeout_ms = 5000,
		.no_proxy = true,
	};
	int r = http_request(a->http, &req, &resp);

	if (r == 0 && resp.status != 200)
		r = -EAGAIN;
	http_response_done(&resp);
	return r;
}

/* Step 8: healthy within health_timeout. */
static int step_health(struct agent *a, bool has_healthcheck)
{
	uint64_t deadline = now_usec() + (uint64_t)a->cfg->health_timeout * 1000000;
	uint64_t stable_since = 0;
	unsigned restarts = 0;
	_cleanup_free_ char *started = NULL;
	const char *how = has_healthcheck      ? "Docker health status"
	                  : a->cfg->health_url ? a->cfg->health_url
	                                       : "5 s running without a restart";

	log_info("waiting for health (%s), up to %u s", how, a->cfg->health_timeout);
	notify_status("waiting for %s:%s to be healthy", a->ref.name, a->version);
	for (;;) {
		struct docker_container c = { 0 };
		struct docker_error err = { 0 };
		bool ok = false;
		int r;

		r = docker_container_inspect(a->docker, a->cfg->container_name, &c, &err);
		if (r < 0)
			log_warning("inspecting '%s': %s", a->cfg->container_name,
			            err.message ? err.message : strerror(-r));
		docker_error_clear(&err);
		if (r == 0 && has_healthcheck) {
			ok = streq_ptr(c.health, "healthy");
		} else if (r == 0 && a->cfg->health_url) {
			ok = c.running && http_health(a) == 0;
		} else if (r == 0) {
			if (!c.running || c.restarting || !streq_ptr(started, c.started_at) ||
			    c.restart_count != restarts) {
				free(started);
				started = c.started_at ? strdup(c.started_at) : NULL;
				restarts = c.restart_count;
				stable_since = c.running && !c.restarting ? now_usec() : 0;
			}
			ok = stable_since && now_usec() - stable_since >= STABLE_RUN_USEC;
		}
		docker_container_done(&c);
		if (ok) {
			log_info("container '%s' is healthy", a->cfg->container_name);
			return 0;
		}
		if (now_usec() >= deadline)
			return log_error_errno(-ETIME, "container '%s' not healthy within %u s",
			                       a->cfg->container_name, a->cfg->health_timeout);
		r = agent_sleep(a, HEALTH_POLL_MS);
		if (r < 0)
			return r;
	}
}

/* Step 9: CONTINUE or ABANDON to every launch hook; without one, failure marks the instance
 * unhealthy. Returns a negative errno when a hook could not be completed: the instance would
 * wait in Pending:Wait until the hook's timeout, so that is no success. */
static int report(struct agent *a, bool success)
{
	struct aws_error err = { 0 };
	int r, ret = 0;

	if (a->group && !a->hooks_known)
		(void)resolve_hooks(a);
	for (size_t i = 0; i < a->hooks.n; i++) {
		const char *hook = a->hooks.hooks[i].name;
		const char *result = success ? "CONTINUE" : "ABANDON";

		r = asg_complete_lifecycle_action(a->aws, a->group, hook, a->instance_id, result,
		                                  &err);
		if (r == ASG_ACTION_NOT_ACTIVE)
			log_info("lifecycle hook '%s': no action pending (already completed)",
			         hook);
		else if (r < 0)
			ret = log_error_errno(r, "completing lifecycle hook '%s' with %s: %s", hook,
			                      result, aws_why(&err, r));
		else
			log_info("completed lifecycle hook '%s' with %s", hook, result);
		aws_error_clear(&err);
	}
	if (!success && a->hooks.n == 0 && a->instance_id) {
		r = asg_set_instance_health(a->aws, a->instance_id, false, false, &err);
		if (r < 0)
			log_error("marking '%s' unhealthy: %s", a->instance_id, aws_why(&err, r));
		else
			log_info("marked '%s' unhealthy", a->instance_id);
		aws_error_clear(&err);
	}
	return ret;
}

static int fail(struct agent *a, int r, int code, const char *what)
{
	/* A signal also ends AWS calls in flight (-EINTR): a stop, not a failure to report. */
	if (r == -ECANCELED || signalled(a)) {
		(void)notify_send("STOPPING=1\nSTATUS=stopped");
		return AGENT_EXIT_OK;
	}
	(void)report(a, false);
	(void)notify_sendf("STATUS=failed: %s\nERRNO=%d", what, r < 0 ? -r : EIO);
	return code;
}

/* Step 10: watchdog pings, and an unhealthy or stopped container for unhealthy_grace
 * seconds marks the instance unhealthy. */
static int supervise(struct agent *a, uint64_t watchdog)
{
	uint64_t bad_since = 0, last_ping = 0;
	long poll_ms = SUPERVISE_POLL_MS;
	bool reported = false;

	if (watchdog > 0 && (long)(watchdog / 2000) < poll_ms)
		poll_ms = (long)(watchdog / 2000) > 0 ? (long)(watchdog / 2000) : 1;
	for (;;) {
		struct docker_container c = { 0 };
		struct docker_error err = { 0 };
		bool bad;
		int r;

		if (watchdog && now_usec() - last_ping >= watchdog / 2) {
			(void)notify_send("WATCHDOG=1");
			last_ping = now_usec();
		}
		if (agent_terminating(a))
			return agent_terminate(a, watchdog);
		r = docker_container_inspect(a->docker, a->cfg->container_name, &c, &err);
		if (r < 0 && r != -ENOENT) {
			/* Docker itself not answering is not the container's fault. */
			log_warning("inspecting '%s': %s", a->cfg->container_name,
			            err.message ? err.message : strerror(-r));
			bad = false;
		} else {
			bad = r == -ENOENT || !c.running || streq_ptr(c.health, "unhealthy");
		}
		docker_error_clear(&err);
		docker_container_done(&c);
		if (!bad) {
			if (bad_since)
				log_info("container '%s' is healthy again", a->cfg->container_name);
			bad_since = 0;
		} else if (!bad_since) {
			bad_since = now_usec();
			log_warning("container '%s' is stopped or unhealthy",
			            a->cfg->container_name);
		} else if (!reported &&
		           now_usec() - bad_since >= (uint64_t)a->cfg->unhealthy_grace * 1000000) {
			struct aws_error aerr = { 0 };

			r = asg_set_instance_health(a->aws, a->instance_id, false, false, &aerr);
			if (r < 0)
				log_error("marking '%s' unhealthy: %s", a->instance_id,
				          aws_why(&aerr, r));
			else {
				log_error(
				        "container '%s' unhealthy for %u s: marked '%s' unhealthy",
				        a->cfg->container_name, a->cfg->unhealthy_grace,
				        a->instance_id);
				notify_status("unhealthy: instance marked for replacement");
				reported = true;
			}
			aws_error_clear(&aerr);
		}
		r = agent_sleep(a, poll_ms);
		if (r == -ECANCELED)
			return agent_stop(a);
		if (r < 0)
			return AGENT_EXIT_FAILED;
	}
}

/* Whether Docker already has the image (false when Docker cannot tell yet). */
static bool image_present(struct agent *a, const char *image)
{
	struct docker_image img = { 0 };
	struct docker_error err = { 0 };
	int r = 0;

	if (!docker_api_version(a->docker))
		r = docker_ping(a->docker, &err);
	if (r == 0)
		r = docker_image_inspect(a->docker, image, &img, &err);
	docker_error_clear(&err);
	docker_image_done(&img);
	return r == 0;
}

int agent_run(struct agent *a)
{
	_cleanup_free_ char *image = NULL;
	const char *why = NULL;
	struct docker_image img = { 0 };
	struct docker_error derr = { 0 };
	uint64_t watchdog = 0;
	bool warm;
	int r;

	notify_status("finding the instance");
	r = step_imds(a);
	if (r < 0)
		return fail(a, r, AGENT_EXIT_FAILED, "instance metadata");
	warm = a->target_state && startswith(a->target_state, "Warmed:");
	r = step_group(a);
	if (r < 0)
		return fail(a, r, AGENT_EXIT_FAILED, "finding the group");
	/* Without the hooks the agent cannot tell whether the group waits for it. */
	r = resolve_hooks(a);
	if (r < 0)
		return fail(a, r, AGENT_EXIT_FAILED, "reading the lifecycle hooks");
	r = step_tags(a);
	if (r == -ETIME) {
		log_error("the tags '%s' and '%s' did not appear on '%s' within %u s",
		          a->cfg->name_tag, a->cfg->version_tag, a->group, a->cfg->tag_timeout);
		return fail(a, r, AGENT_EXIT_NO_TAGS, "no image tags on the group");
	}
	if (r < 0)
		return fail(a, r, AGENT_EXIT_FAILED, "reading the group's tags");
	r = imageref_build(a->cfg->registry, a->image_name, a->version, &a->ref, &why);
	if (r < 0) {
		/* The values themselves are hostile: not echoed, the reason says what is wrong. */
		log_error("refusing the image reference from the tags '%s' and '%s': %s",
		          a->cfg->name_tag, a->cfg->version_tag, why ? why : strerror(-r));
		return fail(a, r, AGENT_EXIT_FAILED, "invalid image reference in the tags");
	}
	image = strdup(a->ref.ref);
	if (!image)
		return fail(a, -ENOMEM, AGENT_EXIT_FAILED, "out of memory");
	log_info("image '%s'", image);
	/* Versions are immutable by convention (a moved tag is redeployed under a new version):
	 * an image already present is not pulled again, so a reboot needs no registry. */
	if (image_present(a, image)) {
		log_info("image '%s' already present: not pulled", image);
	} else {
		r = agent_registry_auth(a);
		if (r < 0)
			return fail(a, r, AGENT_EXIT_FAILED, "registry credentials");
		r = step_pull(a);
		a->registry_auth = secret_free(a->registry_auth);
		if (r < 0)
			return fail(a, r, AGENT_EXIT_FAILED, "pull");
	}
	if (warm) {
		log_info("warm pool instance ('%s'): image ready, not starting it",
		         a->target_state);
		r = report(a, true);
		if (r < 0)
			return fail(a, r, AGENT_EXIT_FAILED, "completing the lifecycle hook");
		(void)notify_sendf("READY=1\nSTATUS=warm pool: %s pulled", image);
		return AGENT_EXIT_OK;
	}
	r = docker_image_inspect(a->docker, image, &img, &derr);
	if (r < 0) {
		log_error_errno(r, "inspecting '%s': %s", image,
		                derr.message ? derr.message : strerror(-r));
		docker_error_clear(&derr);
		return fail(a, r, AGENT_EXIT_FAILED, "image inspect");
	}
	if (a->ref.digest && !docker_image_has_digest(&img, a->ref.digest)) {
		docker_image_done(&img);
		log_error("the image '%s' does not carry the digest '%s'", image, a->ref.digest);
		return fail(a, -EBADMSG, AGENT_EXIT_FAILED, "image digest mismatch");
	}
	notify_status("starting %s", image);
	r = step_run(a, image);
	if (r < 0) {
		docker_image_done(&img);
		return fail(a, r, AGENT_EXIT_FAILED, "run");
	}
	r = step_health(a, img.has_healthcheck);
	docker_image_done(&img);
	if (r < 0)
		return fail(a, r, AGENT_EXIT_FAILED, "health");
	r = report(a, true);
	if (r < 0)
		return fail(a, r, AGENT_EXIT_FAILED, "completing the lifecycle hook");
	if (!a->once) {
		if (sd_watchdog_enabled(0, &watchdog) <= 0)
			watchdog = 0;
		/* Only supervision is left: the boot's code, data and heap go back before READY=1,
		 * and the loop faults in again the little it runs. */
		agent_release_boot_memory();
	}
	(void)notify_sendf("READY=1\nSTATUS=running %s", image);
	log_info("ready: '%s' runs '%s'", a->cfg->container_name, image);
	if (a->once)
		return AGENT_EXIT_OK;
	return supervise(a, watchdog);
}
