/*
 * A Docker Engine API client over the daemon's unix socket (http.h underneath). The API
 * version is the one the daemon announces on /_ping, never a constant of ours. Pulls read
 * the progress stream line by line and fail on an `errorDetail` even under HTTP 200.
 */
#ifndef ASGSWAP_DOCKER_H
#define ASGSWAP_DOCKER_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "macro.h"

#define DOCKER_SOCKET_DEFAULT "/var/run/docker.sock"

struct cJSON;
struct docker_client;

/* What went wrong: the HTTP status (0 when no answer) and the daemon's message. */
struct docker_error {
	long status;
	char *message;
};
void docker_error_clear(struct docker_error *e);

/* socket: the unix socket path; http is borrowed and must outlive the client. */
int docker_client_new(struct http_client *http, const char *socket, struct docker_client **ret);
struct docker_client *docker_client_free(struct docker_client *d);
DEFINE_POINTER_CLEANUP_FUNC(struct docker_client, docker_client_free)
/* When stop says so (asked about once a second), a call in flight ends with -EINTR, so that
 * a daemon that never answers does not hold up a stop. Calls given their own tick (pulls,
 * docker_container_stop_ticking()) leave the decision to it. */
void docker_client_set_stop(struct docker_client *d, bool (*stop)(void));

/* GET /_ping: remembers the daemon's Api-Version for every later call. */
int docker_ping(struct docker_client *d, struct docker_error *err);
const char *docker_api_version(const struct docker_client *d);

/*
 * The X-Registry-Auth value: padded base64url of {"username","password","serveraddress"}.
 * It is a secret: free it with secret_free().
 */
int docker_registry_auth(const char *username, const char *password, const char *server,
                         char **ret);

/*
 * POST /images/create?fromImage=NAME&tag=TAG. progress (may be NULL) is called for each
 * line of the stream with its `status` text, and with NULL about once a second in between,
 * also while the daemon says nothing; a negative return aborts the pull. 0 when the
 * image was pulled; -ENOENT when the daemon says it does not exist or access is denied,
 * -EIO for another error reported in the stream or by status, a transport error otherwise.
 * auth is the X-Registry-Auth value or NULL.
 */
int docker_pull(struct docker_client *d, const char *name, const char *tag, const char *auth,
                long timeout_ms, int (*progress)(void *userdata, const char *status),
                void *userdata, struct docker_error *err);

/* What docker_pull() learns from the stream, one line (without its newline) at a time:
 * docker_pull_line() takes a struct docker_pull as userdata and returns 0, the progress
 * callback's negative return, -EIO for an error in the line, or -E2BIG for a line too long. */
struct docker_pull {
	int (*progress)(void *userdata, const char *status);
	void *userdata;
	char *error; /* first errorDetail/error message, to free() */
	bool not_found;
};
int docker_pull_line(void *userdata, const char *line, size_t len);

struct docker_image {
	char *id;
	bool has_healthcheck; /* Config.Healthcheck.Test set and not ["NONE"] */
	char **repo_digests;  /* RepoDigests: NAME@DIGEST strings, NULL-terminated, or NULL */
};
void docker_image_done(struct docker_image *i);
/* Whether one of the image's RepoDigests is some name's @digest. */
bool docker_image_has_digest(const struct docker_image *i, const char *digest);
/* GET /images/{ref}/json; -ENOENT when absent. */
int docker_image_inspect(struct docker_client *d, const char *ref, struct docker_image *ret,
                         struct docker_error *err);
/* Its answer, parsed: -EBADMSG without an Id. */
int docker_image_parse(const struct cJSON *j, struct docker_image *ret);

struct docker_container {
	char *id;
	char *name;
	char *image;                       /* Config.Image as created */
	char *label_image, *label_version; /* asgswap.image / asgswap.version, NULL if absent */
	char *status;                      /* created, running, restarting, exited, ... */
	char *health; /* starting, healthy, unhealthy; NULL without a HEALTHCHECK */
	bool running;
	bool restarting;
	unsigned restart_count;
	long exit_code;
	char *started_at;
};
void docker_container_done(struct docker_container *c);
/* GET /containers/{name}/json; -ENOENT when there is no such container. */
int docker_container_inspect(struct docker_client *d, const char *name,
                             struct docker_container *ret, struct docker_error *err);
/* Its answer, parsed: -EBADMSG without an Id or State.Status. */
int docker_container_parse(const struct cJSON *j, struct docker_container *ret);

struct docker_port {
	unsigned host, container;
	const char *proto; /* "tcp" or "udp" */
};

struct docker_create {
	const char *name;
	const char *image;   /* NAME:TAG */
	char *const *labels; /* "key=value" strings, NULL-terminated, or NULL */
	char *const *env;    /* "KEY=value" strings, NULL-terminated, or NULL */
	const struct docker_port *ports;
	size_t n_ports;
	const char *network; /* NetworkMode */
	const char *restart; /* RestartPolicy.Name */
	/* Each below is left out of the body when NULL or 0, so that dockerd's default holds. */
	char *const *cmd;        /* Cmd, the argv as it is */
	const char *user;        /* User */
	const char *stop_signal; /* StopSignal, e.g. "SIGTERM" */
	bool has_stop_timeout;
	unsigned stop_timeout;    /* StopTimeout in seconds, when has_stop_timeout */
	const char *log_driver;   /* HostConfig.LogConfig.Type */
	char *const *log_opts;    /* HostConfig.LogConfig.Config, "key=value" strings */
	char *const *binds;       /* HostConfig.Binds, "HOST:CONTAINER[:ro]" */
	int64_t memory;           /* HostConfig.Memory, bytes */
	int64_t nano_cpus;        /* HostConfig.NanoCpus */
	int64_t pids_limit;       /* HostConfig.PidsLimit */
	bool read_only;           /* HostConfig.ReadonlyRootfs */
	bool init;                /* HostConfig.Init */
	char *const *cap_add;     /* HostConfig.CapAdd */
	char *const *cap_drop;    /* HostConfig.CapDrop */
	char *const *extra_hosts; /* HostConfig.ExtraHosts, "host:ip" */
};
/* The JSON body of POST /containers/create for spec, NULL when out of memory. It holds the
 * environment, which may hold secrets: free it with secret_free(). */
char *docker_create_body(const struct docker_create *spec);
/* POST /containers/create?name=; -EEXIST when the name is taken. */
int docker_container_create(struct docker_client *d, const struct docker_create *spec,
                            char **ret_id, struct docker_error *err);
/* 0 also when already started (304). */
int docker_container_start(struct docker_client *d, const char *id, struct docker_error *err);
/* 0 also when already stopped (304) or gone (404). dockerd sends the container's
 * StopSignal, waits timeout_s, then SIGKILL. */
int docker_container_stop(struct docker_client *d, const char *id, unsigned timeout_s,
                          struct docker_error *err);
/* The same; on_tick (may be NULL) is called about once a second while dockerd waits, a
 * negative return ends the call. */
int docker_container_stop_ticking(struct docker_client *d, const char *id, unsigned timeout_s,
                                  int (*on_tick)(void *userdata), void *userdata,
                                  struct docker_error *err);
/* DELETE ?force=1; 0 also when gone. */
int docker_container_remove(struct docker_client *d, const char *id, struct docker_error *err);
int docker_container_rename(struct docker_client *d, const char *id, const char *name,
                            struct docker_error *err);

#endif
