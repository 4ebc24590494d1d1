#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "docker.h"
#include "jsonutil.h"
#include "strutil.h"
#include "banned.h"

#define DOCKER_MAX_RESPONSE ((size_t)4 << 20)
#define DOCKER_TIMEOUT_MS   60000L
#define DOCKER_LINE_MAX     ((size_t)1 << 20)
/* Far above the environment the agent may pass: its secrets are at most 64 KiB each. */
#define DOCKER_CREATE_MAX ((size_t)64 << 20)

struct docker_client {
	struct http_client *http;
	char *socket;
	char *version; /* "1.41", from /_ping */
	bool (*stop)(void);
};

void docker_error_clear(struct docker_error *e)
{
	if (!e)
		return;
	free(e->message);
	*e = (struct docker_error){ 0 };
}

static int docker_error_set(struct docker_error *e, int r, long status, const char *fmt, ...)
        _printf_(4, 5);
static int docker_error_set(struct docker_error *e, int r, long status, const char *fmt, ...)
{
	va_list ap;
	char *m;

	if (!e)
		return r;
	va_start(ap, fmt); /* formatted first: the arguments may point into e */
	m = strdup_vprintf(fmt, ap);
	va_end(ap);
	free(e->message);
	e->message = m;
	e->status = status;
	return r;
}

int docker_client_new(struct http_client *http, const char *socket, struct docker_client **ret)
{
	struct docker_client *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->http = http;
	d->socket = strdup(socket ? socket : DOCKER_SOCKET_DEFAULT);
	if (!d->socket) {
		free(d);
		return -ENOMEM;
	}
	*ret = d;
	return 0;
}

struct docker_client *docker_client_free(struct docker_client *d)
{
	if (!d)
		return NULL;
	free(d->socket);
	free(d->version);
	free(d);
	return NULL;
}

void docker_client_set_stop(struct docker_client *d, bool (*stop)(void))
{
	d->stop = stop;
}

static int stop_tick(void *userdata)
{
	const struct docker_client *d = userdata;

	return d->stop() ? -EINTR : 0;
}

const char *docker_api_version(const struct docker_client *d)
{
	return d->version;
}

/* The daemon's message from an error body ({"message": "..."}), or the body itself. */
static int error_from_response(struct docker_error *e, int r, const struct http_response *resp,
                               const char *what)
{
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	const cJSON *m;

	if (resp->body.data)
		j = cJSON_ParseWithLength(resp->body.data, resp->body.len);
	m = cJSON_GetObjectItemCaseSensitive(j, "message");
	if (cJSON_IsString(m))
		return docker_error_set(e, r, resp->status, "%s: %s", what, m->valuestring);
	return docker_error_set(e, r, resp->status, "%s: HTTP %ld", what, resp->status);
}

static int transport_error(struct docker_error *e, int r, const struct http_response *resp,
                           const char *what)
{
	return docker_error_set(e, r, 0, "%s: %s", what,
	                        resp->error[0] ? resp->error : strerror(-r));
}

/* http://localhost/vX.Y + path (path already encoded). */
static int make_url(const struct docker_client *d, const char *path, char **ret)
{
	int n;

	if (d->version)
		n = asprintf(ret, "http://localhost/v%s%s", d->version, path);
	else
		n = asprintf(ret, "http://localhost%s", path);
	return n < 0 ? -ENOMEM : 0;
}

struct call {
	const char *method;
	const char *path;
	const char *body;
	char *const *headers;
	long timeout_ms;
	int (*on_line)(void *, const char *, size_t);
	int (*on_tick)(void *);
	void *userdata;
	bool sensitive; /* the container's environment is in the request or the answer */
};

static int docker_do(struct docker_client *d, const struct call *c, struct http_response *resp)
{
	_cleanup_free_ char *url = NULL;
	bool own_tick = d->stop && !c->on_tick && !c->on_line;
	int r;

	r = make_url(d, c->path, &url);
	if (r < 0) {
		*resp = (struct http_response){ 0 };
		return r;
	}
	struct http_request req = {
		.method = c->method,
		.url = url,
		.headers = c->headers,
		.body = c->body,
		.body_len = c->body ? strlen(c->body) : 0,
		.unix_socket = d->socket,
		.max_response = DOCKER_MAX_RESPONSE,
		.timeout_ms = c->timeout_ms ? c->timeout_ms : DOCKER_TIMEOUT_MS,
		.no_proxy = true,
		.on_line = c->on_line,
		.on_tick = own_tick ? stop_tick : c->on_tick,
		.userdata = own_tick ? d : c->userdata,
		.sensitive = c->sensitive,
	};
	return http_request(d->http, &req, resp);
}

int docker_ping(struct docker_client *d, struct docker_error *err)
{
	struct http_response resp;
	const char *v;
	char *copy;
	int r;

	free(d->version);
	d->version = NULL;
	r = docker_do(d, &(struct call){ .method = "GET", .path = "/_ping", .timeout_ms = 10000 },
	              &resp);
	if (r < 0) {
		r = transport_error(err, r, &resp, "ping");
		goto out;
	}
	if (resp.status != 200) {
		r = error_from_response(err, -EIO, &resp, "ping");
		goto out;
	}
	v = http_response_header(&resp, "Api-Version");
	if (!v || !*v || strspn(v, "0123456789.") != strlen(v)) {
		r = docker_error_set(err, -EPROTO, resp.status,
		                     "ping: no usable Api-Version header");
		goto out;
	}
	copy = strdup(v);
	if (!copy) {
		r = -ENOMEM;
		goto out;
	}
	d->version = copy;
	r = 0;
out:
	http_response_done(&resp);
	return r;
}

int docker_registry_auth(const char *username, const char *password, const char *server, char **ret)
{
	_cleanup_(cJSON_Deletep) cJSON *j = cJSON_CreateObject();
	_cleanup_secret_ char *json = NULL;
	char *out;
	size_t n, outlen;
	int w;

	if (!j || !cJSON_AddStringToObject(j, "username", username ? username : "") ||
	    !cJSON_AddStringToObject(j, "password", password ? password : "") ||
	    !cJSON_AddStringToObject(j, "serveraddress", server ? server : ""))
		return -ENOMEM;
	json = cJSON_PrintUnformatted(j);
	/* cJSON keeps its own copies of the strings: wipe them before they are freed. */
	for (cJSON *c = j->child; c; c = c->next)
		if (c->valuestring)
			explicit_bzero(c->valuestring, strlen(c->valuestring));
	if (!json)
		return -ENOMEM;
	n = strlen(json);
	outlen = 4 * ((n + 2) / 3) + 1;
	out = malloc(outlen);
	if (!out)
		return -ENOMEM;
	w = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)json, (int)n);
	if (w < 0) {
		secret_free(out);
		return -EINVAL;
	}
	for (char *p = out; *p; p++)
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	*ret = out;
	return 0;
}

int docker_pull_line(void *userdata, const char *line, size_t len)
{
	struct docker_pull *p = userdata;
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	const cJSON *e, *s;

	if (len == 0)
		return 0;
	if (len > DOCKER_LINE_MAX)
		return -E2BIG;
	j = cJSON_ParseWithLength(line, len);
	if (!j)
		return 0; /* not JSON: ignore, as the docker CLI does */
	e = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "errorDetail"),
	                                     "message");
	if (!cJSON_IsString(e))
		e = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (cJSON_IsString(e)) {
		if (!p->error)
			p->error = strdup(e->valuestring);
		if (strstr(e->valuestring, "not found") || strstr(e->valuestring, "denied") ||
		    strstr(e->valuestring, "does not exist"))
			p->not_found = true;
		return -EIO;
	}
	s = cJSON_GetObjectItemCaseSensitive(j, "status");
	if (p->progress)
		return p->progress(p->userdata, cJSON_IsString(s) ? s->valuestring : "");
	return 0;
}

/* The daemon can stay silent for long (a slow registry, a big layer): progress hears of it. */
static int docker_pull_tick(void *userdata)
{
	struct docker_pull *p = userdata;

	return p->progress ? p->progress(p->userdata, NULL) : 0;
}

int docker_pull(struct docker_client *d, const char *name, const char *tag, const char *auth,
                long timeout_ms, int (*progress)(void *userdata, const char *status),
                void *userdata, struct docker_error *err)
{
	_cleanup_buf_ struct buf path = { 0 };
	_cleanup_strv_free_ char **headers = NULL;
	struct docker_pull p = { .progress = progress, .userdata = userdata };
	struct http_response resp;
	char *h = NULL;
	int r;

	buf_init(&path, 4096);
	r = buf_puts(&path, "/images/create?fromImage=");
	if (r == 0)
		r = uri_encode(&path, name, strlen(name), false);
	if (r == 0)
		r = buf_puts(&path, "&tag=");
	if (r == 0)
		r = uri_encode(&path, tag, strlen(tag), false);
	if (r < 0)
		return r;
	if (auth) {
		if (asprintf(&h, "X-Registry-Auth: %s", auth) < 0)
			return -ENOMEM;
		r = strv_push(&headers, h);
		if (r < 0)
			return r;
	}
	r = docker_do(d,
	              &(struct call){ .method = "POST",
	                              .path = path.data,
	                              .headers = headers,
	                              .timeout_ms = timeout_ms,
	                              .on_line = docker_pull_line,
	                              .on_tick = docker_pull_tick,
	                              .userdata = &p },
	              &resp);
	/* The header holds a credential: wipe it. */
	STRV_FOREACH(s, headers)
		explicit_bzero(*s, strlen(*s));
	if (p.error) {
		r = docker_error_set(err, p.not_found ? -ENOENT : -EIO, resp.status, "pull: %s",
		                     p.error);
		free(p.error);
	} else if (r < 0) {
		r = transport_error(err, r, &resp, "pull");
	} else if (resp.status == 404) {
		r = docker_error_set(err, -ENOENT, resp.status, "pull: image not found");
	} else if (resp.status != 200) {
		r = docker_error_set(err, -EIO, resp.status, "pull: HTTP %ld", resp.status);
	}
	http_response_done(&resp);
	return r;
}

/* A path segment (container or image name) percent-encoded, '/' kept for image names. */
static int path_with(const char *prefix, const char *name, const char *suffix, bool keep_slash,
                     struct buf *b)
{
	int r;

	buf_init(b, 4096);
	r = buf_puts(b, prefix);
	if (r == 0)
		r = uri_encode(b, name, strlen(name), keep_slash);
	if (r == 0)
		r = buf_puts(b, suffix);
	return r;
}

static char *dup_string(const cJSON *j)
{
	return cJSON_IsString(j) ? strdup(j->valuestring) : NULL;
}

void docker_image_done(struct docker_image *i)
{
	if (!i)
		return;
	free(i->id);
	strv_free(i->repo_digests);
	*i = (struct docker_image){ 0 };
}

bool docker_image_has_digest(const struct docker_image *i, const char *digest)
{
	for (char **p = i->repo_digests; p && *p; p++) {
		const char *at = strrchr(*p, '@');

		if (at && at != *p && streq(at + 1, digest))
			return true;
	}
	return false;
}

static int get_json(struct docker_client *d, const char *path, const char *what, bool sensitive,
                    cJSON **ret, struct docker_error *err)
{
	struct http_response resp;
	int r;

	r = docker_do(d, &(struct call){ .method = "GET", .path = path, .sensitive = sensitive },
	              &resp);
	if (r < 0)
		r = transport_error(err, r, &resp, what);
	else if (resp.status == 404)
		r = error_from_response(err, -ENOENT, &resp, what);
	else if (resp.status != 200)
		r = error_from_response(err, -EIO, &resp, what);
	else {
		*ret = cJSON_ParseWithLength(resp.body.data ? resp.body.data : "", resp.body.len);
		if (!*ret)
			r = docker_error_set(err, -EBADMSG, resp.status,
			                     "%s: the answer is not JSON", what);
	}
	http_response_done(&resp);
	return r;
}

int docker_image_inspect(struct docker_client *d, const char *ref, struct docker_image *ret,
                         struct docker_error *err)
{
	_cleanup_buf_ struct buf path = { 0 };
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	int r;

	r = path_with("/images/", ref, "/json", true, &path);
	if (r < 0)
		return r;
	r = get_json(d, path.data, "inspecting the image", false, &j, err);
	if (r < 0)
		return r;
	r = docker_image_parse(j, ret);
	if (r < 0)
		return docker_error_set(err, r, 200, "inspecting the image: no Id");
	return 0;
}

int docker_image_parse(const cJSON *j, struct docker_image *ret)
{
	const cJSON *test, *d;
	struct docker_image i = { 0 };

	test = cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "Config"),
	                                         "Healthcheck"),
	        "Test");
	if (cJSON_IsArray(test) && cJSON_GetArraySize(test) > 0) {
		const cJSON *first = cJSON_GetArrayItem(test, 0);

		i.has_healthcheck = !(cJSON_IsString(first) && streq(first->valuestring, "NONE"));
	}
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(j, "RepoDigests"))
	{
		if (cJSON_IsString(d) && strv_extend(&i.repo_digests, d->valuestring) < 0) {
			docker_image_done(&i);
			return -ENOMEM;
		}
	}
	i.id = dup_string(cJSON_GetObjectItemCaseSensitive(j, "Id"));
	if (!i.id) {
		docker_image_done(&i);
		return -EBADMSG;
	}
	*ret = i;
	return 0;
}

void docker_container_done(struct docker_container *c)
{
	if (!c)
		return;
	free(c->id);
	free(c->name);
	free(c->image);
	free(c->label_image);
	free(c->label_version);
	free(c->status);
	free(c->health);
	free(c->started_at);
	*c = (struct docker_container){ 0 };
}

int docker_container_inspect(struct docker_client *d, const char *name,
                             struct docker_container *ret, struct docker_error *err)
{
	_cleanup_buf_ struct buf path = { 0 };
	_cleanup_(json_wipe_and_deletep) cJSON *j = NULL;
	int r;

	r = path_with("/containers/", name, "/json", false, &path);
	if (r < 0)
		return r;
	/* The answer holds Config.Env, and so the container's secrets. */
	r = get_json(d, path.data, "inspecting the container", true, &j, err);
	if (r < 0)
		return r;
	r = docker_container_parse(j, ret);
	if (r == -EBADMSG)
		return docker_error_set(err, r, 200, "inspecting the container: no Id or State");
	return r;
}

int docker_container_parse(const cJSON *j, struct docker_container *ret)
{
	const cJSON *config, *labels, *state, *rc, *ec;
	struct docker_container c = { 0 };

	config = cJSON_GetObjectItemCaseSensitive(j, "Config");
	labels = cJSON_GetObjectItemCaseSensitive(config, "Labels");
	state = cJSON_GetObjectItemCaseSensitive(j, "State");
	c.id = dup_string(cJSON_GetObjectItemCaseSensitive(j, "Id"));
	c.name = dup_string(cJSON_GetObjectItemCaseSensitive(j, "Name"));
	c.image = dup_string(cJSON_GetObjectItemCaseSensitive(config, "Image"));
	c.label_image = dup_string(cJSON_GetObjectItemCaseSensitive(labels, "asgswap.image"));
	c.label_version = dup_string(cJSON_GetObjectItemCaseSensitive(labels, "asgswap.version"));
	c.status = dup_string(cJSON_GetObjectItemCaseSensitive(state, "Status"));
	c.health = dup_string(cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(state, "Health"), "Status"));
	c.started_at = dup_string(cJSON_GetObjectItemCaseSensitive(state, "StartedAt"));
	c.running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "Running"));
	c.restarting = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "Restarting"));
	rc = cJSON_GetObjectItemCaseSensitive(j, "RestartCount");
	/* valueint, which cJSON clamps to int: casting a huge valuedouble is undefined. */
	c.restart_count = cJSON_IsNumber(rc) && rc->valueint >= 0 ? (unsigned)rc->valueint : 0;
	ec = cJSON_GetObjectItemCaseSensitive(state, "ExitCode");
	c.exit_code = cJSON_IsNumber(ec) ? ec->valueint : 0;
	if (!c.id || !c.status) {
		docker_container_done(&c);
		return -EBADMSG;
	}
	*ret = c;
	return 0;
}

static cJSON *string_array(char *const *v)
{
	cJSON *a = cJSON_CreateArray();

	STRV_FOREACH(s, v)
		if (!a || !cJSON_AddItemToArray(a, cJSON_CreateString(*s))) {
			cJSON_Delete(a);
			return NULL;
		}
	return a;
}

/* Adds key: [strings] to o when v is non-NULL. */
static bool add_strv(cJSON *o, const char *key, char *const *v)
{
	cJSON *a;

	if (!v)
		return true;
	a = string_array(v);
	if (!a || !cJSON_AddItemToObject(o, key, a)) {
		cJSON_Delete(a);
		return false;
	}
	return true;
}

/* Adds "key=value" strings as an object of strings (labels, log options). */
static bool add_kv(cJSON *o, char *const *v)
{
	STRV_FOREACH(l, v) {
		const char *eq = strchr(*l, '=');
		_cleanup_free_ char *k = eq ? strndup(*l, (size_t)(eq - *l)) : NULL;

		if (!k || !cJSON_AddStringToObject(o, k, eq + 1))
			return false;
	}
	return true;
}

static bool add_ports(cJSON *exposed, cJSON *bindings, const struct docker_create *s)
{
	for (size_t i = 0; i < s->n_ports; i++) {
		char key[32], hp[16];
		cJSON *arr, *b;

		(void)snprintf(key, sizeof(key), "%u/%s", s->ports[i].container, s->ports[i].proto);
		(void)snprintf(hp, sizeof(hp), "%u", s->ports[i].host);
		arr = cJSON_GetObjectItemCaseSensitive(bindings, key);
		if (!arr)
			arr = cJSON_AddArrayToObject(bindings, key);
		if (!cJSON_GetObjectItemCaseSensitive(exposed, key) &&
		    !cJSON_AddObjectToObject(exposed, key))
			return false;
		b = cJSON_CreateObject();
		if (!arr || !b || !cJSON_AddStringToObject(b, "HostPort", hp) ||
		    !cJSON_AddItemToArray(arr, b)) {
			cJSON_Delete(b);
			return false;
		}
	}
	return true;
}

/* HostConfig's optional settings: each one only when set, so that dockerd's defaults hold. */
static bool add_host_options(cJSON *host, const struct docker_create *s)
{
	bool ok = true;

	if (s->log_driver) {
		cJSON *log = cJSON_AddObjectToObject(host, "LogConfig");
		cJSON *opts = log ? cJSON_AddObjectToObject(log, "Config") : NULL;

		ok = opts && cJSON_AddStringToObject(log, "Type", s->log_driver) &&
		     add_kv(opts, s->log_opts);
	}
	ok = ok && add_strv(host, "Binds", s->binds);
	/* Integers below 2^53 are exact as cJSON's doubles; the agent's limits are far below. */
	if (ok && s->memory > 0)
		ok = cJSON_AddNumberToObject(host, "Memory", (double)s->memory);
	if (ok && s->nano_cpus > 0)
		ok = cJSON_AddNumberToObject(host, "NanoCpus", (double)s->nano_cpus);
	if (ok && s->pids_limit > 0)
		ok = cJSON_AddNumberToObject(host, "PidsLimit", (double)s->pids_limit);
	if (ok && s->read_only)
		ok = cJSON_AddTrueToObject(host, "ReadonlyRootfs");
	if (ok && s->init)
		ok = cJSON_AddTrueToObject(host, "Init");
	ok = ok && add_strv(host, "CapAdd", s->cap_add);
	ok = ok && add_strv(host, "CapDrop", s->cap_drop);
	ok = ok && add_strv(host, "ExtraHosts", s->extra_hosts);
	return ok;
}

char *docker_create_body(const struct docker_create *s)
{
	_cleanup_(json_wipe_and_deletep) cJSON *j = cJSON_CreateObject();
	cJSON *labels, *host, *bindings, *exposed, *restart;
	bool ok = j;

	ok = ok && cJSON_AddStringToObject(j, "Image", s->image);
	labels = ok ? cJSON_AddObjectToObject(j, "Labels") : NULL;
	ok = ok && labels && add_kv(labels, s->labels);
	ok = ok && add_strv(j, "Env", s->env);
	ok = ok && add_strv(j, "Cmd", s->cmd);
	if (ok && s->user)
		ok = cJSON_AddStringToObject(j, "User", s->user);
	if (ok && s->stop_signal)
		ok = cJSON_AddStringToObject(j, "StopSignal", s->stop_signal);
	if (ok && s->has_stop_timeout)
		ok = cJSON_AddNumberToObject(j, "StopTimeout", (double)s->stop_timeout);
	exposed = ok ? cJSON_AddObjectToObject(j, "ExposedPorts") : NULL;
	host = ok ? cJSON_AddObjectToObject(j, "HostConfig") : NULL;
	bindings = host ? cJSON_AddObjectToObject(host, "PortBindings") : NULL;
	ok = ok && exposed && host && bindings && add_ports(exposed, bindings, s);
	restart = ok ? cJSON_AddObjectToObject(host, "RestartPolicy") : NULL;
	ok = ok && restart && cJSON_AddStringToObject(restart, "Name", s->restart);
	ok = ok && cJSON_AddStringToObject(host, "NetworkMode", s->network);
	ok = ok && add_host_options(host, s);
	return ok ? json_print_secret(j, DOCKER_CREATE_MAX) : NULL;
}

int docker_container_create(struct docker_client *d, const struct docker_create *spec,
                            char **ret_id, struct docker_error *err)
{
	_cleanup_buf_ struct buf path = { 0 };
	_cleanup_secret_ char *body = NULL;
	_cleanup_(cJSON_Deletep) cJSON *j = NULL;
	static char *const headers[] = { "Content-Type: application/json", NULL };
	struct http_response resp;
	char *id;
	int r;

	r = path_with("/containers/create?name=", spec->name, "", false, &path);
	if (r < 0)
		return r;
	body = docker_create_body(spec);
	if (!body)
		return -ENOMEM;
	r = docker_do(d,
	              &(struct call){ .method = "POST",
	                              .path = path.data,
	                              .body = body,
	                              .headers = headers,
	                              .sensitive = true },
	              &resp);
	if (r < 0)
		r = transport_error(err, r, &resp, "creating the container");
	else if (resp.status == 409)
		r = error_from_response(err, -EEXIST, &resp, "creating the container");
	else if (resp.status == 404)
		r = error_from_response(err, -ENOENT, &resp, "creating the container");
	else if (resp.status != 201)
		r = error_from_response(err, -EIO, &resp, "creating the container");
	else {
		j = cJSON_ParseWithLength(resp.body.data ? resp.body.data : "", resp.body.len);
		id = dup_string(cJSON_GetObjectItemCaseSensitive(j, "Id"));
		if (!id)
			r = docker_error_set(err, -EBADMSG, resp.status,
			                     "creating the container: no Id in the answer");
		else
			*ret_id = id;
	}
	http_response_done(&resp);
	return r;
}

/* POST/DELETE on /containers/{id}{suffix}: ok1/ok2 are the statuses that mean done. */
static int simple(struct docker_client *d, const char *method, const char *id, const char *suffix,
                  long timeout_ms, long ok1, long ok2, long ok3, int (*on_tick)(void *),
                  void *userdata, const char *what, struct docker_error *err)
{
	_cleanup_buf_ struct buf path = { 0 };
	struct http_response resp;
	int r;

	r = path_with("/containers/", id, suffix, false, &path);
	if (r < 0)
		return r;
	r = docker_do(d,
	              &(struct call){ .method = method,
	                              .path = path.data,
	                              .timeout_ms = timeout_ms,
	                              .on_tick = on_tick,
	                              .userdata = userdata },
	              &resp);
	if (r < 0)
		r = transport_error(err, r, &resp, what);
	else if (resp.status != ok1 && resp.status != ok2 && resp.status != ok3)
		r = error_from_response(err,
		                        resp.status == 404   ? -ENOENT
		                        : resp.status == 409 ? -EEXIST
		                                             : -EIO,
		                        &resp, what);
	http_response_done(&resp);
	return r;
}

int docker_container_start(struct docker_client *d, const char *id, struct docker_error *err)
{
	return simple(d, "POST", id, "/start", 0, 204, 304, 204, NULL, NULL,
	              "starting the container", err);
}

int docker_container_stop(struct docker_client *d, const char *id, unsigned timeout_s,
                          struct docker_error *err)
{
	char suffix[40];

	(void)snprintf(suffix, sizeof(suffix), "/stop?t=%u", timeout_s);
	return simple(d, "POST", id, suffix, (long)timeout_s * 1000 + DOCKER_TIMEOUT_MS, 204, 304,
	              404, NULL, NULL, "stopping the container", err);
}

int docker_container_stop_ticking(struct docker_client *d, const char *id, unsigned timeout_s,
                                  int (*on_tick)(void *userdata), void *userdata,
                                  struct docker_error *err)
{
	char suffix[40];

	(void)snprintf(suffix, sizeof(suffix), "/stop?t=%u", timeout_s);
	return simple(d, "POST", id, suffix, (long)timeout_s * 1000 + DOCKER_TIMEOUT_MS, 204, 304,
	              404, on_tick, userdata, "stopping the container", err);
}

int docker_container_remove(struct docker_client *d, const char *id, struct docker_error *err)
{
	return simple(d, "DELETE", id, "?force=1", 0, 204, 404, 204, NULL, NULL,
	              "removing the container", err);
}

int docker_container_rename(struct docker_client *d, const char *id, const char *name,
                            struct docker_error *err)
{
	_cleanup_buf_ struct buf suffix = { 0 };
	int r;

	buf_init(&suffix, 1024);
	r = buf_puts(&suffix, "/rename?name=");
	if (r == 0)
		r = uri_encode(&suffix, name, strlen(name), false);
	if (r < 0)
		return r;
	return simple(d, "POST", id, suffix.data, 0, 204, 204, 204, NULL, NULL,
	              "renaming the container", err);
}
